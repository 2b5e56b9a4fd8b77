using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;

namespace IommuKit.Tests.Model;

// Random MAP / UNMAP / UNMAP-ALL / VADDR / attach / translate sequences against VfioContainer and the naive
// Type1Model: every errno, every unmapped size and the full state (records, dma_avail, invalid count, valid IOVA
// list) must agree after every step, and every DMA translation through the domain must match the model's records.
// No xunit here: the same runner drives the CI test (Type1ModelTests) and the soak (fuzz/IommuKit.Fuzz soak,
// tools/soak.sh), which links this file.
internal static class Type1ModelRunner
{
    public const ulong P = 0x1000;

    /// <summary>Operations run since start (for soak progress).</summary>
    public static long Operations;
    private const ulong M2 = 0x20_0000;
    private const ulong G1 = 0x4000_0000;
    private const ulong Half = 1UL << 46;
    private const ulong MsiFirst = 0xfee0_0000;
    private const ulong MsiLast = 0xfeef_ffff;
    private const ulong DomainSizeCap = 4 * M2; // keeps page-table work per map small

    private static readonly ulong[] EdgeAddresses =
    [
        0, P, M2 - P, M2, M2 + P, G1 - P, G1, MsiFirst - P, MsiFirst, MsiLast - P + 1, MsiLast + 1, Half - P, Half,
        (1UL << 47) - P, 1UL << 47, (1UL << 48) - P, 1UL << 48, 1UL << 63, (1UL << 63) - P, 0xffff_ffff_ffff_f000,
        ulong.MaxValue, 0x800,
    ];

    private static readonly ulong[] EdgeSizes =
    [
        0, P, 2 * P, M2 - P, M2, M2 + P, G1, 1UL << 63, (1UL << 63) + P, 0xffff_ffff_ffff_f000, ulong.MaxValue, 0x800,
        1UL << 48, MsiFirst,
    ];

    internal enum Kind
    {
        Map,
        Unmap,
        UnmapAll,
        UnmapVaddr,
        MapVaddr,
        Attach,
        Translate,
        Raw,
    }

    internal sealed record Op(Kind Kind, ulong Iova, ulong Size, ulong Vaddr, uint Flags, int Access)
    {
        public override string ToString() => $"{Kind} iova=0x{Iova:x} size=0x{Size:x} vaddr=0x{Vaddr:x} flags={Flags} access={Access}";
    }

    internal static readonly Gen<ulong> Address = Gen.Frequency(
        (4, Gen.OneOf(EdgeAddresses)),
        (4, Gen.ULong[0, 64].Select(x => x * P)),
        (2, Gen.ULong[0, 8].Select(x => x * M2)),
        (1, Gen.ULong));

    internal static readonly Gen<ulong> Size = Gen.Frequency(
        (4, Gen.OneOf(EdgeSizes)),
        (5, Gen.ULong[1, 16].Select(x => x * P)),
        (2, Gen.ULong[1, 3].Select(x => x * M2)),
        (1, Gen.ULong));

    internal static readonly Gen<Op> OpGen = Gen.Select(
            Gen.Frequency((6, Gen.Const(Kind.Map)), (4, Gen.Const(Kind.Unmap)), (1, Gen.Const(Kind.UnmapAll)),
                (2, Gen.Const(Kind.UnmapVaddr)), (2, Gen.Const(Kind.MapVaddr)), (1, Gen.Const(Kind.Attach)),
                (4, Gen.Const(Kind.Translate)), (1, Gen.Const(Kind.Raw))),
            Address, Size, Address,
            Gen.Frequency((8, Gen.Const(3u)), (2, Gen.Const(1u)), (1, Gen.Const(2u)), (1, Gen.UInt[0, 15]), (1, Gen.UInt)),
            Gen.Int[1, 3])
        .Select((k, iova, size, vaddr, flags, access) => new Op(k, iova, size, vaddr, flags, access));

