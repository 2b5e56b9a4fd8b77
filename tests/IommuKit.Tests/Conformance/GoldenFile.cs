using System.Text.Json;

namespace IommuKit.Tests.Conformance;

/// <summary>One step's result: the ioctl's return, its errno name ("0" on success) and the out fields as printed.</summary>
internal sealed record StepResult(int Ret, string Errno, IReadOnlyDictionary<string, string> Out)
{
    /// <summary>Whether the two results are the same (ret, errno and every out field).</summary>
    public bool SameAs(StepResult other) =>
        Ret == other.Ret && Errno == other.Errno && Out.Count == other.Out.Count &&
        Out.All(kv => other.Out.TryGetValue(kv.Key, out string? v) && v == kv.Value);

    /// <inheritdoc/>
    public override string ToString() =>
        $"ret={Ret} errno={Errno}" + string.Concat(Out.Select(kv => $" {kv.Key}={kv.Value}"));
}

/// <summary>A golden step: where it is, its text, and what the kernel answered.</summary>
internal sealed record GoldenStep(string File, int Line, string Step, StepResult Result);

/// <summary>A <c>conformance/golden/*.json</c> file.</summary>
internal sealed record GoldenFile(string Kernel, string Release, string Iommu, IReadOnlyList<GoldenStep> Steps, IReadOnlyDictionary<string, string?> Files)
{
    /// <summary>Reads a golden file.</summary>
    public static GoldenFile Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = doc.RootElement;
        var steps = new List<GoldenStep>();
        foreach (JsonElement s in root.GetProperty("steps").EnumerateArray())
        {
            var outs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in s.GetProperty("out").EnumerateObject())
            {
                outs[p.Name] = p.Value.GetString()!;
            }

            steps.Add(new GoldenStep(
                s.GetProperty("file").GetString()!,
                s.GetProperty("line").GetInt32(),
                s.GetProperty("step").GetString()!,
                new StepResult(s.GetProperty("ret").GetInt32(), s.GetProperty("errno").GetString()!, outs)));
        }

        var files = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (JsonElement f in root.GetProperty("files").EnumerateArray())
        {
            files[f.GetProperty("file").GetString()!] = f.GetProperty("skipped").GetString();
        }

        return new GoldenFile(
            root.GetProperty("kernel").GetString()!,
            root.GetProperty("release").GetString()!,
            root.GetProperty("iommu").GetString()!,
            steps,
            files);
    }
}
