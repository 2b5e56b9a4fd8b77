using IommuKit.MemoryMap;
using Map = IommuKit.MemoryMap.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

/// <summary>Region construction, sizes, host memory and the structural rules (reference notes 1.1 and 1.2).</summary>
public class MemoryRegionTests
{
    private static readonly UInt128 TwoTo64 = (UInt128)1 << 64;

    [Fact]
    public void Uint64_max_size_means_2_pow_64_at_the_api_edge()
    {
        // memory_region_init: size == UINT64_MAX is stored as 2^64; memory_region_size() gives UINT64_MAX back.
        var map = new Map();
        MemoryRegion c = map.CreateContainer("c", ulong.MaxValue);
        MemoryRegion iommu = map.CreateIommu("dmar", ulong.MaxValue);
        MemoryRegion io = map.CreateIo("io", ulong.MaxValue, null);
        Assert.Equal(TwoTo64, c.Size);
        Assert.Equal(TwoTo64, iommu.Size);
        Assert.Equal(TwoTo64, io.Size);
        Assert.Equal(ulong.MaxValue, c.SizeAsUInt64);

        // The exact overload can make 2^64 - 1; the 64-bit one cannot.
        MemoryRegion exact = map.CreateContainer("exact", (UInt128)ulong.MaxValue);
        Assert.Equal((UInt128)ulong.MaxValue, exact.Size);
        Assert.Equal(ulong.MaxValue, exact.SizeAsUInt64);

        // memory_region_set_size applies the same rule.
        MemoryRegion resized = map.CreateContainer("resized", 0x1000UL);
        resized.SetSize(ulong.MaxValue);
        Assert.Equal(TwoTo64, resized.Size);
        resized.SetSize(0x2000UL);
        Assert.Equal((UInt128)0x2000, resized.Size);
    }

    [Fact]
    public void Exact_size_above_2_pow_64_is_rejected_and_0_is_rejected_for_host_memory()
    {
        var map = new Map();
        var above = Assert.Throws<ArgumentOutOfRangeException>(() => map.CreateContainer("c", TwoTo64 + 1));
        Assert.Contains("0x10000000000000001 exceeds 2^64", above.Message, StringComparison.Ordinal);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => map.CreateRam("r", 0UL));
        Assert.Contains("size is 0", zero.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => map.CreateRom("r", UInt128.Zero));

        // A size-0 container or reservation is allowed and renders nothing.
        MemoryRegion empty = map.CreateReservation("empty", 0UL);
        AddressSpace space = map.CreateAddressSpace("as", empty);
        Assert.Empty(space.FlatView.Ranges);

