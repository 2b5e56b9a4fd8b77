using System.Runtime.CompilerServices;
using CsCheck;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// After any sequence of calls, the container's records, every domain's page tables and the host pin counts agree,
// and a failed call changes nothing (linux-vfio-iommufd.md §1.2: every call is all-or-nothing).
public class VfioContainerPropertyTests
{
    private const ulong Half = 1UL << 46;

    private static readonly ulong[] Addresses =
    [
        0, P, 0x1f_f000, 0x20_0000, 0x3fff_f000, 0x4000_0000, 0xfedf_f000, 0xfee0_0000, 0xfef0_0000,
        Half - P, Half, 0xffff_ffff_f000, 0x1_0000_0000_0000, 0x7fff_ffff_ffff_f000, 0x8000_0000_0000_0000, LastPage, 0x800,
    ];

    // Sizes a domain can map quickly (≤ 4 MiB) plus ones that fail before pinning (zero, unaligned, wrapping).
    private static readonly ulong[] Sizes =
    [
        0, P, 2 * P, 0x1f_f000, 0x20_0000, 0x20_1000, 0x40_0000, 0x1800, Top & ~0xfffUL, 0x8000_0000_0000_0000,
    ];

    private enum Kind
    {
        MapRw,
        MapRead,
        MapVaddr,
        Unmap,
        UnmapAll,
        UnmapVaddr,
        UnmapAllVaddr,
        Attach,
    }

    private sealed record Op(Kind Kind, ulong Iova, ulong Size, ulong Vaddr, bool Wide);

    private static readonly Gen<ulong> Address = Gen.Frequency(
        (3, Gen.OneOf(Addresses)),
        (3, Gen.ULong[0, 48].Select(x => x * P)),
        (1, Gen.ULong[0, 8].Select(x => x * 0x20_0000)));

    private static readonly Gen<ulong> Size = Gen.Frequency(
        (3, Gen.OneOf(Sizes)),
        (3, Gen.ULong[1, 16].Select(x => x * P)));

    private static readonly Gen<Op> OpGen =
        Gen.Select(Gen.Enum<Kind>(), Address, Size, Address, Gen.Bool.Select(b => b))
            .Select((k, iova, size, vaddr, wide) => new Op(k, iova, size, vaddr, wide));

    private static readonly ConditionalWeakTable<PhysicalMemory, FrameAllocator> Allocators = new();

    [Fact]
    public void Records_page_tables_and_pins_agree_and_failed_calls_change_nothing()
    {
        Gen.Select(Gen.Bool, Gen.Bool, OpGen.Array[1, 30]).Sample((v2, startWithDomain, ops) =>
        {
            var host = new HostMemory(new PhysicalMemory(),
            [
                new HostMemoryRegion(R(0, Half - 1), HostMemoryPermissions.ReadWrite),
                new HostMemoryRegion(R(Half, (1UL << 47) - 1), HostMemoryPermissions.Read),
            ]);
            VfioContainer c = Container(v2 ? VfioIommuType.Type1v2 : VfioIommuType.Type1, limit: 8, host: host);
            if (startWithDomain)
            {
                Assert.Equal(Errno.Ok, c.AttachDomain(NewDomain(host)));
            }

            foreach (Op op in ops)
            {
                Snapshot before = Snapshot.Of(c);
                Errno e = Apply(c, host, op);
                if (e != Errno.Ok)
                {
                    Assert.Equal(before, Snapshot.Of(c));
                }

                CheckAgreement(c, host);
            }
        }, iter: 150, seed: "0N0XIzNsQ0O2");
    }

    private static IommuDomain NewDomain(HostMemory host) =>
        new(Allocators.GetValue(host.Physical, m => new FrameAllocator(m)),
            new IommuDomainOptions { Reserved = [R(0xfee0_0000, 0xfeef_ffff)] });

