using CsCheck;
using IommuKit.MemoryMap;
using Map = IommuKit.MemoryMap.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

/// <summary>
/// Random region trees against a naive per-address resolver implementing the visibility rule of reference notes
/// 1.3: descend subregions in priority order, a leaf terminates, a container or alias recurses, a miss inside a
/// region with its own backing resolves to that region, otherwise the next sibling is tried.
/// </summary>
public class FlatViewPropertyTests
{
    private const int Window = 0x80;
    private static readonly Int128 SpaceEnd = (Int128)1 << 64;

    private static readonly Gen<(int Kind, ulong Size, int Priority, int ParentPick)> GenShape =
        Gen.Select(Gen.Int[0, 3], Gen.ULong[1, 0x40], Gen.Int[-2, 2], Gen.Int[0, 1000]);

    private static readonly Gen<(ulong Offset, int TargetPick, ulong AliasOffset, int Flags)> GenPlace =
        Gen.Select(Gen.ULong[0, 0x40], Gen.Int[0, 1000], Gen.ULong[0, 0x60], Gen.Int[0, 11]);

    private static readonly Gen<(bool Shifted, Spec[] Specs, int[] Toggles)> GenTree =
        Gen.Select(Gen.Bool, Gen.Select(GenShape, GenPlace, (s, p) => new Spec(s, p)).Array[1, 9], Gen.Int[0, 1000].Array[0, 3]);

    [Fact]
    public void Model_flat_view_is_sorted_disjoint_simplified_and_agrees_with_the_naive_resolver()
    {
        GenTree.Sample(t =>
        {
            var map = new Map();
            MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
            MemoryRegion window = map.CreateContainer("window", (ulong)Window);
            ulong windowBase = t.Shifted ? ulong.MaxValue - (Window / 2) + 1 : 0; // shifted: half the window is past 2^64
            root.AddSubregion(windowBase, window);
            AddressSpace space = map.CreateAddressSpace("as", root);
            var replica = new Replica();
            space.RegisterListener(replica);

            var regions = new List<MemoryRegion> { window };
            using (map.Transaction())
            {
                for (int i = 0; i < t.Specs.Length; i++)
                {
                    regions.Add(Build(map, regions, t.Specs[i], i));
                }
            }

            Check(space, replica, windowBase);

            // Toggle a few regions' enabled state in one more committed update and check again.
            using (map.Transaction())
            {
                foreach (int pick in t.Toggles)
                {
                    MemoryRegion victim = regions[pick % regions.Count];
                    victim.SetEnabled(!victim.Enabled);
                }
            }

            Check(space, replica, windowBase);
        }, iter: 1000, seed: "0N0XIzNsQ0O2");
    }

    private static MemoryRegion Build(Map map, List<MemoryRegion> regions, Spec spec, int index)
    {
        string name = $"r{index}";
        (int kind, ulong size, int priority, int parentPick) = spec.Shape;
        (ulong offset, int targetPick, ulong aliasOffset, int flags) = spec.Place;
        MemoryRegion region = kind switch
        {
            0 => map.CreateRam(name, size),
            1 => map.CreateReservation(name, size),
            2 => map.CreateContainer(name, size),

            // flags 9: an alias offset near 2^64, so the target's base goes far below 0.
            _ => map.CreateAlias(name, regions[targetPick % regions.Count], flags == 9 ? ulong.MaxValue - aliasOffset : aliasOffset, size),
        };

        MemoryRegion[] parents = regions.Where(r => !r.IsAlias).ToArray();
        MemoryRegion parent = parents[parentPick % parents.Length];
        try
        {
            parent.AddSubregionOverlap(offset, region, priority);
        }
        catch (ArgumentException)
        {
            // A cycle through an alias: rejected, and nothing changed. The region stays loose.
            Assert.Null(region.Container);
        }

        if (flags == 1)
        {
            region.SetEnabled(false);
        }

        if (flags is 2 or 3)
        {
            region.SetReadOnly(true);
        }

        if (flags == 4)
        {
            region.SetNonVolatile(true);
        }

        return region;
    }

