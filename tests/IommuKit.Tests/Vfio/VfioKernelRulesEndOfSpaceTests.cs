using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

/// <summary>
/// <see cref="VfioKernelRules.LosesMappingsEndingAtTop"/>: before v6.18-rc4 type1 compares against the exclusive end
/// <c>iova + size</c>, 0 for a mapping ending at 2^64, so lookups never find it. Each rule is pinned by a golden step
/// (conformance/golden/deb612-virtio.json, deb61-amd.json; real-kernel-in-vm.md §5.3) and runs on both pre-fix
/// profiles; the newest profile answers the other way.
/// </summary>
public sealed class VfioKernelRulesEndOfSpaceTests
{
    public static TheoryData<string> PreFix() => ["6.12", "6.1"];

    private static VfioContainer Profiled(string kernel)
    {
        var c = new VfioContainer(new HostMemory(new PhysicalMemory()), VfioContainer.DefaultDmaEntryLimit, VfioKernelRules.FromName(kernel)!);
        Assert.Equal(Errno.Ok, c.SetIommu(VfioIommuType.Type1v2));
        return c;
    }

    [Fact]
    public void Only_the_pre_fix_profiles_lose_mappings_ending_at_2_pow_64()
    {
        Assert.False(VfioKernelRules.Newest.LosesMappingsEndingAtTop);
        Assert.True(VfioKernelRules.Linux6_12.LosesMappingsEndingAtTop);
        Assert.True(VfioKernelRules.Linux6_1.LosesMappingsEndingAtTop);
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void Overlap_check_misses_a_mapping_ending_at_2_pow_64_so_duplicates_succeed(string kernel)
    {
        // Golden 40 lines 7-12: map the last page, map it again, map [0xffffffffffffe000, +2P) over it: 0 each.
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal(Errno.Ok, c.Map(LastPage, P, vaddr: 0x2000_0000));
        Assert.Equal(Errno.Ok, c.Map(LastPage - P, 2 * P));
        Assert.Equal(3, c.MappingCount);
        Assert.Equal(3, c.LostMappings.Count);
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit - 3, c.DmaAvail);
        Assert.Equal([R(LastPage - P, Top), R(LastPage, Top), R(LastPage, Top)], c.Ranges());
    }

    [Fact]
    public void Newest_profile_finds_the_end_mapping_EEXIST()
    {
        VfioContainer c = Profiled("newest");
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal(Errno.EEXIST, c.Map(LastPage, P, vaddr: 0x2000_0000));
        Assert.Equal(Errno.EEXIST, c.Map(LastPage - P, 2 * P));
        Assert.Empty(c.LostMappings);
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void An_ordinary_map_overlapping_a_lost_mapping_succeeds(string kernel)
    {
        // vfio_find_dma never returns the end node, whichever range asks.
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(LastPage - P, 2 * P));
        Assert.Equal(Errno.Ok, c.Map(LastPage - P, P));
        Assert.Equal(2, c.MappingCount);
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void Range_unmap_of_a_mapping_ending_at_2_pow_64_returns_0_bytes_and_keeps_it(string kernel)
    {
        // Golden 41 line 6: unmap (0xfffffffffffff000, P) of the only mapping: 0, size 0.
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(LastPage, P));
        Assert.Equal(1, c.MappingCount);
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void Unmap_all_misses_it_and_its_dma_avail_slot_leaks(string kernel)
    {
        // Golden 41 lines 4-10: the only mapping; UNMAP_ALL returns size 0 and DMA_AVAIL stays at 65534. (With ordinary
        // mappings below it the kernel's in-order walk may reach it: rb-tree shape, not modelled.)
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit - 1, c.DmaAvail);
        Assert.Equal([R(LastPage, Top)], c.Ranges());
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void V2_bisect_check_ignores_it(string kernel)
    {
        // Golden 42 line 9: unmap (0xfffffffffffff000, P) inside [0xffffffffffffe000, +2P): 0, size 0 (newest: EINVAL).
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(LastPage - P, 2 * P));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(LastPage, P));
        Assert.Equal(Errno.EINVAL, Profiled("newest").Also(n => n.Map(LastPage - P, 2 * P)).Unmap(LastPage, P).Errno);
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void An_unmap_whose_range_ends_at_2_pow_64_removes_nothing_even_ordinary_mappings(string kernel)
    {
        // vfio_find_dma_first_node drops a first node with iova >= start + size, and start + size wraps to 0 (golden 40
        // line 16: unmap (2^63, 2^63) returns size 0).
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(1UL << 63, P));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(1UL << 63, 1UL << 63));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(1UL << 63, 1UL << 63, VfioDmaUnmapFlags.Vaddr));
        Assert.Equal(1, c.MappingCount);
        Assert.Equal((Errno.Ok, P), Profiled("newest").Also(n => n.Map(1UL << 63, P)).Unmap(1UL << 63, 1UL << 63));
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void Vaddr_update_never_sees_it(string kernel)
    {
        // UNMAP{VADDR} does not mark it (0 bytes); MAP{VADDR} of it is ENOENT (vfio_find_dma finds nothing).
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(LastPage, P, VfioDmaUnmapFlags.Vaddr));
        Assert.Equal(0, c.VaddrInvalidCount);
        Assert.Equal(Errno.ENOENT, c.Map(LastPage, P, vaddr: 0x2000_0000, flags: VfioDmaMapFlags.Vaddr));
    }

    [Theory]
    [MemberData(nameof(PreFix))]
    public void Ordinary_mappings_keep_the_fixed_rules(string kernel)
    {
        // Below 2^64 the pre-fix lookups are exact: EEXIST, bisect EINVAL and exact sizes as on the newest kernel.
        VfioContainer c = Profiled(kernel);
        Assert.Equal(Errno.Ok, c.Map(0x10_0000, 4 * P));
        Assert.Equal(Errno.EEXIST, c.Map(0x10_1000, P));
        Assert.Equal(Errno.EINVAL, c.Unmap(0x10_1000, P).Errno);
        Assert.Equal((Errno.Ok, 4 * P), c.Unmap(0x10_0000, 4 * P));
        Assert.Empty(c.LostMappings);
    }
}

internal static class VfioContainerTestExtensions
{
    public static VfioContainer Also(this VfioContainer c, Func<VfioContainer, Errno> step)
    {
        Assert.Equal(Errno.Ok, step(c));
        return c;
    }
}