    private static Errno Apply(VfioContainer c, HostMemory host, Op op)
    {
        switch (op.Kind)
        {
            case Kind.MapRw:
            case Kind.MapRead:
            case Kind.MapVaddr:
                ulong size = op.Size;
                if (c.Domains.Count > 0 && !op.Wide && size > 0x40_0000 && size != (Top & ~0xfffUL) && size != 0x8000_0000_0000_0000)
                {
                    size = 0x40_0000; // keep page-table work small
                }

                VfioDmaMapFlags flags = op.Kind switch
                {
                    Kind.MapRw => RW,
                    Kind.MapRead => VfioDmaMapFlags.Read,
                    _ => VfioDmaMapFlags.Vaddr,
                };
                return c.Map(op.Iova, size, op.Vaddr, flags);
            case Kind.Unmap:
                return c.Unmap(op.Iova, op.Size).Errno;
            case Kind.UnmapAll:
                return c.Unmap(op.Wide ? 0 : op.Iova, 0, VfioDmaUnmapFlags.All).Errno;
            case Kind.UnmapVaddr:
                return c.Unmap(op.Iova, op.Size, VfioDmaUnmapFlags.Vaddr).Errno;
            case Kind.UnmapAllVaddr:
                return c.Unmap(0, 0, VfioDmaUnmapFlags.All | VfioDmaUnmapFlags.Vaddr).Errno;
            default:
                if (c.Domains.Count >= 2 || c.Mappings.Any(m => m.Iova.Size > 0x40_0000))
                {
                    return Errno.Ok; // a replay of a huge no-domain mapping would be slow; skip
                }

                return c.AttachDomain(NewDomain(host));
        }
    }

    private static void CheckAgreement(VfioContainer c, HostMemory host)
    {
        IReadOnlyList<VfioDma> maps = c.Mappings;
        Assert.Equal(c.DmaEntryLimit - (uint)maps.Count, c.DmaAvail);
        Assert.Equal(maps.Count(m => m.VaddrInvalid), c.VaddrInvalidCount);
        for (int i = 0; i + 1 < maps.Count; i++)
        {
            Assert.True(maps[i].Iova.Last < maps[i + 1].Iova.First);
        }

        if (c.Domains.Count == 0)
        {
            Assert.All(maps, m => Assert.Null(m.PinnedVaddr));
            Assert.Equal(0UL, host.TotalPins);
            return;
        }

        // Every record pins its pages once; nothing else is pinned.
        UInt128 pages = 0;
        foreach (VfioDma m in maps)
        {
            Assert.NotNull(m.PinnedVaddr);
            pages += m.Iova.Size / P;
            ulong va = m.PinnedVaddr!.Value;
            ulong lastVa = va + (m.Iova.Last - m.Iova.First);
            Assert.True(host.PinCount(va) >= 1 && host.PinCount(lastVa) >= 1);
            foreach (IommuDomain d in c.Domains)
            {
                AssertMapsTo(d, m.Iova.First, host, va, m);
                AssertMapsTo(d, m.Iova.Last & ~(P - 1), host, lastVa & ~(P - 1), m);
            }
        }

        Assert.Equal(pages, (UInt128)host.TotalPins);
        foreach (IommuDomain d in c.Domains)
        {
            UInt128 mapped = 0;
            foreach (PageTableLeaf leaf in d.PageTable.Leaves(d.Aperture))
            {
                mapped += leaf.Size;
            }

            Assert.Equal(pages * P, mapped);
        }
    }

    private static void AssertMapsTo(IommuDomain d, ulong iova, HostMemory host, ulong va, VfioDma m)
    {
        PageTranslation t = d.PageTable.Translate(iova);
        Assert.True(t.IsPresent, $"iova 0x{iova:x} of {m.Iova} not mapped");
        Assert.True(host.TryTranslate(va, out ulong pa));
        Assert.Equal(pa, t.Pa);
        Assert.Equal(m.Write, (t.Permissions & Permissions.Write) != 0);
    }

    private sealed record Snapshot(string Records, uint DmaAvail, int Invalid, string Pins, string Tables, string Iova, ulong Pgsizes, int Domains)
    {
        public static Snapshot Of(VfioContainer c) => new(
            string.Join(";", c.Mappings),
            c.DmaAvail,
            c.VaddrInvalidCount,
            string.Join(";", c.Host.PinnedSegments),
            string.Join("|", c.Domains.Select(d => string.Join(";", d.PageTable.Leaves(d.Aperture)))),
            string.Join(";", c.ValidIovaRanges),
            c.PgsizeBitmap,
            c.Domains.Count);
    }
}
