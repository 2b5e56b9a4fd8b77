using System.Globalization;
using System.Text.Json;
using IommuKit.Addressing;
using IommuKit.Vfio;

namespace IommuKit.Conformance;

/// <summary>A <c>conformance/golden/*.json</c> file.</summary>
/// <param name="Kernel">The kernel's short name (<c>deb61</c>, <c>deb612</c>, <c>custom612</c>).</param>
/// <param name="Release">The kernel's <c>uname -r</c>.</param>
/// <param name="Iommu">The IOMMU model (<c>intel</c>, <c>intel48</c>, <c>amd</c>, <c>virtio</c>).</param>
/// <param name="Steps">Every captured step result.</param>
/// <param name="Files">Every step file run, with the reason it was skipped (null when it ran).</param>
/// <param name="Reserved">The device group's reserved regions as the kernel reported them.</param>
public sealed record GoldenFile(string Kernel, string Release, string Iommu, IReadOnlyList<GoldenStep> Steps, IReadOnlyDictionary<string, string?> Files, IReadOnlyList<IovaRange> Reserved)
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

        var reserved = new List<IovaRange>();
        if (root.TryGetProperty("device", out JsonElement device) && device.TryGetProperty("reserved", out JsonElement regions))
        {
            foreach (JsonElement r in regions.EnumerateArray())
            {
                reserved.Add(IovaRange.FromFirstLast(Hex(r.GetProperty("start").GetString()!), Hex(r.GetProperty("end").GetString()!)));
            }
        }

        return new GoldenFile(
            root.GetProperty("kernel").GetString()!,
            root.GetProperty("release").GetString()!,
            root.GetProperty("iommu").GetString()!,
            steps,
            files,
            reserved);
    }

    private static ulong Hex(string s) => ulong.Parse(s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
