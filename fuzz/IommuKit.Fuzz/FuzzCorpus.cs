namespace IommuKit.Fuzz;

/// <summary>The seed corpus: every scenario file under a directory plus a few small built-in documents.</summary>
public static class FuzzCorpus
{
    /// <summary>Small documents that reach the parser's less common paths (transactions, aliases, expectations).</summary>
    public static readonly IReadOnlyList<string> BuiltIn =
    [
        "name: t\nsteps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0, flags: [read] }\n",
        "name: t\nsteps:\n  - op: transaction\n    steps:\n      - op: transaction\n        steps: []\n",
        "name: t\nmachine:\n  regions:\n    - { name: a, kind: alias, target: b, offset: 0, size: 1G }\n    - { name: b, kind: alias, target: a, offset: 0, size: 1G }\nsteps: []\n",
        "name: t\ncontainer: { kind: vfio-type1v2, dma-entry-limit: 4 }\nsteps:\n  - { op: unmap, iova: 0, size: 2^64, expect: { result: ok, size: 0 } }\n",
        "",
    ];

    /// <summary>Loads every <c>*.yaml</c> under <paramref name="root"/> (recursively) plus <see cref="BuiltIn"/>.</summary>
    /// <param name="root">The corpus directory (a missing directory gives only the built-in seeds).</param>
    /// <returns>The seeds, files in ordinal path order first.</returns>
    public static List<string> Load(string root)
    {
        var seeds = new List<string>();
        if (Directory.Exists(root))
        {
            foreach (string file in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                seeds.Add(File.ReadAllText(file));
            }
        }

        seeds.AddRange(BuiltIn);
        return seeds;
    }
}
