using System.Text.Json;
using IommuKit.Vfio;

namespace IommuKit.Conformance;

/// <summary>A <c>conformance/golden/*.json</c> file.</summary>
public sealed record GoldenFile(string Kernel, string Release, string Iommu, IReadOnlyList<GoldenStep> Steps, IReadOnlyDictionary<string, string?> Files)
{
    /// <summary>The profile matching the captured kernel: Debian and custom kernels here predate v6.18-rc4.</summary>
    public VfioKernelRules KernelRules => Kernel switch
    {
        "deb61" => VfioKernelRules.Linux6_1,
        "deb612" or "custom612" => VfioKernelRules.Linux6_12,
        _ => VfioKernelRules.Newest,
    };

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
