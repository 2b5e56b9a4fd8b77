using CsCheck;
using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Memory;

namespace IommuKit.Tests.Memory;

public class HostMemoryTests
{
    private const ulong P = 0x1000;

    private static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    private static HostMemory Default() => new(new PhysicalMemory());

    [Fact]
    public void Default_backs_the_whole_user_half_rw_with_one_region_and_no_pins()
    {
        HostMemory host = Default();
        Assert.Equal([new HostMemoryRegion(R(0, (1UL << 47) - 1), HostMemoryPermissions.ReadWrite)], host.Regions);
        Assert.True(host.IsAccessible(R(0, (1UL << 47) - 1), write: true));
        Assert.False(host.IsAccessible(R((1UL << 47) - P, 1UL << 47), write: false));
        Assert.Equal(0UL, host.PinnedPages);
        Assert.Equal(0, host.Physical.TouchedPages);
        Assert.Single(host.Physical.Backing);
    }

    [Fact]
    public void Pa_is_congruent_to_va_modulo_1G_and_clear_of_the_frame_pool()
    {
        var host = new HostMemory(new PhysicalMemory(),
        [
            new HostMemoryRegion(R(0x7f00_1234_5000, 0x7f00_1234_5000 + (1UL << 30) - 1), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(R(0x1000, 0x1fff), HostMemoryPermissions.Read),
        ]);
        Assert.True(host.TryTranslate(0x7f00_1234_5678, out ulong pa));
        Assert.Equal(0x7f00_1234_5678UL & (PageSizes.Size1G - 1), pa & (PageSizes.Size1G - 1));
        Assert.True(pa >= HostMemory.PhysicalBase);
        Assert.True(host.TryTranslate(0x1abc, out ulong pa2));
        Assert.Equal(0x1abcUL & (PageSizes.Size1G - 1), pa2 & (PageSizes.Size1G - 1));
        Assert.False(FrameAllocator.DefaultPool.Contains(pa) || FrameAllocator.DefaultPool.Contains(pa2));
        Assert.NotEqual(pa >> 30, pa2 >> 30); // distinct regions never share physical frames
        Assert.False(host.TryTranslate(0x2000, out _));
    }

    [Fact]
    public void Physical_run_ends_at_the_region_end()
    {
        var host = new HostMemory(new PhysicalMemory(),
        [
            new HostMemoryRegion(R(0x10_0000, 0x2f_ffff), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(R(0x30_0000, 0x3f_ffff), HostMemoryPermissions.ReadWrite),
        ]);
        Assert.True(host.TryGetPhysicalRun(0x20_0000, out ulong pa, out IovaRange run));
        Assert.Equal(R(0x20_0000, 0x2f_ffff), run);
        Assert.True(host.TryTranslate(0x2f_ffff, out ulong lastPa));
        Assert.Equal(pa + 0xf_ffff, lastPa);
        Assert.False(host.TryGetPhysicalRun(0x40_0000, out _, out _));
    }

    [Fact]
    public void Bytes_written_through_the_translation_land_in_physical_memory()
    {
        HostMemory host = Default();
        Assert.True(host.TryTranslate(0x7000_0000_0000, out ulong pa));
        host.Physical.WriteUInt64(pa, 0x1122_3344_5566_7788);
        Assert.Equal(0x1122_3344_5566_7788UL, host.Physical.ReadUInt64(pa));
    }

    [Fact]
    public void Pin_counts_per_page_and_unpin_restores()
    {
        HostMemory host = Default();
        Assert.Equal(Errno.Ok, host.Pin(R(0x1000, 0x4fff), write: true));
        Assert.Equal(Errno.Ok, host.Pin(R(0x3000, 0x6fff), write: false));
        Assert.Equal(0, host.PinCount(0x0fff));
        Assert.Equal(1, host.PinCount(0x1000));
        Assert.Equal(2, host.PinCount(0x3000));
        Assert.Equal(2, host.PinCount(0x4fff));
        Assert.Equal(1, host.PinCount(0x5000));
        Assert.Equal(6UL, host.PinnedPages);
        Assert.Equal(8UL, host.TotalPins);
        host.Unpin(R(0x3000, 0x6fff));
        Assert.Equal(4UL, host.PinnedPages);
        Assert.Equal([new RangeMapEntry<int>(R(0x1000, 0x4fff), 1)], host.PinnedSegments);
        host.Unpin(R(0x1000, 0x4fff));
        Assert.Empty(host.PinnedSegments);
        Assert.Equal(0UL, host.TotalPins);
    }

    [Fact]
    public void Pin_with_one_unbacked_page_pins_nothing_and_gives_EFAULT()
    {
        var host = new HostMemory(new PhysicalMemory(), [new HostMemoryRegion(R(0x1000, 0x3fff), HostMemoryPermissions.ReadWrite)]);
        Assert.Equal(Errno.EFAULT, host.Pin(R(0x1000, 0x4fff), write: false));
        Assert.Equal(Errno.EFAULT, host.Pin(R(0, 0x1fff), write: false));
        Assert.Equal(0UL, host.PinnedPages);
        Assert.Empty(host.PinnedSegments);
    }

    [Fact]
    public void Write_pin_needs_a_writable_vma_and_read_pin_a_readable_one()
    {
        var host = new HostMemory(new PhysicalMemory(),
        [
            new HostMemoryRegion(R(0x1000, 0x1fff), HostMemoryPermissions.Read),
            new HostMemoryRegion(R(0x2000, 0x2fff), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(R(0x3000, 0x3fff), HostMemoryPermissions.None),
        ]);
        Assert.Equal(Errno.EFAULT, host.Pin(R(0x1000, 0x2fff), write: true));
        Assert.Equal(Errno.Ok, host.Pin(R(0x1000, 0x2fff), write: false));
        Assert.Equal(Errno.EFAULT, host.Pin(R(0x3000, 0x3fff), write: false));
        Assert.Equal(2UL, host.PinnedPages);
    }

    [Fact]
    public void Pin_across_adjacent_regions_works_but_not_across_a_hole()
    {
        var host = new HostMemory(new PhysicalMemory(),
        [
            new HostMemoryRegion(R(0x1000, 0x1fff), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(R(0x2000, 0x2fff), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(R(0x4000, 0x4fff), HostMemoryPermissions.ReadWrite),
        ]);
        Assert.Equal(Errno.Ok, host.Pin(R(0x1000, 0x2fff), write: true));
        Assert.Equal(Errno.EFAULT, host.Pin(R(0x2000, 0x4fff), write: true));
        Assert.Equal(2UL, host.PinnedPages);
    }

    [Fact]
    public void Pinning_a_terabyte_costs_one_segment()
    {
        HostMemory host = Default();
        Assert.Equal(Errno.Ok, host.Pin(IovaRange.FromStartSize(0, 1UL << 40), write: true));
        Assert.Single(host.PinnedSegments);
        Assert.Equal((1UL << 40) / P, host.PinnedPages);
        Assert.Equal(0, host.Physical.TouchedPages);
    }

    [Fact]
    public void Pages_at_the_top_of_the_address_space_can_be_backed_and_pinned()
    {
        var host = new HostMemory(new PhysicalMemory(), [new HostMemoryRegion(R(0xffff_ffff_ffff_f000, ulong.MaxValue), HostMemoryPermissions.ReadWrite)]);
        Assert.Equal(Errno.Ok, host.Pin(R(0xffff_ffff_ffff_f000, ulong.MaxValue), write: true));
        Assert.Equal(1, host.PinCount(ulong.MaxValue));
        Assert.True(host.TryTranslate(ulong.MaxValue, out ulong pa));
        Assert.Equal(0xfffUL, pa & 0xfff);
        host.Unpin(R(0xffff_ffff_ffff_f000, ulong.MaxValue));
        Assert.Equal(0UL, host.PinnedPages);
    }

    [Fact]
    public void Unpin_of_an_unpinned_page_throws_and_changes_nothing()
    {
        HostMemory host = Default();
        Assert.Equal(Errno.Ok, host.Pin(R(0x1000, 0x1fff), write: true));
        Assert.Throws<InvalidOperationException>(() => host.Unpin(R(0x1000, 0x2fff)));
        Assert.Equal(1, host.PinCount(0x1000));
    }

    [Fact]
    public void Caller_mistakes_throw()
    {
        HostMemory host = Default();
        Assert.Throws<ArgumentException>(() => host.Pin(R(0x1000, 0x1ffe), write: true));
        Assert.Throws<ArgumentException>(() => host.AddRegion(new HostMemoryRegion(R(0x1000, 0x1fff), HostMemoryPermissions.Read)));
        Assert.Throws<ArgumentException>(() => new HostMemory(new PhysicalMemory(), [new HostMemoryRegion(R(0x800, 0x17ff), HostMemoryPermissions.Read)]));
    }

    [Fact]
    public void Pin_counts_match_a_per_page_model_under_random_pins_and_unpins()
    {
        var op = Gen.Select(Gen.Bool, Gen.UInt[0, 31], Gen.UInt[0, 7]);
        op.Array[1, 40].Sample(ops =>
        {
            HostMemory host = Default();
            int[] model = new int[40];
            foreach ((bool pin, uint page, uint len) in ops)
            {
                IovaRange r = IovaRange.FromStartSize(page * P, (UInt128)(len + 1) * P);
                if (pin)
                {
                    Assert.Equal(Errno.Ok, host.Pin(r, write: true));
                    for (uint i = page; i <= page + len; i++)
                    {
                        model[i]++;
                    }
                }
                else if (Enumerable.Range((int)page, (int)len + 1).All(i => model[i] > 0))
                {
                    host.Unpin(r);
                    for (uint i = page; i <= page + len; i++)
                    {
                        model[i]--;
                    }
                }
                else
                {
                    Assert.Throws<InvalidOperationException>(() => host.Unpin(r));
                }
            }

            for (int i = 0; i < model.Length; i++)
            {
                Assert.Equal(model[i], host.PinCount((ulong)i * P));
            }

            Assert.Equal((ulong)model.Count(c => c > 0), host.PinnedPages);
            Assert.Equal((ulong)model.Sum(), host.TotalPins);
            IReadOnlyList<RangeMapEntry<int>> segs = host.PinnedSegments;
            for (int i = 0; i + 1 < segs.Count; i++)
            {
                Assert.False(segs[i].Range.IsFollowedBy(segs[i + 1].Range) && segs[i].Value == segs[i + 1].Value);
            }
        }, seed: "0N0XIzNsQ0O2");
    }

    // The lone-segment fast paths (a pin touching no segment, an unpin of a whole segment pinned once) must give the
    // segments the general path gives: a pin abutting a segment of count 1 merges with it, at page 0 and at the top.
    [Fact]
    public void Pins_abutting_a_segment_merge_and_unpinning_a_whole_lone_segment_keeps_its_neighbours()
    {
        var host = new HostMemory(new PhysicalMemory(), [
            new HostMemoryRegion(R(0, 0xf_ffff), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(R(0xffff_ffff_fff0_0000, ulong.MaxValue), HostMemoryPermissions.ReadWrite)]);
        Assert.Equal(Errno.Ok, host.Pin(R(0, P - 1), write: true)); // fast: nothing near
        Assert.Equal(Errno.Ok, host.Pin(R(P, (2 * P) - 1), write: true)); // abuts [0, P-1]: merged
        Assert.Equal(Errno.Ok, host.Pin(R(ulong.MaxValue - P + 1, ulong.MaxValue), write: true)); // fast, at the top
        Assert.Equal(Errno.Ok, host.Pin(R(ulong.MaxValue - (2 * P) + 1, ulong.MaxValue - P), write: true)); // merged
        Assert.Equal([new RangeMapEntry<int>(R(0, (2 * P) - 1), 1), new RangeMapEntry<int>(R(ulong.MaxValue - (2 * P) + 1, ulong.MaxValue), 1)],
            host.PinnedSegments);

        Assert.Equal(Errno.Ok, host.Pin(R(4 * P, (5 * P) - 1), write: true));
        Assert.Equal(Errno.Ok, host.Pin(R(2 * P, (4 * P) - 1), write: true)); // fills the hole: one segment [0, 5P-1]
        Assert.Single(host.PinnedSegments, e => e.Range.First == 0 && e.Range.Last == (5 * P) - 1);
        Assert.Equal(Errno.Ok, host.Pin(R(8 * P, (9 * P) - 1), write: true));
        host.Unpin(R(8 * P, (9 * P) - 1)); // fast: a whole segment pinned once
        Assert.Equal(7UL, host.PinnedPages);
        Assert.Equal(7UL, host.TotalPins);
        Assert.Equal(0, host.PinCount(8 * P));
        Assert.Equal(2, host.PinnedSegments.Count);
        Assert.Equal(Errno.Ok, host.Pin(R(P, (2 * P) - 1), write: true)); // count 2 in the middle: [0, 5P-1] in three
        Assert.Equal(4, host.PinnedSegments.Count);
        host.Unpin(R(P, (2 * P) - 1)); // back to count 1: merged again
        Assert.Equal(2, host.PinnedSegments.Count);
    }

    [Fact]
    public void A_warm_pin_and_unpin_of_a_lone_page_allocate_nothing()
    {
        HostMemory host = Default();
        Assert.Equal(Errno.Ok, host.Pin(R(0x10_0000, 0x10_0fff), write: true));
        host.Unpin(R(0x10_0000, 0x10_0fff));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            host.Pin(R(0x10_0000, 0x10_0fff), write: true);
            host.Unpin(R(0x10_0000, 0x10_0fff));
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(0UL, host.TotalPins);
    }
}
