using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Vfio;

namespace IommuKit.Tests.Model;

// Random IOAS_MAP (fixed and allocated) / UNMAP (range and all) / COPY (within and across two IOAS) / ALLOW_IOVAS /
// reserve / IOVA_RANGES / HUGE_PAGES sequences, optionally mixed with the VFIO compat MAP_DMA / UNMAP_DMA (v1 or v2)
// on IOAS 1, against Iommufd and the naive IoasModel: every errno, every written-back IOVA and length, and after every
// step each IOAS's areas, reserved union, allowed list, alignment, huge-pages option and IOVA_RANGES must agree.
// Public API only and no xunit, so the soak (fuzz/IommuKit.Fuzz soak iommufd, tools/soak.sh) links this file.
internal static class IoasModelRunner
{
    public const ulong P = 0x1000;

    /// <summary>Operations run since start (for soak progress).</summary>
    public static long Operations;

    /// <summary>How often each (operation, errno) outcome happened: evidence the generators reach every path.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> Outcomes = new();
    private const ulong M2 = 0x20_0000;
    private const ulong G1 = 0x4000_0000;
    private const ulong H63 = 1UL << 63;
    private const ulong Max = ulong.MaxValue;

    private static readonly ulong[] EdgeAddresses =
    [
        0, 1, 0x7ff, 0x800, P - 1, P, P + 1, 2 * P, M2 - P, M2, M2 + P, G1 - P, G1, 0xfee0_0000, 1UL << 47, 1UL << 48,
        H63 - P, H63 - 1, H63, H63 + P, Max - 2 * P + 1, Max - P, Max - P + 1, Max - 1, Max,
    ];

    private static readonly ulong[] EdgeSizes =
    [
        0, 1, 0x800, P - 1, P, P + 1, 2 * P, M2 - P, M2, M2 + P, G1, H63 - 2, H63 - 1, H63, H63 + P, Max - 2 * P + 1,
        Max - P, Max - P + 1, Max - 1, Max,
    ];

    internal enum Kind
    {
        Map,
        Unmap,
        Copy,
        Allow,
        Reserve,
        IovaRanges,
        HugePages,
        CompatMap,
        CompatUnmap,
        NativeMap,
        NativeUnmap,
    }

    // A, B, C: raw 64-bit operands (meaning per kind); Aim: how A is re-aimed at an existing area (0 = as is);
    // K: which area / IOAS / capacity; Flags: the ioctl flags (sometimes junk).
    internal sealed record Op(Kind Kind, ulong A, ulong B, ulong C, uint Flags, int Aim, int K)
    {
        public override string ToString() => $"{Kind} a=0x{A:x} b=0x{B:x} c=0x{C:x} flags={Flags} aim={Aim} k={K}";
    }

    internal static readonly Gen<ulong> Address = Gen.Frequency(
        (5, Gen.OneOf(EdgeAddresses)),
        (4, Gen.ULong[0, 64].Select(x => x * P)),
        (2, Gen.ULong[0, 8].Select(x => x * M2)),
        (1, Gen.ULong[0, 0x40000]),
        (1, Gen.ULong));

    internal static readonly Gen<ulong> Size = Gen.Frequency(
        (5, Gen.OneOf(EdgeSizes)),
        (5, Gen.ULong[1, 16].Select(x => x * P)),
        (2, Gen.ULong[1, 3].Select(x => x * M2)),
        (1, Gen.ULong[1, 0x3000]),
        (1, Gen.ULong));

    internal static readonly Gen<Op> OpGen = Gen.Select(
            Gen.Frequency((8, Gen.Const(Kind.Map)), (5, Gen.Const(Kind.Unmap)), (4, Gen.Const(Kind.Copy)),
                (2, Gen.Const(Kind.Allow)), (2, Gen.Const(Kind.Reserve)), (1, Gen.Const(Kind.IovaRanges)),
                (1, Gen.Const(Kind.HugePages)), (3, Gen.Const(Kind.CompatMap)), (3, Gen.Const(Kind.CompatUnmap)),
                (2, Gen.Const(Kind.NativeMap)), (2, Gen.Const(Kind.NativeUnmap))),
            Address, Size, Address,
            Gen.Frequency((6, Gen.Const(6u)), (6, Gen.Const(7u)), (1, Gen.Const(4u)), (1, Gen.Const(5u)), (1, Gen.Const(2u)),
                (1, Gen.Const(3u)), (1, Gen.UInt[0, 15]), (1, Gen.UInt)),
            Gen.Frequency((4, Gen.Const(0)), (6, Gen.Int[1, 5])),
            Gen.Int[0, 7])
        .Select((k, a, b, c, flags, aim, i) => new Op(k, a, b, c, flags, aim, i));