    internal static readonly Gen<(bool V2, bool Domain, Op[] Ops)> Sequence =
        Gen.Select(Gen.Bool, Gen.Bool, OpGen.Array[1, 24]);

    /// <summary>Runs one sequence; throws (with the step) at the first divergence.</summary>
    internal static void Run(bool v2, bool domain, IReadOnlyList<Op> ops)
    {
        var host = new HostMemory(new PhysicalMemory(),
        [
            new HostMemoryRegion(IovaRange.FromFirstLast(0, Half - 1), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(IovaRange.FromFirstLast(Half, (1UL << 47) - 1), HostMemoryPermissions.Read),
        ]);
        var frames = new FrameAllocator(host.Physical);
        var c = new VfioContainer(host, 8);
        Check(c.SetIommu(v2 ? VfioIommuType.Type1v2 : VfioIommuType.Type1) == Errno.Ok, "set iommu");
        var model = new Type1Model(v2, 8, CanPin);
        IommuDomain? d = null;
        if (domain)
        {
            d = Attach(c, model, frames);
        }

        for (int i = 0; i < ops.Count; i++)
        {
            Op op = ops[i];
            Interlocked.Increment(ref Operations);
            string where = $"step {i}: {op}";
            switch (op.Kind)
            {
                case Kind.Map:
                case Kind.MapVaddr:
                    {
                        ulong size = op.Size;
                        if (model.HasDomain && size > DomainSizeCap && size < (1UL << 48))
                        {
                            size = DomainSizeCap;
                        }

                        uint flags = op.Kind == Kind.MapVaddr ? 4u : op.Flags & 3u;
                        if (op.Kind == Kind.MapVaddr && model.InvalidCount > 0 && op.Access == 1)
                        {
                            // Aim at an invalidated record so rebinding is exercised, not only ENOENT / EINVAL.
                            Type1Model.Rec r = model.Records.First(x => x.VaddrInvalid);
                            (op, size) = (op with { Iova = r.First }, (ulong)r.Size);
                        }

                        Errno expected = model.Map(32, flags, op.Vaddr, op.Iova, size);
                        Errno actual = c.MapDma(new VfioDmaMap(op.Iova, size, op.Vaddr, (VfioDmaMapFlags)flags));
                        Check(expected == actual, $"{where}: map errno {actual}, model {expected}");
                        break;
                    }

                case Kind.Unmap:
                case Kind.UnmapVaddr:
                case Kind.UnmapAll:
                    {
                        uint flags = op.Kind switch
                        {
                            Kind.Unmap => 0u,
                            Kind.UnmapVaddr => 4u,
                            _ => op.Access == 3 ? 6u : 2u,
                        };
                        (ulong iova, ulong size) = op.Kind == Kind.UnmapAll && op.Access != 2 ? (0UL, 0UL) : (op.Iova, op.Size);
                        (Errno expected, UInt128 bytes) = model.Unmap(24, flags, iova, size);
                        var u = new VfioDmaUnmap(iova, size, (VfioDmaUnmapFlags)flags);
                        Errno actual = c.UnmapDma(ref u, out UInt128 unmapped);
                        Check(expected == actual, $"{where}: unmap errno {actual}, model {expected}");
                        if (actual == Errno.Ok)
                        {
                            Check(bytes == unmapped, $"{where}: unmapped 0x{unmapped:x}, model 0x{bytes:x}");
                            Check((ulong)bytes == u.Size, $"{where}: written-back size 0x{u.Size:x}");
                        }
                        else
                        {
                            Check(size == u.Size, $"{where}: size written back on error"); // not written back on error
                        }

                        break;
                    }

                case Kind.Raw:
                    {
                        // Unknown flag bits and short argsz on both calls.
                        uint argsz = op.Access == 1 ? 16u : 32u;
                        Errno expected = model.Map(argsz, op.Flags, op.Vaddr, op.Iova, op.Size > DomainSizeCap ? P : op.Size);
                        var map = new VfioDmaMap(op.Iova, op.Size > DomainSizeCap ? P : op.Size, op.Vaddr, (VfioDmaMapFlags)op.Flags) { Argsz = argsz };
                        Check(expected == c.MapDma(map), $"{where}: raw map");
                        (Errno ue, _) = model.Unmap(argsz - 8, op.Flags, op.Iova, op.Size);
                        var u = new VfioDmaUnmap(op.Iova, op.Size, (VfioDmaUnmapFlags)op.Flags) { Argsz = argsz - 8 };
                        Errno actual = c.UnmapDma(ref u, out _);
                        Check(ue == actual, $"{where}: raw unmap errno {actual}, model {ue}");
                        break;
                    }

                case Kind.Attach:
                    if (d is null && model.Records.All(r => r.Size <= 64 * M2))
                    {
                        d = Attach(c, model, frames);
                    }

                    break;

                case Kind.Translate:
                    if (d is not null)
                    {
                        CheckTranslate(d, host, model, op.Iova & ~(P - 1) | (op.Vaddr & (P - 1)), (DmaAccess)op.Access, where);
                        if (model.Records.Count > 0)
                        {
                            Type1Model.Rec r = model.Records[(int)(op.Size % (ulong)model.Records.Count)];
                            CheckTranslate(d, host, model, r.First, (DmaAccess)op.Access, where);
                            CheckTranslate(d, host, model, r.Last, (DmaAccess)op.Access, where);
                        }
                    }

                    break;
            }

            CheckState(c, model, where);
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ModelDivergenceException(message);
        }
    }

    /// <summary>A sequence as a scenario file (scenario-format.md); steps the format cannot express are comments.</summary>
    internal static string ToScenario(bool v2, bool domain, IReadOnlyList<Op> ops, string title)
    {
        var text = new System.Text.StringBuilder();
        text.Append("name: ").Append(title).Append('\n');
        text.Append("iommu: { format: x86-sl-4level, reserved: [[0xfee0_0000, 0xfeef_ffff]] }\n");
        text.Append($"container: {{ kind: vfio-type1{(v2 ? "v2" : "")}, dma-entry-limit: 8, domain: {(domain ? "true" : "false")} }}\n");
        text.Append("host-memory:\n  - { vaddr: 0, size: 0x4000_0000_0000, perm: rw }\n  - { vaddr: 0x4000_0000_0000, size: 0x4000_0000_0000, perm: r }\n");
        text.Append("steps:\n");
        var model = new Type1Model(v2, 8, CanPin);
        if (domain)
        {
            model.Attach((1UL << 48) - 1, MsiFirst, MsiLast);
        }

        foreach (Op op in ops)
        {
            switch (op.Kind)
            {
                case Kind.Map:
                case Kind.MapVaddr:
                    {
                        uint flags = op.Kind == Kind.MapVaddr ? 4u : op.Flags & 3u;
                        ulong size = model.HasDomain && op.Size > DomainSizeCap && op.Size < (1UL << 48) ? DomainSizeCap : op.Size;
                        Errno e = model.Map(32, flags, op.Vaddr, op.Iova, size);
                        string names = string.Join(", ", new[] { "read", "write", "vaddr" }.Where((_, b) => (flags & (1u << b)) != 0));
                        text.Append($"  - {{ op: map, iova: 0x{op.Iova:x}, size: 0x{size:x}, vaddr: 0x{op.Vaddr:x}, flags: [{names}], expect: {Expect(e)} }}\n");
                        break;
                    }

                case Kind.Unmap:
                case Kind.UnmapVaddr:
                case Kind.UnmapAll:
                    {
                        uint flags = op.Kind switch { Kind.Unmap => 0u, Kind.UnmapVaddr => 4u, _ => op.Access == 3 ? 6u : 2u };
                        (ulong iova, ulong size) = op.Kind == Kind.UnmapAll && op.Access != 2 ? (0UL, 0UL) : (op.Iova, op.Size);
                        (Errno e, UInt128 bytes) = model.Unmap(24, flags, iova, size);
                        string names = string.Join(", ", new[] { "all", "vaddr" }.Where((_, b) => (flags & (2u << b)) != 0));
                        string expect = e == Errno.Ok ? $"{{ result: ok, size: 0x{(ulong)bytes:x} }}" : Expect(e);
                        text.Append($"  - {{ op: unmap, iova: 0x{iova:x}, size: 0x{size:x}, flags: [{names}], expect: {expect} }}\n");
                        break;
                    }

                default:
                    text.Append($"  # {op} (not expressible in the scenario format; replay with the soak seed)\n");
                    break;
            }
        }

        text.Append($"  - {{ op: expect-mappings, mappings: [{string.Join(", ", model.Records.Select(r => $"[0x{r.First:x}, 0x{r.Last:x}, 0x{r.Vaddr:x}]"))}] }}\n");
        return text.ToString();
    }

    private static string Expect(Errno e) => e == Errno.Ok ? "ok" : e.ToString();

    private static bool CanPin(UInt128 first, UInt128 last, bool write) =>
        write ? last < Half : last < 1UL << 47; // [0, 2^46) read-write, [2^46, 2^47) read-only

    private static IommuDomain? Attach(VfioContainer c, Type1Model model, FrameAllocator frames)
    {
        var d = new IommuDomain(frames, new IommuDomainOptions
        {
            Reserved = [IovaRange.FromFirstLast(MsiFirst, MsiLast)],
            FlushOnUnmap = true,
        });
        Errno expected = model.Attach(d.Aperture.Last, MsiFirst, MsiLast);
        Errno actual = c.AttachDomain(d);
        Check(expected == actual, $"attach errno {actual}, model {expected}");
        return actual == Errno.Ok ? d : null;
    }

    private static void CheckTranslate(IommuDomain d, HostMemory host, Type1Model model, ulong iova, DmaAccess access, string where)
    {
        DmaTranslation t = d.Translate(iova, access);
        Type1Model.Rec? r = model.Find(iova);
        bool allowed = r is not null && ((access & DmaAccess.Read) == 0 || r.Read) && ((access & DmaAccess.Write) == 0 || r.Write);
        Check(allowed == t.IsOk, $"{where}: translate {access} 0x{iova:x} gave {t}, model {(r is null ? "unmapped" : r)}");
        if (allowed)
        {
            Check(host.TryTranslate(r!.PinnedVaddr!.Value + (iova - r.First), out ulong pa), $"{where}: host va");
            Check(pa == t.Pa, $"{where}: translate 0x{iova:x} pa 0x{t.Pa:x}, model 0x{pa:x}");
        }
    }

    private static void CheckState(VfioContainer c, Type1Model model, string where)
    {
        string actual = string.Join("\n", c.Mappings.Select(m =>
            $"[0x{m.Iova.First:x}, 0x{m.Iova.Last:x}] va 0x{m.Vaddr:x} {(m.Read ? "r" : "-")}{(m.Write ? "w" : "-")}{(m.VaddrInvalid ? " invalid" : "")} pinned {m.PinnedVaddr?.ToString("x") ?? "-"}"));
        string expected = string.Join("\n", model.Records);
        Check(expected == actual, $"{where}: records\n{actual}\nmodel\n{expected}");
        Check(model.Avail == c.DmaAvail, $"{where}: dma_avail {c.DmaAvail}, model {model.Avail}");
        Check(model.InvalidCount == c.VaddrInvalidCount, $"{where}: invalid count {c.VaddrInvalidCount}, model {model.InvalidCount}");
        string list = string.Join(";", c.ValidIovaRanges.Select(v => $"0x{v.First:x}-0x{v.Last:x}"));
        string modelList = string.Join(";", model.IovaList.Select(v => $"0x{v.First:x}-0x{v.Last:x}"));
        Check(list == modelList, $"{where}: valid iova list {list}, model {modelList}");
    }
}
