using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasModelTests
{
    private const ulong Va = 0x7f00_0000_0000;
    private const ulong RoVa = 0x7f00_0040_0000;

    private static readonly ulong[] Iovas =
    [
        0, 1, 0x800, 0x1000, 0x2000, 0x3000, 0x10000, 0x20_0000, 0xfee0_0000, 0xFFFF_FFFF_F000, 1UL << 48,
        1UL << 63, U64Max - 0x1fff, U64Max - 0xfff, U64Max,
    ];

    private static readonly ulong[] Lengths = [0, 1, 0x800, 0x1000, 0x2000, 0x3000, 0x10000, 1UL << 63, U64Max - 0x1000, U64Max];

    private static readonly ulong[] UserVas = [Va, Va + 0x800, Va + 0x1000, Va + 0x3000, RoVa, RoVa + 0x1000, 0x1000, 0];

    private static ulong Pick(ulong[] edges, ulong x) =>
        x % 3 == 0 ? (x / 3 % 64) * 0x1000 : edges[(int)(x % (ulong)edges.Length)];

    // linux-vfio-iommufd.md §2: after any sequence of successful and failed calls, areas, reserved ranges, domain page
    // tables and pin counts agree; a failed call changes nothing, except the ioctl range unmap's documented partial
    // removal (§2.5), which may only remove whole areas.
    [Fact]
    public void RandomCalls_StateAgrees_FailuresChangeNothing()
    {
        Gen.Select(Gen.Int[0, 9], Gen.ULong, Gen.ULong, Gen.ULong).Array[1, 40].Sample(ops =>
        {
            var mem = new HostMemory(new PhysicalMemory(),
            [
                new HostMemoryRegion(IovaRange.FromStartSize(Va, 0x10_0000), HostMemoryPermissions.ReadWrite),
                new HostMemoryRegion(IovaRange.FromStartSize(RoVa, 0x10000), HostMemoryPermissions.Read),
            ]);
            var fd = new global::IommuKit.Iommufd.Iommufd(mem);
            Ioas[] ioas = [fd.CreateIoas(), fd.CreateIoas()];
            var hwpts = new List<(uint Id, Ioas Ioas, IommuDomain Domain)>();
            var frames = new FrameAllocator(new PhysicalMemory());

            foreach ((int kind, ulong a, ulong b, ulong c) in ops)
            {
                Ioas target = ioas[(int)(a % 2)];
                string before = Snapshot(ioas, mem);
                Errno rc;
                bool partialAllowed = false;
                switch (kind)
                {
                    case 0:
                        rc = fd.MapFixed(target, Pick(Iovas, b), Pick(Lengths, c), UserVas[(int)(a / 2 % (ulong)UserVas.Length)],
                            a / 16 % 2 == 0 ? FixedRw : IoasMapFlags.FixedIova | IoasMapFlags.Readable);
                        break;
                    case 1:
                        rc = fd.Alloc(target, UserVas[(int)(b % (ulong)UserVas.Length)], Pick(Lengths, c), out _);
                        break;
                    case 2:
                        rc = c % 5 == 0 ? fd.Unmap(target, 0, U64Max, out _) : fd.Unmap(target, Pick(Iovas, b), Pick(Lengths, c), out _);
                        partialAllowed = true;
                        break;
                    case 3:
                        // Mostly copy (part of) an existing area so that pins get shared.
                        ulong src = Pick(Iovas, b);
                        ulong length = Pick(Lengths, c);
                        IReadOnlyList<IoasMapping> mappings = target.Mappings;
                        if (mappings.Count > 0 && b % 4 != 0)
                        {
                            IovaRange m = mappings[(int)(b / 4 % (ulong)mappings.Count)].Iova;
                            src = m.First;
                            length = c % 3 == 0 ? (ulong)UInt128.Min(m.Size, 0x1000) : (ulong)m.Size;
                        }

                        ulong dst = Pick(Iovas, c / 7);
                        Ioas other = ioas[1 - (int)(a % 2)];
                        rc = fd.Copy(target, src, length, c % 2 == 0 ? target : other, ref dst, c % 5 < 2 ? FixedRw : Rw);
                        break;
                    case 4:
                        if (hwpts.Count(h => h.Ioas == target) >= 2)
                        {
                            continue;
                        }

                        var domain = new IommuDomain(frames, new IommuDomainOptions
                        {
                            Reserved = b % 2 == 0 ? [R(0xfee0_0000, 0xfeef_ffff)] : [],
                        });
                        rc = fd.AttachDomain(target.Id, domain, out uint hwpt);
                        if (rc == Errno.Ok)
                        {
                            hwpts.Add((hwpt, target, domain));
                        }

                        break;
                    case 5:
                        if (hwpts.Count == 0)
                        {
                            continue;
                        }

                        var h = hwpts[(int)(b % (ulong)hwpts.Count)];
                        rc = fd.Destroy(h.Id);
                        hwpts.Remove(h);
                        break;
                    case 6:
                        ulong first = Pick(Iovas, b);
                        rc = target.Reserve(R(first, Math.Max(first, Pick(Iovas, c))));
                        break;
                    case 7:
                        ulong s = Pick(Iovas, b);
                        rc = c % 4 == 0 ? fd.Allow(target) : fd.Allow(target, new IommuIovaRange(s, Pick(Iovas, c)));
                        break;
                    case 8:
                        rc = target.SetHugePages(b % 2 == 0);
                        break;
                    default:
                        ulong f = Pick(Iovas, b);
                        rc = target.Unmap(c % 5 == 0 ? IovaRange.Full : R(f, Math.Max(f, Pick(Iovas, c)))).Errno;
                        break;
                }

                if (rc != Errno.Ok)
                {
                    if (partialAllowed)
                    {
                        AssertOnlyAreasRemoved(before, Snapshot(ioas, mem));
                    }
                    else
                    {
                        Assert.Equal(before, Snapshot(ioas, mem));
                    }
                }

                CheckAgreement(ioas, mem, hwpts);
            }
        }, seed: "0N0XIzNsQ0O2", iter: 300);
    }

    private static string Snapshot(Ioas[] ioas, HostMemory mem) =>
        string.Join(" | ", ioas.Select(i =>
            $"areas={string.Join(",", i.Mappings)} res={string.Join(",", i.ReservedRanges)} " +
            $"allow={string.Join(",", i.AllowedRanges)} align={i.IovaAlignment} huge={i.HugePages} dom={i.DomainCount}"))
        + $" pins={mem.TotalPins}";

    private static void AssertOnlyAreasRemoved(string before, string after)
    {
        // The areas part may shrink; everything else (reserved, allowed, options) must be equal.
        static string WithoutAreas(string s) => string.Join("|", s.Split(" | ").Select(p => p[p.IndexOf(" res=", StringComparison.Ordinal)..]));
        Assert.Equal(WithoutAreas(before).Replace(" pins=", "|", StringComparison.Ordinal).Split('|')[0..^1],
            WithoutAreas(after).Replace(" pins=", "|", StringComparison.Ordinal).Split('|')[0..^1]);
    }

    private static void CheckAgreement(Ioas[] ioas, HostMemory mem, List<(uint Id, Ioas Ioas, IommuDomain Domain)> hwpts)
    {
        var expectedPins = new Dictionary<ulong, HashSet<object>>();
        foreach (Ioas i in ioas)
        {
            var areas = i.AreaEntries.ToList();
            foreach (var area in areas)
            {
                // Areas never intersect reserved ranges.
                Assert.DoesNotContain(i.ReservedRanges, r => r.Overlaps(area.Range));
                Assert.Equal(i.DomainCount > 0, area.Filled);
                Assert.Equal(0UL, area.Range.First % i.IovaAlignment);
                if (!area.Filled)
                {
                    continue;
                }

                ulong lastVa = (ulong)(area.UserVa + area.Range.Size - 1);
                for (ulong p = area.UserVa & ~(P - 1); ; p += P)
                {
                    (expectedPins.TryGetValue(p, out HashSet<object>? set) ? set : expectedPins[p] = []).Add(area.Pages);
                    if (p == (lastVa & ~(P - 1)))
                    {
                        break;
                    }
                }
            }

            // Every domain maps exactly the areas, each byte to the host PA of its user VA.
            foreach (var h in hwpts.Where(h => h.Ioas == i))
            {
                UInt128 leafBytes = h.Domain.PageTable.Leaves(IovaRange.Full).Aggregate(UInt128.Zero, (s, l) => s + l.Size);
                Assert.Equal(areas.Aggregate(UInt128.Zero, (s, a) => s + a.Range.Size), leafBytes);
                foreach (var area in areas)
                {
                    foreach (ulong off in new[] { 0UL, (ulong)(area.Range.Size - 1) })
                    {
                        PageTranslation t = h.Domain.PageTable.Translate(area.Range.First + off);
                        Assert.True(t.IsPresent);
                        Assert.True(mem.TryTranslate(area.UserVa + off, out ulong pa));
                        Assert.Equal(pa, t.Pa);
                    }
                }
            }
        }

        ulong total = 0;
        foreach ((ulong page, HashSet<object> owners) in expectedPins)
        {
            Assert.Equal(owners.Count, mem.PinCount(page));
            total += (ulong)owners.Count;
        }

        Assert.Equal(total, mem.TotalPins);
    }
}