    private static void Check(AddressSpace space, Replica replica, ulong windowBase)
    {
        IReadOnlyList<FlatRange> ranges = space.FlatView.Ranges;
        for (int i = 1; i < ranges.Count; i++)
        {
            FlatRange a = ranges[i - 1], b = ranges[i];
            Assert.True(a.Range.Last < b.Range.First, $"not sorted/disjoint: {a} then {b}");
            bool mergeable = a.Range.IsFollowedBy(b.Range) && ReferenceEquals(a.Region, b.Region)
                && (UInt128)a.OffsetInRegion + a.Range.Size == b.OffsetInRegion
                && a.ReadOnly == b.ReadOnly && a.NonVolatile == b.NonVolatile && a.RomdMode == b.RomdMode;
            Assert.False(mergeable, $"not simplified: {a} then {b}");
        }

        // Every address of the window, plus a margin below it, resolves the same way.
        ulong first = windowBase == 0 ? 0 : windowBase - Window;
        ulong last = windowBase == 0 ? 2 * Window : ulong.MaxValue;
        for (ulong address = first; ; address++)
        {
            Hit? expected = Resolve(space.Root, Int128.Zero, address, false, false);
            bool found = space.FlatView.TryFind(address, out FlatRange r);
            Assert.True(expected.HasValue == found, $"0x{address:x}: naive {expected}, flat view {(found ? r : "none")}");
            if (found)
            {
                Hit actual = new(r.Region, r.OffsetInRegion + (address - r.Range.First), r.ReadOnly, r.NonVolatile);
                Assert.Equal(expected!.Value, actual);
            }

            if (address == last)
            {
                break;
            }
        }

        Assert.Equal(space.FlatView.Sections, replica.Sections);
    }

    /// <summary>The visibility rule, address by address, in signed 128-bit arithmetic.</summary>
    private static Hit? Resolve(MemoryRegion mr, Int128 regionBase, Int128 address, bool readOnly, bool nonVolatile)
    {
        if (!mr.Enabled)
        {
            return null;
        }

        regionBase += mr.Address;
        readOnly |= mr.ReadOnly;
        nonVolatile |= mr.NonVolatile;
        if (address < regionBase || address >= regionBase + (Int128)mr.Size || address >= SpaceEnd)
        {
            return null;
        }

        if (mr.AliasTarget is { } target)
        {
            return Resolve(target, regionBase - mr.AliasOffset - target.Address, address, readOnly, nonVolatile);
        }

        foreach (MemoryRegion sub in mr.Subregions)
        {
            if (Resolve(sub, regionBase, address, readOnly, nonVolatile) is { } hit)
            {
                return hit;
            }
        }

        return mr.Terminates ? new Hit(mr, (ulong)(address - regionBase), readOnly, nonVolatile) : null;
    }

    private readonly record struct Hit(MemoryRegion Region, ulong Offset, bool ReadOnly, bool NonVolatile);

    private readonly record struct Spec((int Kind, ulong Size, int Priority, int ParentPick) Shape,
        (ulong Offset, int TargetPick, ulong AliasOffset, int Flags) Place)
    {
        public override string ToString() => $"{Shape} {Place}";
    }

    /// <summary>A listener that rebuilds the view from add/del and checks every nop.</summary>
    private sealed class Replica : IMemoryListener
    {
        private readonly SortedDictionary<ulong, MemoryRegionSection> _sections = [];

        public IEnumerable<MemoryRegionSection> Sections => _sections.Values;

        public void RegionAdd(MemoryRegionSection section) => _sections.Add(section.OffsetWithinAddressSpace, section);

        public void RegionDel(MemoryRegionSection section)
        {
            Assert.Equal(section, _sections[section.OffsetWithinAddressSpace]);
            _sections.Remove(section.OffsetWithinAddressSpace);
        }

        public void RegionNop(MemoryRegionSection section) =>
            Assert.Equal(section, _sections[section.OffsetWithinAddressSpace]);
    }
}
