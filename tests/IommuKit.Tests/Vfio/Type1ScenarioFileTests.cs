using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using YamlDotNet.RepresentationModel;

namespace IommuKit.Tests.Vfio;

// Runs the bundled scenarios/linux/type1-*.yaml against VfioContainer with a minimal reader of the container ops of
// /work/shared/scenario-format.md, so the files' expectations are known to match the unit-tested container.
// (The real runner lives in Scenarios/; this only covers map / unmap / get-info / expect-mappings.)
public class Type1ScenarioFileTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(RepoRoot(), "scenarios", "linux"), "type1-*.yaml").Order())
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Scenario_file_expectations_hold(string file)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepoRoot(), "scenarios", "linux", file)))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var container = Map(root, "container");
        string kind = Str(container, "kind") ?? "vfio-type1v2";
        bool domain = Str(container, "domain") != "false";
        uint limit = Str(container, "dma-entry-limit") is { } l ? (uint)Num(l) : VfioContainer.DefaultDmaEntryLimit;

        List<HostMemoryRegion>? regions = null;
        if (root.Children.TryGetValue(new YamlScalarNode("host-memory"), out YamlNode? hm))
        {
            regions = [];
            foreach (YamlMappingNode r in ((YamlSequenceNode)hm).Cast<YamlMappingNode>())
            {
                HostMemoryPermissions perm = Str(r, "perm") switch
                {
                    "r" => HostMemoryPermissions.Read,
                    "w" => HostMemoryPermissions.Write,
                    "rw" => HostMemoryPermissions.ReadWrite,
                    _ => HostMemoryPermissions.None,
                };
                regions.Add(new HostMemoryRegion(IovaRange.FromStartSize(Num(Str(r, "vaddr")!), Num128(Str(r, "size")!)), perm));
            }
        }

        var host = new HostMemory(new PhysicalMemory(), regions);
        var c = new VfioContainer(host, limit);
        Assert.Equal(Errno.Ok, c.SetIommu(kind == "vfio-type1" ? VfioIommuType.Type1 : VfioIommuType.Type1v2));
        if (domain)
        {
            var iommu = Map(root, "iommu");
            var options = new IommuDomainOptions { Reserved = [IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff)] };
            if (iommu?.Children.TryGetValue(new YamlScalarNode("reserved"), out YamlNode? res) == true)
            {
                options.Reserved = ((YamlSequenceNode)res).Cast<YamlSequenceNode>().Select(Range).ToArray();
            }

            if (iommu?.Children.TryGetValue(new YamlScalarNode("aperture"), out YamlNode? ap) == true)
            {
                options.Aperture = Range((YamlSequenceNode)ap);
            }

            if (iommu?.Children.TryGetValue(new YamlScalarNode("page-sizes"), out YamlNode? ps) == true)
            {
                options.PageSizes = PageSizes.Of([.. ((YamlSequenceNode)ps).Select(n => Num(((YamlScalarNode)n).Value!))]);
            }

            Assert.Equal(Errno.Ok, c.AttachDomain(new IommuDomain(new FrameAllocator(host.Physical), options)));
        }

        foreach (YamlMappingNode step in ((YamlSequenceNode)root.Children[new YamlScalarNode("steps")]).Cast<YamlMappingNode>())
        {
            string where = $"{file}:{step.Start.Line}";
            Assert.True(step.Children.ContainsKey(new YamlScalarNode("expect")), $"{where}: step without expect");
            YamlNode expect = step.Children[new YamlScalarNode("expect")];
            string expectedResult = expect is YamlScalarNode s ? s.Value! : Str((YamlMappingNode)expect, "result")!;
            string[] flags = step.Children.TryGetValue(new YamlScalarNode("flags"), out YamlNode? f)
                ? [.. ((YamlSequenceNode)f).Select(n => ((YamlScalarNode)n).Value!)]
                : [];
            var outputs = new Dictionary<string, object>();
            Errno result;
            switch (Str(step, "op"))
            {
                case "map":
                    var mf = VfioDmaMapFlags.None;
                    foreach (string x in flags)
                    {
                        mf |= x switch { "read" => VfioDmaMapFlags.Read, "write" => VfioDmaMapFlags.Write, _ => VfioDmaMapFlags.Vaddr };
                    }

                    result = c.MapDma(new VfioDmaMap(Num(Str(step, "iova")!), (ulong)Num128(Str(step, "size")!), Num(Str(step, "vaddr")!), mf));
                    break;
                case "unmap":
                    var uf = VfioDmaUnmapFlags.None;
                    foreach (string x in flags)
                    {
                        uf |= x switch { "all" => VfioDmaUnmapFlags.All, "vaddr" => VfioDmaUnmapFlags.Vaddr, _ => VfioDmaUnmapFlags.GetDirtyBitmap };
                    }

                    var u = new VfioDmaUnmap(Num(Str(step, "iova")!), (ulong)Num128(Str(step, "size")!), uf);
                    result = c.UnmapDma(ref u);
                    outputs["size"] = (UInt128)u.Size;
                    break;
                case "get-info":
                    var info = new VfioIommuInfo(4096);
                    result = c.GetInfo(info);
                    outputs["dma-avail"] = (UInt128)info.Find<VfioInfoCapDmaAvail>()!.Avail;
                    outputs["iova-ranges"] = string.Join(";", info.Find<VfioInfoCapIovaRange>()?.Ranges ?? []);
                    outputs["page-sizes"] = (UInt128)info.IovaPgsizes;
                    break;
                case "expect-mappings":
                    var expected = ((YamlSequenceNode)step.Children[new YamlScalarNode("mappings")]).Cast<YamlSequenceNode>().ToList();
                    IReadOnlyList<VfioDma> actual = c.Mappings;
                    Assert.True(expected.Count == actual.Count, $"{where}: {actual.Count} mappings, expected {expected.Count}");
                    for (int i = 0; i < expected.Count; i++)
                    {
                        Assert.True(Range(expected[i]) == actual[i].Iova, $"{where}: mapping {i} is {actual[i].Iova}");
                        if (expected[i].Children.Count > 2)
                        {
                            Assert.True(Num(((YamlScalarNode)expected[i][2]).Value!) == actual[i].Vaddr, $"{where}: vaddr of mapping {i}");
                        }
                    }

                    result = Errno.Ok;
                    break;
                default:
                    throw new InvalidOperationException($"{where}: op not handled here");
            }

            string got = result == Errno.Ok ? "ok" : result.ToString();
            Assert.True(got == expectedResult, $"{where}: got {got}, expected {expectedResult}");
            if (expect is YamlMappingNode em)
            {
                foreach ((YamlNode k, YamlNode v) in em.Children)
                {
                    string key = ((YamlScalarNode)k).Value!;
                    if (key == "result")
                    {
                        continue;
                    }

                    object actualValue = outputs[key];
                    object expectedValue = key switch
                    {
                        "iova-ranges" => string.Join(";", ((YamlSequenceNode)v).Cast<YamlSequenceNode>().Select(Range)),
                        "page-sizes" => (UInt128)((YamlSequenceNode)v).Aggregate(0UL, (a, n) => a | Num(((YamlScalarNode)n).Value!)),
                        _ => Num128(((YamlScalarNode)v).Value!),
                    };
                    Assert.True(expectedValue.Equals(actualValue), $"{where}: {key} is {actualValue}, expected {expectedValue}");
                }
            }
        }
    }

    private static IovaRange Range(YamlSequenceNode n) =>
        IovaRange.FromFirstLast(Num(((YamlScalarNode)n[0]).Value!), Num(((YamlScalarNode)n[1]).Value!));

    private static YamlMappingNode? Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? v) ? (YamlMappingNode)v : null;

    private static string? Str(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? v) ? ((YamlScalarNode)v).Value : null;

    private static ulong Num(string text)
    {
        UInt128 v = Num128(text);
        Assert.True(v <= ulong.MaxValue, $"{text} does not fit 64 bits");
        return (ulong)v;
    }

    // The scenario number syntax: decimal, hex with underscores, K/M/G/T suffixes, 2^N, U64_MAX.
    private static UInt128 Num128(string text)
    {
        string t = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (t == "U64MAX")
        {
            return ulong.MaxValue;
        }

        if (t.StartsWith("2^", StringComparison.Ordinal))
        {
            return (UInt128)1 << int.Parse(t[2..], CultureInfo.InvariantCulture);
        }

        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return UInt128.Parse(t[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        int shift = t[^1] switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        return UInt128.Parse(shift == 0 ? t : t[..^1], CultureInfo.InvariantCulture) << shift;
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "scenarios")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("scenarios/ not found above the test binaries");
    }
}