        MemoryRegion c = map.CreateContainer("ok", 0x1000UL);
        Assert.Throws<ArgumentOutOfRangeException>(() => c.SetSize(TwoTo64 + 1));
        Assert.Equal((UInt128)0x1000, c.Size);
    }

    [Fact]
    public void Assigned_host_blocks_never_overlap_and_are_2MiB_or_1GiB_aligned()
    {
        var map = new Map();
        MemoryRegion a = map.CreateRam("a", 0x1000UL);
        MemoryRegion b = map.CreateRam("b", 0x30_0000UL);
        MemoryRegion c = map.CreateRom("c", 0x4000_0000UL);
        MemoryRegion d = map.CreateRamDevice("d", 0x1000UL);
        MemoryRegion e = map.CreateRomDevice("e", 0x1000UL);
        MemoryRegion[] all = [a, b, c, d, e];

        Assert.Equal(Map.HostPoolBase, a.HostAddress);
        for (int i = 0; i < all.Length; i++)
        {
            Assert.Equal(all[i].Size, all[i].HostRange.Size);
            Assert.Equal(0UL, all[i].HostAddress % (2UL << 20));
            for (int j = i + 1; j < all.Length; j++)
            {
                Assert.False(all[i].HostRange.Overlaps(all[j].HostRange), $"{all[i]} overlaps {all[j]}");
            }
        }

        Assert.Equal(0UL, c.HostAddress % (1UL << 30));
    }

    [Fact]
    public void Given_host_address_is_kept_and_later_assigned_blocks_avoid_it()
    {
        var map = new Map();
        MemoryRegion given = map.CreateRam("given", 0x40_0000UL, hostAddress: Map.HostPoolBase + 0x1000);
        MemoryRegion fitsBelow = map.CreateRam("fits-below", 0x1000UL);
        MemoryRegion above = map.CreateRam("above", 0x2000UL);

        Assert.Equal(Map.HostPoolBase + 0x1000, given.HostAddress);

        // First fit: 0x1000 bytes fit below the given block; 0x2000 do not and go to the next 2 MiB boundary past it.
        Assert.Equal(Map.HostPoolBase, fitsBelow.HostAddress);
        Assert.Equal(Map.HostPoolBase + 0x60_0000, above.HostAddress);
        Assert.False(fitsBelow.HostRange.Overlaps(given.HostRange));
        Assert.False(above.HostRange.Overlaps(given.HostRange));

        // Two regions may share host memory when the caller says so (QEMU allows two MRs on one pointer).
        MemoryRegion twin = map.CreateRam("twin", 0x1000UL, hostAddress: given.HostAddress);
        Assert.Equal(given.HostAddress, twin.HostAddress);
    }

    [Fact]
    public void Host_block_passing_2_pow_64_is_rejected_and_regions_without_host_memory_have_no_host_address()
    {
        var map = new Map();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => map.CreateRam("r", 0x2000UL, hostAddress: 0xffff_ffff_ffff_f000));
        Assert.Contains("0xfffffffffffff000", e.Message, StringComparison.Ordinal);
        MemoryRegion top = map.CreateRam("top", 0x1000UL, hostAddress: 0xffff_ffff_ffff_f000);
        Assert.Equal(0xffff_ffff_ffff_ffffUL, top.HostRange.Last);

        MemoryRegion io = map.CreateReservation("io", 0x1000UL);
        Assert.False(io.HasHostMemory);
        var none = Assert.Throws<InvalidOperationException>(() => io.HostAddress);
        Assert.Contains("'io'", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ram_cannot_grow_past_its_host_block()
    {
        var map = new Map();
        MemoryRegion ram = map.CreateRam("ram", 0x2000UL);
        ram.SetSize(0x1000UL);
        ram.SetSize(0x2000UL);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ram.SetSize(0x3000UL));
        Assert.Contains("exceeds its host memory block", e.Message, StringComparison.Ordinal);
        Assert.Equal((UInt128)0x2000, ram.Size);
    }

    [Fact]
    public void Kind_predicates_follow_qemu()
    {
        var map = new Map();
        Assert.True(map.CreateRam("ram", 0x1000UL).IsRam);
        Assert.False(map.CreateRam("ram2", 0x1000UL).IsRom);
        Assert.True(map.CreateRamDevice("bar", 0x1000UL) is { IsRam: true, IsRamDevice: true });
        Assert.True(map.CreateRomDevice("flash", 0x1000UL) is { IsRam: false, IsRomd: true, Terminates: true });
        Assert.True(map.CreateReservation("rsv", 0x1000UL) is { IsReservation: true, IsRam: false, Terminates: true });
        Assert.True(map.CreateIo("mmio", 0x1000UL, new NullOps()) is { IsReservation: false });
        Assert.True(map.CreateContainer("c", 0x1000UL) is { Terminates: false });
        MemoryRegion target = map.CreateRam("t", 0x1000UL);
        Assert.True(map.CreateAlias("a", target, 0, 0x1000UL) is { IsAlias: true, Terminates: false });
        Assert.True(map.CreateIommu("dmar", ulong.MaxValue) is { IsIommu: true, Terminates: true, IsRam: false });
    }

    [Fact]
    public void Iommu_region_takes_a_handler_other_kinds_refuse_one()
    {
        var map = new Map();
        var handler = new TestIommu();
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue, handler);
        Assert.Same(handler, dmar.IommuHandler);
        Assert.Equal(0x1000UL, ((IIommuRegionHandler)handler).MinPageSize);
        dmar.IommuHandler = null;
        Assert.Null(dmar.IommuHandler);
        MemoryRegion ram = map.CreateRam("ram", 0x1000UL);
        Assert.Throws<InvalidOperationException>(() => ram.IommuHandler = handler);
    }

    [Fact]
    public void Adding_a_region_under_itself_is_rejected()
    {
        var map = new Map();
        MemoryRegion c = map.CreateContainer("c", 0x1000UL);
        var e = Assert.Throws<ArgumentException>(() => c.AddSubregion(0, c));
        Assert.Contains("cannot add region 'c' under itself", e.Message, StringComparison.Ordinal);
        Assert.Empty(c.Subregions);
        Assert.Null(c.Container);
    }

    [Fact]
    public void Adding_a_region_under_its_own_descendant_is_rejected_with_the_cycle_path()
    {
        var map = new Map();
        MemoryRegion top = map.CreateContainer("top", 0x10000UL);
        MemoryRegion mid = map.CreateContainer("mid", 0x1000UL);
        MemoryRegion leaf = map.CreateRam("leaf", 0x1000UL);
        top.AddSubregion(0, mid);
        mid.AddSubregion(0, leaf);
        MemoryRegion holder = map.CreateContainer("holder", 0x10000UL);
        holder.AddSubregion(0, top);
        holder.RemoveSubregion(top);

        var e = Assert.Throws<ArgumentException>(() => leaf.AddSubregion(0, top));
        Assert.Contains("cannot add 'top' under 'leaf': that would create a cycle 'leaf' contains 'top' contains 'mid' contains 'leaf'",
            e.Message, StringComparison.Ordinal);
        Assert.Empty(leaf.Subregions);
        Assert.Null(top.Container);
    }

    [Fact]
    public void Alias_chain_that_would_loop_is_rejected()
    {
        // target contains box; an alias of target added under box would render target -> box -> alias -> target ...
        var map = new Map();
        MemoryRegion target = map.CreateContainer("target", 0x10000UL);
        MemoryRegion box = map.CreateContainer("box", 0x1000UL);
        target.AddSubregion(0x1000, box);
        MemoryRegion alias = map.CreateAlias("loop", target, 0, 0x1000UL);
        MemoryRegion aliasOfAlias = map.CreateAlias("loop2", alias, 0, 0x1000UL);

        var e = Assert.Throws<ArgumentException>(() => box.AddSubregion(0, aliasOfAlias));
        Assert.Contains("cannot add 'loop2' under 'box': that would create a cycle 'box' contains 'loop2' aliases 'loop' aliases 'target' contains 'box'",
            e.Message, StringComparison.Ordinal);
        Assert.Empty(box.Subregions);
        Assert.Null(aliasOfAlias.Container);
    }

    [Fact]
    public void Subregions_cannot_be_added_to_an_alias()
    {
        var map = new Map();
        MemoryRegion ram = map.CreateRam("ram", 0x1000UL);
        MemoryRegion alias = map.CreateAlias("alias", ram, 0, 0x1000UL);
        var e = Assert.Throws<ArgumentException>(() => alias.AddSubregion(0, map.CreateRam("sub", 0x1000UL)));
        Assert.Contains("cannot add 'sub' under alias 'alias': an alias cannot have subregions", e.Message, StringComparison.Ordinal);
        Assert.Empty(alias.Subregions);
    }

    [Fact]
    public void A_region_that_already_has_a_container_cannot_be_added_again()
    {
        var map = new Map();
        MemoryRegion a = map.CreateContainer("a", 0x10000UL);
        MemoryRegion b = map.CreateContainer("b", 0x10000UL);
        MemoryRegion ram = map.CreateRam("ram", 0x1000UL);
        a.AddSubregion(0x1000, ram);
        var e = Assert.Throws<ArgumentException>(() => b.AddSubregion(0, ram));
        Assert.Contains("region 'ram' already has a container 'a'", e.Message, StringComparison.Ordinal);
        Assert.Same(a, ram.Container);
        Assert.Equal(0x1000UL, ram.Address);
        Assert.Empty(b.Subregions);
    }

    [Fact]
    public void Regions_of_another_map_are_rejected()
    {
        var map = new Map();
        var other = new Map();
        MemoryRegion c = map.CreateContainer("c", 0x10000UL);
        MemoryRegion foreign = other.CreateRam("foreign", 0x1000UL);
        Assert.Throws<ArgumentException>(() => c.AddSubregion(0, foreign));
        Assert.Throws<ArgumentException>(() => map.CreateAlias("a", foreign, 0, 0x1000UL));
        Assert.Throws<ArgumentException>(() => map.CreateAddressSpace("as", foreign));
    }

    [Fact]
    public void Removing_a_region_that_is_not_a_subregion_is_rejected()
    {
        var map = new Map();
        MemoryRegion c = map.CreateContainer("c", 0x10000UL);
        var e = Assert.Throws<ArgumentException>(() => c.RemoveSubregion(map.CreateRam("ram", 0x1000UL)));
        Assert.Contains("'ram' is not a subregion of 'c'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Subregions_are_kept_in_rendering_order()
    {
        var map = new Map();
        MemoryRegion c = map.CreateContainer("c", 0x10000UL);
        MemoryRegion p0a = map.CreateReservation("p0a", 1UL);
        MemoryRegion p1 = map.CreateReservation("p1", 1UL);
        MemoryRegion pm1 = map.CreateReservation("pm1", 1UL);
        MemoryRegion p0b = map.CreateReservation("p0b", 1UL);
        c.AddSubregion(0, p0a);
        c.AddSubregionOverlap(0, p1, 1);
        c.AddSubregionOverlap(0, pm1, -1);
        c.AddSubregion(0, p0b);
        Assert.Equal([p1, p0b, p0a, pm1], c.Subregions);

        // SetPriority re-adds: p0a becomes the highest.
        p0a.SetPriority(int.MaxValue);
        Assert.Equal([p0a, p1, p0b, pm1], c.Subregions);
        p1.SetPriority(int.MinValue);
        Assert.Equal([p0a, p0b, pm1, p1], c.Subregions);
    }

    [Fact]
    public void Section_constructor_validates_its_size_and_exposes_a_2_pow_64_range()
    {
        var map = new Map();
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue);
        var full = new MemoryRegionSection(dmar, 0, 0, TwoTo64, readOnly: false, nonVolatile: false);
        Assert.True(full.Range.IsFull);
        Assert.Equal(TwoTo64, full.Size);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryRegionSection(dmar, 0x1000, 0, TwoTo64, false, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryRegionSection(dmar, 0, 0, 0, false, false));
    }

    private sealed class NullOps : IMemoryRegionOps
    {
        public ulong Read(ulong offset, int size) => 0;

        public void Write(ulong offset, int size, ulong value)
        {
        }
    }

    private sealed class TestIommu : IIommuRegionHandler;
}
