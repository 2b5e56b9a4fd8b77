namespace IommuKit.Tests.Conformance;

/// <summary>
/// <c>conformance/known-divergences.tsv</c>: one line per step where IommuKit's answer differs from a golden kernel's,
/// as <c>golden TAB file TAB line TAB cause</c> (<c>line</c> = <c>*</c>: the whole file is not replayed).
/// </summary>
internal static class KnownDivergences
{
    /// <summary>The repository root (the folder holding IommuKit.slnx).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>Every entry: (golden, file, line) to cause.</summary>
    public static IReadOnlyDictionary<(string Golden, string File, string Line), string> Entries { get; } = Load();

    private static Dictionary<(string, string, string), string> Load()
    {
        var entries = new Dictionary<(string, string, string), string>();
        foreach (string raw in File.ReadAllLines(Path.Combine(RepoRoot, "conformance", "known-divergences.tsv")))
        {
            if (raw.Length == 0 || raw.StartsWith('#'))
            {
                continue;
            }

            string[] cols = raw.Split('\t');
            Assert.True(cols.Length == 4 && cols[3].Length > 0, $"malformed known-divergences line: {raw}");
            Assert.True(entries.TryAdd((cols[0], cols[1], cols[2]), cols[3]), $"duplicate known-divergences line: {raw}");
        }

        return entries;
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "IommuKit.slnx")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("IommuKit.slnx not found above " + AppContext.BaseDirectory);
    }
}
