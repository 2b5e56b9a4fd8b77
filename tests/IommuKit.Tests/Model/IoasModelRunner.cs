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

    // The concrete call an operation makes (shared by the live step and the scenario rendering). Ranges: ALLOW_IOVAS's
    // list; First/Last: the native range or the reserved range; Argsz: the compat calls' argsz.
    internal sealed record Call(Kind Kind, uint Id, uint DstId, uint Flags, ulong Iova, ulong Length, ulong UserVa,
        (ulong Start, ulong Last)[] Ranges, ulong First, ulong Last, uint Argsz)
    {
        // The raw ioctl header variant for K = 7 (IOAS ioctls): 0 short size, 1 longer with non-zero trailing bytes,
        // 2 longer with zero trailing bytes, 3 non-zero __reserved (MAP, IOVA_RANGES, ALLOW_IOVAS); -1 a normal call.
        public int Raw { get; init; } = -1;

        public uint Size(uint structSize) => Raw switch { 0 => structSize - 8, 1 or 2 => structSize + 8, _ => structSize };

        public bool Trailing => Raw == 1;

        public uint Reserved => Raw == 3 ? 1u : 0u;
    }

    internal static Call Derive(Op op)
    {
        uint id = IoasId(op), safeId = id is 1 or 2 ? id : 1;
        var call = new Call(op.Kind, id, id, op.Flags, op.A, op.B, op.C, [], 0, 0, 0)
        {
            Raw = op.K == 7 && op.Kind is Kind.Map or Kind.Unmap or Kind.Copy or Kind.IovaRanges or Kind.Allow ? (int)(op.C % 4) : -1,
        };
        switch (op.Kind)
        {
            case Kind.Map:
                return call with { Iova = op.A, Length = op.C, UserVa = op.B };
            case Kind.Unmap:
                return op.Flags % 5 == 0 ? call with { Iova = 0, Length = Max } : call;
            case Kind.Copy:
                // Source: the op's IOAS; destination: the same IOAS or the other one.
                return call with
                {
                    DstId = op.C % 3 == 0 ? 3 - Math.Clamp(id, 1, 2) : id,
                    UserVa = op.C % 4 == 0 ? op.C : (op.C % (1UL << 40)) & ~(P - 1), // the destination IOVA
                };
            case Kind.Allow:
                {
                    // 0 to 3 ranges built from the operands: touching, overlapping, inverted and 1-byte ranges happen.
                    (ulong, ulong)[] all = op.Flags % 8 == 7
                        ? [(op.A, op.B), (op.B, op.C), (op.C, op.C + (op.A % 0x10_0000))]
                        : [(Math.Min(op.A, op.C), Math.Max(op.A, op.C)), (op.C, op.C + (op.B % 0x10_0000)), (op.B, Math.Max(op.B, unchecked(op.B + op.B)))];
                    return call with { Ranges = [.. all.Take((int)(op.Flags % 4))] };
                }

            case Kind.Reserve:
                {
                    (ulong first, ulong last) = op.A <= op.C ? (op.A, op.C) : (op.C, op.A);
                    if (op.Flags % 3 == 0)
                    {
                        last = op.B == 0 ? first : first + Math.Min(op.B - 1, Max - first); // a sized range, clipped at U64_MAX
                    }

                    return call with { Id = safeId, First = first, Last = last };
                }

            case Kind.IovaRanges:
                return call with { Length = op.Flags % 5 }; // the capacity
            case Kind.HugePages:
                return call with { Id = safeId, Flags = op.Flags % 2 }; // 0: enable, 1: disable
            case Kind.NativeMap:
            case Kind.NativeUnmap:
                {
                    // An inclusive range from A and a size B (B = 0 stands for 2^64 when A = 0: the full space).
                    ulong last = op.B == 0 ? (op.A == 0 ? Max : op.A) : op.A + Math.Min(op.B - 1, Max - op.A);
                    return call with { Id = safeId, First = op.A, Last = last, Flags = op.Flags & 6 };
                }

            case Kind.CompatMap:
                {
                    uint flags = op.Flags % 8 < 6 ? 3u : op.Flags % 8 == 6 ? 1u : op.Flags;
                    return call with { Id = 1, Flags = flags, Argsz = op.K == 7 ? 16u : 32u, Iova = op.A, Length = op.C, UserVa = op.B };
                }

            default:
                {
                    uint flags = op.Flags % 8 < 5 ? 0u : op.Flags % 8 == 5 ? 2u : op.Flags;
                    (ulong iova, ulong size) = flags == 2 && op.K % 2 == 0 ? (0UL, 0UL) : (op.A, op.B);
                    return call with { Id = 1, Flags = flags, Argsz = op.K == 7 ? 16u : 24u, Iova = iova, Length = size };
                }
        }
    }

    private static void Step(global::IommuKit.Iommufd.Iommufd fd, IommufdVfioCompat? compat, IoasModel model, Op op, string where)
    {
        Call c = Derive(op);
        switch (c.Kind)
        {
            case Kind.Map:
                {
                    (Errno expected, ulong iova) = IoasModel.Header(c.Size(IoasModel.MapSize), c.Trailing, IoasModel.MapSize) is var h && h != Errno.Ok
                        ? (h, 0) : model.Map(c.Id, c.Flags, c.UserVa, c.Length, c.Iova, c.Reserved);
                    var cmd = new IommuIoasMap
                    {
                        Size = c.Size(IoasModel.MapSize),
                        TrailingNonZero = c.Trailing,
                        Reserved = c.Reserved,
                        IoasId = c.Id,
                        Flags = (IoasMapFlags)c.Flags,
                        UserVa = c.UserVa,
                        Length = c.Length,
                        Iova = c.Iova,
                    };
                    Errno actual = fd.IoasMap(ref cmd);
                    Count("map", actual);
                    Check(expected == actual, $"{where}: map errno {actual}, model {expected}");
                    Check(cmd.Iova == (actual == Errno.Ok ? iova : c.Iova), $"{where}: map iova 0x{cmd.Iova:x}, model 0x{iova:x}");
                    break;
                }

            case Kind.Unmap:
                {
                    (Errno expected, ulong bytes) = IoasModel.Header(c.Size(IoasModel.UnmapSize), c.Trailing, IoasModel.UnmapSize) is var h && h != Errno.Ok
                        ? (h, 0) : model.Unmap(c.Id, c.Iova, c.Length);
                    var cmd = new IommuIoasUnmap { Size = c.Size(IoasModel.UnmapSize), TrailingNonZero = c.Trailing, IoasId = c.Id, Iova = c.Iova, Length = c.Length };
                    Errno actual = fd.IoasUnmap(ref cmd);
                    Count("unmap", actual);
                    Check(expected == actual, $"{where}: unmap errno {actual}, model {expected}");
                    Check(cmd.Length == (actual == Errno.Ok ? bytes : c.Length), $"{where}: unmap length 0x{cmd.Length:x}, model 0x{bytes:x}");
                    break;
                }

            case Kind.Copy:
                {
                    (Errno expected, ulong iova) = IoasModel.Header(c.Size(IoasModel.CopySize), c.Trailing, IoasModel.CopySize) is var h && h != Errno.Ok
                        ? (h, 0) : model.Copy(c.DstId, c.Id, c.Flags, c.Iova, c.Length, c.UserVa);
                    var cmd = new IommuIoasCopy
                    {
                        Size = c.Size(IoasModel.CopySize),
                        TrailingNonZero = c.Trailing,
                        SrcIoasId = c.Id,
                        DstIoasId = c.DstId,
                        Flags = (IoasMapFlags)c.Flags,
                        SrcIova = c.Iova,
                        Length = c.Length,
                        DstIova = c.UserVa,
                    };
                    Errno actual = fd.IoasCopy(ref cmd);
                    Count("copy", actual);
                    Check(expected == actual, $"{where}: copy errno {actual}, model {expected}");
                    Check(cmd.DstIova == (actual == Errno.Ok ? iova : c.UserVa), $"{where}: copy iova 0x{cmd.DstIova:x}, model 0x{iova:x}");
                    break;
                }

            case Kind.Allow:
                {
                    Errno expected = IoasModel.Header(c.Size(IoasModel.AllowIovasSize), c.Trailing, IoasModel.AllowIovasSize) is var h && h != Errno.Ok
                        ? h : model.AllowIovas(c.Id, c.Ranges, c.Reserved);
                    var cmd = new IommuIoasAllowIovas
                    {
                        Size = c.Size(IoasModel.AllowIovasSize),
                        TrailingNonZero = c.Trailing,
                        Reserved = c.Reserved,
                        IoasId = c.Id,
                        NumIovas = (uint)c.Ranges.Length,
                        AllowedIovas = [.. c.Ranges.Select(r => new IommuIovaRange(r.Start, r.Last))],
                    };
                    Errno actual = fd.IoasAllowIovas(ref cmd);
                    Count("allow", actual);
                    Check(expected == actual, $"{where}: allow errno {actual}, model {expected}");
                    break;
                }

            case Kind.Reserve:
                {
                    Errno expected = model.Reserve(c.Id, c.First, c.Last);
                    Errno actual = fd.IoasReserve(c.Id, IovaRange.FromFirstLast(c.First, c.Last));
                    Count("reserve", actual);
                    Check(expected == actual, $"{where}: reserve [0x{c.First:x}, 0x{c.Last:x}] errno {actual}, model {expected}");
                    break;
                }

            case Kind.IovaRanges:
                {
                    uint capacity = (uint)c.Length;
                    (Errno expected, List<(UInt128 First, UInt128 Last)> ranges, ulong alignment) =
                        IoasModel.Header(c.Size(IoasModel.IovaRangesSize), c.Trailing, IoasModel.IovaRangesSize) is var h && h != Errno.Ok
                            ? (h, [], 0) : model.IovaRanges(c.Id, capacity, c.Reserved);
                    var cmd = new IommuIoasIovaRanges
                    {
                        Size = c.Size(IoasModel.IovaRangesSize),
                        TrailingNonZero = c.Trailing,
                        Reserved = c.Reserved,
                        IoasId = c.Id,
                        NumIovas = capacity,
                        AllowedIovas = new IommuIovaRange[capacity],
                    };
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
                    bool enable = c.Flags == 0;
                    Errno expected = model.SetHugePages(c.Id, enable);
                    Errno actual = fd.GetIoas(c.Id).SetHugePages(enable);
                    Count("huge pages", actual);
                    Check(expected == actual, $"{where}: huge pages {enable} errno {actual}, model {expected}");
                    break;
                }

            case Kind.NativeMap:
                {
                    bool read = (c.Flags & 4) != 0, write = (c.Flags & 2) != 0;
                    Errno expected = model.NativeMap(c.Id, c.First, c.Last, c.UserVa, read, write);
                    var perms = (read ? IommuKit.PageTables.Permissions.Read : 0) | (write ? IommuKit.PageTables.Permissions.Write : 0);
                    var range = IovaRange.FromFirstLast(c.First, c.Last);
                    Errno actual = fd.GetIoas(c.Id).Map(range, c.UserVa, perms);
                    Count("native map", actual);
                    Check(expected == actual, $"{where}: native map {range} errno {actual}, model {expected}");
                    break;
                }

            case Kind.NativeUnmap:
                {
                    (Errno expected, UInt128 bytes) = model.NativeUnmap(c.Id, c.First, c.Last);
                    IoasUnmapResult actual = fd.GetIoas(c.Id).Unmap(IovaRange.FromFirstLast(c.First, c.Last));
                    Count("native unmap", actual.Errno);
                    Check(expected == actual.Errno && bytes == actual.Bytes,
                        $"{where}: native unmap [0x{c.First:x}, 0x{c.Last:x}] {actual.Errno} 0x{actual.Bytes:x}, model {expected} 0x{bytes:x}");
                    break;
                }

            case Kind.CompatMap when compat is not null:
                {
                    Errno expected = model.CompatMap(c.Argsz, c.Flags, c.UserVa, c.Iova, c.Length);
                    Errno actual = compat.MapDma(new VfioDmaMap(c.Iova, c.Length, c.UserVa, (VfioDmaMapFlags)c.Flags) { Argsz = c.Argsz });
                    Count("compat map", actual);
                    Check(expected == actual, $"{where}: compat map errno {actual}, model {expected}");
                    break;
                }

            case Kind.CompatUnmap when compat is not null:
                {
                    (Errno expected, ulong bytes, bool written) = model.CompatUnmap(c.Argsz, c.Flags, c.Iova, c.Length);
                    var u = new VfioDmaUnmap(c.Iova, c.Length, (VfioDmaUnmapFlags)c.Flags) { Argsz = c.Argsz };
                    Errno actual = compat.UnmapDma(ref u);
                    Count("compat unmap", actual);
                    Check(expected == actual, $"{where}: compat unmap errno {actual}, model {expected}");
                    Check(u.Size == (written ? bytes : c.Length), $"{where}: compat unmap size 0x{u.Size:x}, model 0x{(written ? bytes : c.Length):x}");
                    break;
                }
        }
    }

    /// <summary>
    /// A sequence as a scenario file (scenario-format.md) on IOAS 1 with the model's answers as expectations; calls the
    /// format cannot express (the second IOAS, bad ids, junk flags, short argsz, the huge-pages option) are comments.
    /// </summary>
    internal static string ToScenario(Setup setup, IReadOnlyList<Op> ops, string title) => ToScenario(setup, ops, title, out _);

    /// <summary>As <see cref="ToScenario(Setup, IReadOnlyList{Op}, string)"/>; <paramref name="complete"/> is false when a
    /// comment-only call changed IOAS 1 (later expectations then assume a change the file does not make).</summary>
    internal static string ToScenario(Setup setup, IReadOnlyList<Op> ops, string title, out bool complete)
    {
        complete = true;
        var text = new System.Text.StringBuilder();
        string kind = setup.Compat switch { 1 => "iommufd-compat-type1", 2 => "iommufd-compat-type1v2", _ => "iommufd" };
        text.Append("name: ").Append(title).Append('\n');
        text.Append($"container: {{ kind: {kind}, domain: false }}\n");
        if (!setup.Thp)
        {
            text.Append("# the run had no THP (automatic allocation capped at PAGE_SIZE); scenario files model THP\n");
        }

        text.Append("steps:\n");
        var model = new IoasModel(2, setup.Thp);
        if (setup.Compat == 1)
        {
            model.SetHugePages(1, false);
        }

        foreach (Op raw in ops)
        {
            Op op = Resolve(raw, model);
            Call c = Derive(op);
            string before = Snapshot(model.Spaces[0]);
            bool rawFails = c.Raw is 0 or 1 || (c.Raw == 3 && c.Kind is Kind.Map or Kind.IovaRanges or Kind.Allow);
            string? line = c.Kind switch
            {
                _ when rawFails => Line(false, "", ""), // a bad header: EINVAL / E2BIG / EOPNOTSUPP, nothing changes
                Kind.Map => Line(c.Id == 1 && (c.Flags & ~7u) == 0,
                    $"ioas-map, iova: {H(c.Iova)}, length: {H(c.Length)}, user-va: {H(c.UserVa)}, flags: [{IoasFlags(c.Flags)}]",
                    model.Map(c.Id, c.Flags, c.UserVa, c.Length, c.Iova) is var (e, iova) && e == Errno.Ok ? $"{{ result: ok, iova: {H(iova)} }}" : $"{e}"),
                Kind.Unmap => Line(c.Id == 1, $"ioas-unmap, iova: {H(c.Iova)}, length: {H(c.Length)}",
                    model.Unmap(c.Id, c.Iova, c.Length) is var (e, n) && e == Errno.Ok ? $"{{ result: ok, length: {H(n)} }}" : $"{e}"),
                Kind.Copy => Line(c.Id == 1 && c.DstId == 1 && (c.Flags & ~7u) == 0,
                    $"ioas-copy, src-iova: {H(c.Iova)}, length: {H(c.Length)}, dst-iova: {H(c.UserVa)}, flags: [{IoasFlags(c.Flags)}]",
                    model.Copy(c.DstId, c.Id, c.Flags, c.Iova, c.Length, c.UserVa) is var (e, iova) && e == Errno.Ok ? $"{{ result: ok, dst-iova: {H(iova)} }}" : $"{e}"),
                Kind.Allow => Line(c.Id == 1, $"ioas-allow-iovas, ranges: [{string.Join(", ", c.Ranges.Select(r => $"[{H(r.Start)}, {H(r.Last)}]"))}]",
                    $"{model.AllowIovas(c.Id, c.Ranges)}"),
                Kind.Reserve => Line(c.Id == 1, $"ioas-reserve, start: {H(c.First)}, last: {H(c.Last)}", $"{model.Reserve(c.Id, c.First, c.Last)}"),
                Kind.IovaRanges => Line(c.Id == 1, $"ioas-iova-ranges, capacity: {c.Length}",
                    model.IovaRanges(c.Id, (uint)c.Length) is var (e, r, a) && e is Errno.Ok or Errno.EMSGSIZE
                        ? $"{{ result: {(e == Errno.Ok ? "ok" : "EMSGSIZE")}, count: {r.Count}, alignment: {H(a)} }}" : $"{e}"),
                Kind.HugePages => Line(false, "", $"{model.SetHugePages(c.Id, c.Flags == 0)}"),
                Kind.NativeMap => Line(c.Id == 1,
                    $"ioas-map-range, first: {H(c.First)}, last: {H(c.Last)}, user-va: {H(c.UserVa)}, flags: [{IoasFlags(c.Flags)}]",
                    $"{model.NativeMap(c.Id, c.First, c.Last, c.UserVa, (c.Flags & 4) != 0, (c.Flags & 2) != 0)}"),
                Kind.NativeUnmap => Line(c.Id == 1, $"ioas-unmap-range, first: {H(c.First)}, last: {H(c.Last)}",
                    model.NativeUnmap(c.Id, c.First, c.Last) is var (e, n) && e == Errno.Ok
                        ? $"{{ result: ok, size: {(n > Max ? "2^64" : H((ulong)n))} }}" : $"{e}"),
                Kind.CompatMap when setup.Compat != 0 => Line(c.Argsz == 32 && (c.Flags & ~3u) == 0,
                    $"map, iova: {H(c.Iova)}, size: {H(c.Length)}, vaddr: {H(c.UserVa)}, flags: [{string.Join(", ", new[] { "read", "write" }.Where((_, b) => (c.Flags & (1u << b)) != 0))}]",
                    $"{model.CompatMap(c.Argsz, c.Flags, c.UserVa, c.Iova, c.Length)}"),
                Kind.CompatUnmap when setup.Compat != 0 => Line(c.Argsz == 24 && (c.Flags & ~2u) == 0,
                    $"unmap, iova: {H(c.Iova)}, size: {H(c.Length)}, flags: [{(c.Flags == 2 ? "all" : "")}]",
                    model.CompatUnmap(c.Argsz, c.Flags, c.Iova, c.Length) is var (e, n, _) && e == Errno.Ok ? $"{{ result: ok, size: {H(n)} }}" : $"{e}"),
                _ => null,
            };
            if (line is not null)
            {
                bool changed = line.StartsWith('#') && before != Snapshot(model.Spaces[0]);
                complete &= !changed;
                text.Append(line.StartsWith('#') ? $"  {line} {op}{(changed ? " -- CHANGED IOAS 1: later expectations assume it" : "")}\n" : $"  - {{ op: {line} }}\n");
            }
        }

        text.Append($"  - {{ op: expect-mappings, mappings: [{string.Join(", ", model.Spaces[0].Areas.Select(a => $"[{H((ulong)a.First)}, {H((ulong)a.Last)}, {H((ulong)a.UserVa)}]"))}] }}\n");
        return text.ToString();

        static string Line(bool expressible, string call, string expect) =>
            expressible ? $"{call}, expect: {(expect == "Ok" ? "ok" : expect)}" : "# (not expressible in the scenario format; replay with the soak seed)";
    }

    private static string H(ulong x) => $"0x{x:x}";

    private static string Snapshot(IoasModel.Space s) =>
        $"{string.Join(";", s.Areas)}|{Text(s.Reserved)}|{Text(s.Allowed)}|{s.HugeDisabled}";

    private static string IoasFlags(uint flags) =>
        string.Join(", ", new[] { "fixed-iova", "writeable", "readable" }.Where((_, b) => (flags & (1u << b)) != 0));

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