    internal readonly record struct Setup(bool Thp, int Compat); // Compat: 0 none, 1 v1, 2 v2

    internal static readonly Gen<(Setup Setup, Op[] Ops)> Sequence =
        Gen.Select(Gen.Bool, Gen.Int[0, 2], OpGen.Array[1, 24]).Select((thp, compat, ops) => (new Setup(thp, compat), ops));

    /// <summary>Runs one sequence; throws (with the step) at the first divergence.</summary>
    internal static void Run(Setup setup, IReadOnlyList<Op> ops)
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(null, setup.Thp);
        Ioas[] ioas = [fd.CreateIoas(), fd.CreateIoas()];
        var model = new IoasModel(2, setup.Thp);
        IommufdVfioCompat? compat = null;
        if (setup.Compat != 0)
        {
            var set = new IommuVfioIoas { Op = IommuVfioIoas.OpSet, IoasId = 1 };
            Check(fd.VfioIoas(ref set) == Errno.Ok && ReferenceEquals(fd.CompatIoas, ioas[0]), "compat IOAS");
            compat = new IommufdVfioCompat(fd);
            Check(compat.SetIommu(setup.Compat == 1 ? VfioIommuType.Type1 : VfioIommuType.Type1v2) == Errno.Ok, "set iommu");
            if (setup.Compat == 1)
            {
                Check(model.SetHugePages(1, false) == Errno.Ok, "model v1");
            }
        }

