using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Tests.Iommufd;

/// <summary>
/// Runs scenarios/linux/iommufd-*.yaml with a minimal interpreter of the contract (one-line flow-style steps only), so
/// that the files' expectations are checked against the library until the real runner lands.
/// </summary>
public class ScenarioFileTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(RepoRoot(), "scenarios", "linux"), "iommufd-*.yaml").Order())
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    // Every expectation of each iommufd scenario file holds (scenario-format.md container steps).
    [Theory]
    [MemberData(nameof(Files))]
    public void ScenarioFile_AllExpectationsHold(string file)
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepoRoot(), "scenarios", "linux", file));
        Dictionary<string, object?> container = [];
        var fd = (global::IommuKit.Iommufd.Iommufd?)null;
        Ioas? ioas = null;
        IommufdVfioCompat? compat = null;
        int steps = 0;
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].TrimEnd();
            if (line.StartsWith("container:", StringComparison.Ordinal))
            {
                container = (Dictionary<string, object?>)new Flow(line["container:".Length..]).Value()!;
                continue;
            }

            if (!line.StartsWith("  - {", StringComparison.Ordinal))
            {
                Assert.False(line.StartsWith("  - ", StringComparison.Ordinal), $"{file}:{n + 1}: steps must be one-line flow maps here");
                continue;
            }

            if (fd is null)
            {
                (fd, ioas, compat) = Setup(container);
            }

            var step = (Dictionary<string, object?>)new Flow(line[4..]).Value()!;
            Assert.True(step.ContainsKey("expect"), $"{file}:{n + 1}: every step has an expect");
            Run(step, fd, ioas!, compat, $"{file}:{n + 1}");
            steps++;
        }

        Assert.True(steps > 5);
    }

    private static (global::IommuKit.Iommufd.Iommufd, Ioas, IommufdVfioCompat?) Setup(Dictionary<string, object?> container)
    {
        var mem = new HostMemory(new PhysicalMemory());
        var fd = new global::IommuKit.Iommufd.Iommufd(mem);
        string kind = (string)container["kind"]!;
        Ioas ioas = fd.GetOrCreateCompatIoas();
        if (!container.TryGetValue("domain", out object? d) || (string)d! != "false")
        {
            // The contract's default iommu: x86-sl-4level, 4K/2M/1G, aperture [0, 2^48-1], the MSI window reserved.
            var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()), new IommuDomainOptions
            {
                Aperture = IovaRange.FromFirstLast(0, 0xffff_ffff_ffff),
                Reserved = [IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff)],
            });
            Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, domain, out _));
        }

        IommufdVfioCompat? compat = null;
        if (kind.StartsWith("iommufd-compat-", StringComparison.Ordinal))
        {
            compat = new IommufdVfioCompat(fd);
            Assert.Equal(Errno.Ok, compat.SetIommu(kind == "iommufd-compat-type1" ? VfioIommuType.Type1 : VfioIommuType.Type1v2));
        }
        else
        {
            Assert.Equal("iommufd", kind);
        }

        return (fd, ioas, compat);
    }

    private static void Run(Dictionary<string, object?> s, global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, IommufdVfioCompat? compat, string where)
    {
        var outputs = new Dictionary<string, object>();
        Errno rc;
        List<string> flags = s.TryGetValue("flags", out object? f) ? ((List<object?>)f!).Cast<string>().ToList() : [];
        switch ((string)s["op"]!)
        {
            case "ioas-map":
                {
                    var cmd = new IommuIoasMap
                    {
                        IoasId = ioas.Id,
                        Length = U(s, "length"),
                        UserVa = U(s, "user-va"),
                        Iova = s.ContainsKey("iova") ? U(s, "iova") : 0,
                        Flags = (flags.Contains("fixed-iova") ? IoasMapFlags.FixedIova : 0) | (flags.Contains("readable") ? IoasMapFlags.Readable : 0)
                            | (flags.Contains("writeable") ? IoasMapFlags.Writeable : 0),
                    };
                    rc = fd.IoasMap(ref cmd);
                    outputs["iova"] = cmd.Iova;
                    break;
                }

            case "ioas-unmap":
                {
                    var cmd = new IommuIoasUnmap { IoasId = ioas.Id, Iova = U(s, "iova"), Length = U(s, "length") };
                    rc = fd.IoasUnmap(ref cmd);
                    outputs["length"] = cmd.Length;
                    break;
                }

            case "ioas-copy":
                {
                    var cmd = new IommuIoasCopy
                    {
                        SrcIoasId = ioas.Id,
                        DstIoasId = ioas.Id,
                        SrcIova = U(s, "src-iova"),
                        Length = U(s, "length"),
                        DstIova = s.ContainsKey("dst-iova") ? U(s, "dst-iova") : 0,
                        Flags = (flags.Contains("fixed-iova") ? IoasMapFlags.FixedIova : 0) | (flags.Contains("readable") ? IoasMapFlags.Readable : 0)
                            | (flags.Contains("writeable") ? IoasMapFlags.Writeable : 0),
                    };
                    rc = fd.IoasCopy(ref cmd);
                    outputs["dst-iova"] = cmd.DstIova;
                    break;
                }

            case "ioas-iova-ranges":
                {
                    uint capacity = s.ContainsKey("capacity") ? (uint)U(s, "capacity") : 64;
                    var cmd = new IommuIoasIovaRanges { IoasId = ioas.Id, NumIovas = capacity, AllowedIovas = new IommuIovaRange[capacity] };
                    rc = fd.IoasIovaRanges(ref cmd);
                    outputs["count"] = (ulong)cmd.NumIovas;
                    outputs["alignment"] = cmd.OutIovaAlignment;
                    outputs["ranges"] = string.Join(",", cmd.AllowedIovas!.Take((int)Math.Min(capacity, cmd.NumIovas)).Select(r => $"{r.Start:x}-{r.Last:x}"));
                    break;
                }

            case "ioas-allow-iovas":
                {
                    IommuIovaRange[] ranges = [.. ((List<object?>)s["ranges"]!).Select(r => (List<object?>)r!).Select(r => new IommuIovaRange(N(r[0]), N(r[1])))];
                    var cmd = new IommuIoasAllowIovas { IoasId = ioas.Id, NumIovas = (uint)ranges.Length, AllowedIovas = ranges };
                    rc = fd.IoasAllowIovas(ref cmd);
                    break;
                }

            case "ioas-reserve":
                rc = ioas.Reserve(IovaRange.FromFirstLast(U(s, "start"), U(s, "last")));
                break;
            case "ioas-map-range":
                rc = ioas.Map(IovaRange.FromFirstLast(U(s, "first"), U(s, "last")), U(s, "user-va"),
                    (flags.Contains("readable") ? Permissions.Read : 0) | (flags.Contains("writeable") ? Permissions.Write : 0));
                break;
            case "ioas-unmap-range":
                {
                    IoasUnmapResult r = ioas.Unmap(IovaRange.FromFirstLast(U(s, "first"), U(s, "last")));
                    rc = r.Errno;
                    outputs["size"] = r.Bytes.ToString("x", CultureInfo.InvariantCulture);
                    break;
                }

            case "map":
                rc = compat!.MapDma(new VfioDmaMap(U(s, "iova"), U(s, "size"), U(s, "vaddr"),
                    (flags.Contains("read") ? VfioDmaMapFlags.Read : 0) | (flags.Contains("write") ? VfioDmaMapFlags.Write : 0)
                    | (flags.Contains("vaddr") ? VfioDmaMapFlags.Vaddr : 0)));
                break;
            case "unmap":
                {
                    var u = new VfioDmaUnmap(U(s, "iova"), U(s, "size"),
                        (flags.Contains("all") ? VfioDmaUnmapFlags.All : 0) | (flags.Contains("vaddr") ? VfioDmaUnmapFlags.Vaddr : 0)
                        | (flags.Contains("get-dirty-bitmap") ? VfioDmaUnmapFlags.GetDirtyBitmap : 0));
                    rc = compat!.UnmapDma(ref u);
                    outputs["size"] = u.Size;
                    break;
                }

            case "get-info":
                {
                    var info = new VfioIommuInfo(4096);
                    rc = compat!.GetInfo(info);
                    outputs["page-sizes"] = string.Join(",", Enumerable.Range(0, 64).Where(b => (info.IovaPgsizes >> b & 1) != 0).Select(b => (1UL << b).ToString("x", CultureInfo.InvariantCulture)));
                    outputs["iova-ranges"] = string.Join(",", info.Find<VfioInfoCapIovaRange>()!.Ranges.Select(r => $"{r.First:x}-{r.Last:x}"));
                    outputs["dma-avail"] = (ulong)info.Find<VfioInfoCapDmaAvail>()!.Avail;
                    break;
                }

            case "expect-mappings":
                {
                    var want = ((List<object?>)s["mappings"]!).Select(m => (List<object?>)m!).ToList();
                    IReadOnlyList<IoasMapping> have = ioas.Mappings;
                    Assert.True(want.Count == have.Count, $"{where}: {have.Count} mappings: {string.Join(", ", have)}");
                    for (int i = 0; i < want.Count; i++)
                    {
                        Assert.True(N(want[i][0]) == have[i].Iova.First && N(want[i][1]) == have[i].Iova.Last, $"{where}: mapping {i} is {have[i]}");
                        if (want[i].Count > 2)
                        {
                            Assert.True(N(want[i][2]) == have[i].UserVa, $"{where}: mapping {i} is {have[i]}");
                        }
                    }

                    rc = Errno.Ok;
                    break;
                }

            default:
                throw new InvalidOperationException($"{where}: op {s["op"]}");
        }

        object? expect = s["expect"];
        string wantResult = expect is Dictionary<string, object?> m2 ? (string)m2["result"]! : (string)expect!;
        Assert.True((wantResult == "ok" ? Errno.Ok : Enum.Parse<Errno>(wantResult)) == rc, $"{where}: got {rc}, want {wantResult}");
        if (expect is Dictionary<string, object?> map)
        {
            foreach ((string key, object? value) in map)
            {
                if (key == "result")
                {
                    continue;
                }

                object got = outputs[key];
                string want = key switch
                {
                    "ranges" or "iova-ranges" => string.Join(",", ((List<object?>)value!).Select(r => (List<object?>)r!).Select(r => $"{N(r[0]):x}-{N(r[1]):x}")),
                    "page-sizes" => string.Join(",", ((List<object?>)value!).Select(v => N(v).ToString("x", CultureInfo.InvariantCulture))),
                    "size" when got is string => Big((string)value!).ToString("x", CultureInfo.InvariantCulture),
                    _ => N(value).ToString(CultureInfo.InvariantCulture),
                };
                string gotText = got is ulong g && key is not ("ranges" or "iova-ranges" or "page-sizes") ? g.ToString(CultureInfo.InvariantCulture) : got.ToString()!;
                Assert.True(want == gotText, $"{where}: {key} is {gotText}, want {want}");
            }
        }
    }

    private static ulong U(Dictionary<string, object?> s, string key) => N(s[key]);

    private static ulong N(object? v) => (ulong)Big((string)v!);

    private static UInt128 Big(string text)
    {
        string t = text.Replace("_", "", StringComparison.Ordinal);
        if (text == "U64_MAX")
        {
            return ulong.MaxValue;
        }

        if (t.StartsWith("2^", StringComparison.Ordinal))
        {
            return (UInt128)1 << int.Parse(t[2..], CultureInfo.InvariantCulture);
        }

        if (t.StartsWith("0x", StringComparison.Ordinal))
        {
            return UInt128.Parse(t[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        int shift = t[^1] switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        return UInt128.Parse(shift == 0 ? t : t[..^1], CultureInfo.InvariantCulture) << shift;
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "IommuKit.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root not found");
    }

    // A tiny parser for YAML flow collections: { k: v, ... }, [ a, ... ] and plain scalars; '#' starts a comment.
    private sealed class Flow(string text)
    {
        private int _pos;

        public object? Value()
        {
            Skip();
            if (Peek() == '{')
            {
                _pos++;
                var map = new Dictionary<string, object?>();
                while (true)
                {
                    Skip();
                    if (Peek() == '}')
                    {
                        _pos++;
                        return map;
                    }

                    string key = Scalar();
                    Skip();
                    _pos++; // ':'
                    map[key] = Value();
                    Skip();
                    if (Peek() == ',')
                    {
                        _pos++;
                    }
                }
            }

            if (Peek() == '[')
            {
                _pos++;
                var list = new List<object?>();
                while (true)
                {
                    Skip();
                    if (Peek() == ']')
                    {
                        _pos++;
                        return list;
                    }

                    list.Add(Value());
                    Skip();
                    if (Peek() == ',')
                    {
                        _pos++;
                    }
                }
            }

            return Scalar();
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void Skip()
        {
            while (_pos < text.Length && text[_pos] == ' ')
            {
                _pos++;
            }
        }

        private string Scalar()
        {
            int start = _pos;
            while (_pos < text.Length && text[_pos] is not (',' or '}' or ']' or ':'))
            {
                _pos++;
            }

            return text[start.._pos].Trim();
        }
    }
}