        for (int i = 0; i < ops.Count; i++)
        {
            Op op = ops[i];
            Interlocked.Increment(ref Operations);
            string where = $"step {i}: {op}";
            Step(fd, compat, model, Resolve(op, model), where);
            CheckState(ioas, model, where);
        }
    }

    // Re-aims an operation at an existing area of the model (the same areas as the implementation's while they agree),
    // so overlaps, adjacency, sub-ranges and exact matches happen often. Deterministic: shrinking keeps working.
    internal static Op Resolve(Op op, IoasModel model)
    {
        IoasModel.Space s = model.Spaces[IoasIndex(op) is 0 or 1 ? IoasIndex(op) : 0];
        int aim = op.Aim;
        if (aim == 0 && op.Kind is Kind.Copy or Kind.Unmap or Kind.CompatUnmap or Kind.NativeUnmap && op.K % 4 != 0)
        {
            aim = 1 + (int)(op.C % 5); // these need an existing area to do anything: aim most of them
        }

        if (aim == 0 || s.Areas.Count == 0 || op.Kind is Kind.IovaRanges or Kind.HugePages or Kind.Allow)
        {
            return op;
        }

        IoasModel.Area a = s.Areas[op.K % s.Areas.Count];
        ulong first = (ulong)a.First, last = (ulong)a.Last;
        ulong size = (ulong)UInt128.Min(a.Last - a.First + 1, Max);
        return aim switch
        {
            1 => op with { A = first, B = op.Kind is Kind.Unmap or Kind.Copy or Kind.CompatUnmap or Kind.NativeUnmap ? size : op.B },
            2 => op with { A = unchecked(last + 1) },
            3 => op with { A = first + (op.A % size) },
            4 => op with { A = unchecked(first - op.B) },
            _ => op with { A = first, B = (ulong)UInt128.Min((UInt128)(ulong)s.Areas[^1].Last - first + 1, Max) },
        };
    }

    // Which IOAS an operation targets: 0 and 1 are the two IOAS, 2 is a bad id (0 or 3).
    private static int IoasIndex(Op op) => op.K switch { 6 => 2, _ => op.K % 2 };

    private static uint IoasId(Op op) => IoasIndex(op) switch { 0 => 1u, 1 => 2u, _ => op.Flags % 2 == 0 ? 0u : 3u };

    private static void Step(global::IommuKit.Iommufd.Iommufd fd, IommufdVfioCompat? compat, IoasModel model, Op op, string where)
    {
        switch (op.Kind)
        {
            case Kind.Map:
                {
                    (Errno expected, ulong iova) = model.Map(IoasId(op), op.Flags, op.B, op.C, op.A);
                    var cmd = new IommuIoasMap { IoasId = IoasId(op), Flags = (IoasMapFlags)op.Flags, UserVa = op.B, Length = op.C, Iova = op.A };
                    Errno actual = fd.IoasMap(ref cmd);
                    Count("map", actual);
                    Check(expected == actual, $"{where}: map errno {actual}, model {expected}");
                    Check(cmd.Iova == (actual == Errno.Ok ? iova : op.A), $"{where}: map iova 0x{cmd.Iova:x}, model 0x{iova:x}");
                    break;
                }

            case Kind.Unmap:
                {
                    (ulong iova, ulong length) = op.Flags % 5 == 0 ? (0UL, Max) : (op.A, op.B);
                    (Errno expected, ulong bytes) = model.Unmap(IoasId(op), iova, length);
                    var cmd = new IommuIoasUnmap { IoasId = IoasId(op), Iova = iova, Length = length };
                    Errno actual = fd.IoasUnmap(ref cmd);
                    Count("unmap", actual);
                    Check(expected == actual, $"{where}: unmap errno {actual}, model {expected}");
                    Check(cmd.Length == (actual == Errno.Ok ? bytes : length), $"{where}: unmap length 0x{cmd.Length:x}, model 0x{bytes:x}");
                    break;
                }

            case Kind.Copy:
                {
                    // Source: the op's IOAS; destination: the same IOAS or the other one.
                    uint src = IoasId(op), dst = op.C % 3 == 0 ? 3 - Math.Clamp(src, 1, 2) : src;
                    ulong dstIova = op.C % 4 == 0 ? op.C : (op.C % (1UL << 40)) & ~(P - 1);
                    (Errno expected, ulong iova) = model.Copy(dst, src, op.Flags, op.A, op.B, dstIova);
                    var cmd = new IommuIoasCopy
                    {
                        SrcIoasId = src,
                        DstIoasId = dst,
                        Flags = (IoasMapFlags)op.Flags,
                        SrcIova = op.A,
                        Length = op.B,
                        DstIova = dstIova,
                    };
                    Errno actual = fd.IoasCopy(ref cmd);
                    Count("copy", actual);
                    Check(expected == actual, $"{where}: copy errno {actual}, model {expected}");
                    Check(cmd.DstIova == (actual == Errno.Ok ? iova : dstIova), $"{where}: copy iova 0x{cmd.DstIova:x}, model 0x{iova:x}");
                    break;
                }

            case Kind.Allow:
                {
                    // 0 to 3 ranges built from the operands: touching, overlapping, inverted and 1-byte ranges happen.
                    (ulong, ulong)[] all = op.Flags % 8 == 7
                        ? [(op.A, op.B), (op.B, op.C), (op.C, op.C + (op.A % 0x10_0000))]
                        : [(Math.Min(op.A, op.C), Math.Max(op.A, op.C)), (op.C, op.C + (op.B % 0x10_0000)), (op.B, Math.Max(op.B, unchecked(op.B + op.B)))];
                    (ulong Start, ulong Last)[] ranges = [.. all.Take((int)(op.Flags % 4))];
                    Errno expected = model.AllowIovas(IoasId(op), ranges);
                    var cmd = new IommuIoasAllowIovas
                    {
                        IoasId = IoasId(op),
                        NumIovas = (uint)ranges.Length,
                        AllowedIovas = [.. ranges.Select(r => new IommuIovaRange(r.Start, r.Last))],
                    };
                    Errno actual = fd.IoasAllowIovas(ref cmd);
                    Count("allow", actual);
                    Check(expected == actual, $"{where}: allow errno {actual}, model {expected}");
                    break;
                }

            case Kind.Reserve:
                {
                    uint id = IoasId(op) is 1 or 2 ? IoasId(op) : 1;
                    (ulong first, ulong last) = op.A <= op.C ? (op.A, op.C) : (op.C, op.A);
                    if (op.Flags % 3 == 0)
                    {
                        last = first + Math.Min(op.B, Max - first) - (op.B == 0 ? 0UL : 1UL); // a sized range, [first, first + size - 1]
                    }

                    Errno expected = model.Reserve(id, first, last);
                    Errno actual = fd.IoasReserve(id, IovaRange.FromFirstLast(first, last));
                    Count("reserve", actual);
                    Check(expected == actual, $"{where}: reserve [0x{first:x}, 0x{last:x}] errno {actual}, model {expected}");
                    break;
                }

            case Kind.IovaRanges:
                {
                    uint capacity = (uint)(op.Flags % 5);
                    (Errno expected, List<(UInt128 First, UInt128 Last)> ranges, ulong alignment) = model.IovaRanges(IoasId(op), capacity);
                    var cmd = new IommuIoasIovaRanges { IoasId = IoasId(op), NumIovas = capacity, AllowedIovas = new IommuIovaRange[capacity] };
                    Errno actual = fd.IoasIovaRanges(ref cmd);
                    Count("iova-ranges", actual);
                    Check(expected == actual, $"{where}: iova-ranges errno {actual}, model {expected}");
                    if (actual is Errno.Ok or Errno.EMSGSIZE)
                    {
                        Check(cmd.NumIovas == ranges.Count && cmd.OutIovaAlignment == alignment,
                            $"{where}: iova-ranges count {cmd.NumIovas} alignment 0x{cmd.OutIovaAlignment:x}, model {ranges.Count} 0x{alignment:x}");
                        IommuIovaRange[] written = cmd.AllowedIovas!;
                        for (int i = 0; i < ranges.Count && i < capacity; i++)
                        {
                            Check(written[i].Start == ranges[i].First && written[i].Last == ranges[i].Last,
                                $"{where}: iova-ranges[{i}] {written[i]}");
                        }
                    }

                    break;
                }

            case Kind.HugePages:
                {
                    uint id = IoasId(op) is 1 or 2 ? IoasId(op) : 1;
                    bool enable = op.Flags % 2 == 0;
                    Errno expected = model.SetHugePages(id, enable);
                    Errno actual = fd.GetIoas(id).SetHugePages(enable);
                    Count("huge pages", actual);
                    Check(expected == actual, $"{where}: huge pages {enable} errno {actual}, model {expected}");
                    break;
                }

            case Kind.NativeMap:
            case Kind.NativeUnmap:
                {
                    // An inclusive range from A and a size B (B = 0 stands for 2^64 when A = 0: the full space).
                    uint id = IoasId(op) is 1 or 2 ? IoasId(op) : 1;
                    ulong first = op.A;
                    ulong last = op.B == 0 ? (op.A == 0 ? Max : op.A) : first + Math.Min(op.B - 1, Max - first);
                    var range = IovaRange.FromFirstLast(first, last);
                    if (op.Kind == Kind.NativeMap)
                    {
                        bool read = (op.Flags & 4) != 0, write = (op.Flags & 2) != 0;
                        Errno expected = model.NativeMap(id, first, last, op.C, read, write);
                        var perms = (read ? IommuKit.PageTables.Permissions.Read : 0) | (write ? IommuKit.PageTables.Permissions.Write : 0);
                        Errno actual = fd.GetIoas(id).Map(range, op.C, perms);
                        Count("native map", actual);
                        Check(expected == actual, $"{where}: native map {range} errno {actual}, model {expected}");
                    }
                    else
                    {
                        (Errno expected, UInt128 bytes) = model.NativeUnmap(id, first, last);
                        IoasUnmapResult actual = fd.GetIoas(id).Unmap(range);
                        Count("native unmap", actual.Errno);
                        Check(expected == actual.Errno && bytes == actual.Bytes,
                            $"{where}: native unmap {range} {actual.Errno} 0x{actual.Bytes:x}, model {expected} 0x{bytes:x}");
                    }

                    break;
                }

            case Kind.CompatMap when compat is not null:
                {
                    uint flags = op.Flags % 8 < 6 ? 3u : op.Flags % 8 == 6 ? 1u : op.Flags;
                    uint argsz = op.K == 7 ? 16u : 32u;
                    Errno expected = model.CompatMap(argsz, flags, op.B, op.A, op.C);
                    Errno actual = compat.MapDma(new VfioDmaMap(op.A, op.C, op.B, (VfioDmaMapFlags)flags) { Argsz = argsz });
                    Count("compat map", actual);
                    Check(expected == actual, $"{where}: compat map errno {actual}, model {expected}");
                    break;
                }

            case Kind.CompatUnmap when compat is not null:
                {
                    uint flags = op.Flags % 8 < 5 ? 0u : op.Flags % 8 == 5 ? 2u : op.Flags;
                    (ulong iova, ulong size) = flags == 2 && op.K % 2 == 0 ? (0UL, 0UL) : (op.A, op.B);
                    uint argsz = op.K == 7 ? 16u : 24u;
                    (Errno expected, ulong bytes, bool written) = model.CompatUnmap(argsz, flags, iova, size);
                    var u = new VfioDmaUnmap(iova, size, (VfioDmaUnmapFlags)flags) { Argsz = argsz };
                    Errno actual = compat.UnmapDma(ref u);
                    Count("compat unmap", actual);
                    Check(expected == actual, $"{where}: compat unmap errno {actual}, model {expected}");
                    Check(u.Size == (written ? bytes : size), $"{where}: compat unmap size 0x{u.Size:x}, model 0x{(written ? bytes : size):x}");
                    break;
                }
        }
    }

    private static void Count(string what, Errno errno) => Outcomes.AddOrUpdate($"{what} {errno}", 1, (_, n) => n + 1);

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ModelDivergenceException(message);
        }
    }

    private static void CheckState(Ioas[] ioas, IoasModel model, string where)
    {
        for (int i = 0; i < ioas.Length; i++)
        {
            Ioas real = ioas[i];
            IoasModel.Space s = model.Spaces[i];
            string actual = string.Join("\n", real.Mappings.Select(m =>
                $"[0x{m.Iova.First:x}, 0x{m.Iova.Last:x}] va 0x{m.UserVa:x} {((m.Permissions & IommuKit.PageTables.Permissions.Read) != 0 ? "r" : "-")}{((m.Permissions & IommuKit.PageTables.Permissions.Write) != 0 ? "w" : "-")}"));
            string expected = string.Join("\n", s.Areas);
            Check(expected == actual, $"{where}: IOAS {real.Id} areas\n{actual}\nmodel\n{expected}");
            Check(Text(real.ReservedRanges) == Text(IoasModel.Merge(s.Reserved)),
                $"{where}: IOAS {real.Id} reserved {Text(real.ReservedRanges)}, model {Text(IoasModel.Merge(s.Reserved))}");
            Check(Text(real.AllowedRanges) == Text(s.Allowed), $"{where}: IOAS {real.Id} allowed {Text(real.AllowedRanges)}, model {Text(s.Allowed)}");
            Check(Text(real.IovaRanges) == Text(s.IovaRanges), $"{where}: IOAS {real.Id} iova ranges {Text(real.IovaRanges)}, model {Text(s.IovaRanges)}");
            Check(real.IovaAlignment == s.Alignment && real.HugePages == !s.HugeDisabled,
                $"{where}: IOAS {real.Id} alignment 0x{real.IovaAlignment:x} huge {real.HugePages}, model 0x{s.Alignment:x} {!s.HugeDisabled}");
        }
    }

    private static string Text(IEnumerable<IovaRange> ranges) => string.Join(";", ranges.Select(r => $"0x{r.First:x}-0x{r.Last:x}"));

    private static string Text(IEnumerable<(UInt128 First, UInt128 Last)> ranges) =>
        string.Join(";", ranges.Select(r => $"0x{(ulong)r.First:x}-0x{(ulong)r.Last:x}"));
}
