using CsCheck;
using IommuKit.Addressing;
using IommuKit.Memory;

namespace IommuKit.Tests.Memory;

public class FrameAllocatorTests
{
    private const ulong K4 = PhysicalMemory.PageSize;

    [Fact]
    public void Frames_are_handed_out_from_the_pool_base_upwards()
    {
        var frames = new FrameAllocator(new PhysicalMemory(), IovaRange.FromStartSize(0x10_0000, 4 * K4));
        Assert.Equal([0x10_0000UL, 0x10_1000, 0x10_2000, 0x10_3000], Enumerable.Range(0, 4).Select(_ => frames.Allocate()));
        Assert.Equal(4, frames.AllocatedFrames);
        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => frames.Allocate());
        Assert.Contains("exhausted", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_freed_frame_comes_back_zeroed_and_lowest_first()
    {
        var memory = new PhysicalMemory();
        var frames = new FrameAllocator(memory, IovaRange.FromStartSize(0x10_0000, 8 * K4));
        ulong[] held = [.. Enumerable.Range(0, 8).Select(_ => frames.Allocate())];
        memory.WriteUInt64(held[5] + 8, 0xdead);
        memory.WriteUInt64(held[2] + 4088, 0xbeef);
        frames.Free(held[5]);
        frames.Free(held[2]);
        Assert.False(frames.IsAllocated(held[2]));
        Assert.Equal(held[2], frames.Allocate());
        Assert.Equal(0UL, memory.ReadUInt64(held[2] + 4088));
        Assert.Equal(held[5], frames.Allocate());
        Assert.Equal(0UL, memory.ReadUInt64(held[5] + 8));
        Assert.Equal(8, frames.PeakFrames);
    }

    [Fact]
    public void Freeing_a_frame_that_is_not_allocated_throws_with_its_address()
    {
        var frames = new FrameAllocator(new PhysicalMemory(), IovaRange.FromStartSize(0x10_0000, 8 * K4));
        ulong pa = frames.Allocate();
        frames.Free(pa);
        ArgumentException ex = Assert.Throws<ArgumentException>(() => frames.Free(pa));
        Assert.Contains("0x100000", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<ArgumentException>(() => frames.Free(pa + 8));         // not a frame boundary
        Assert.Throws<ArgumentException>(() => frames.Free(0x10_0000 + K4)); // never handed out
    }

    [Fact]
    public void Reuse_is_always_the_lowest_free_frame_across_bitmap_words_and_summary_words()
    {
        // 9000 frames: the free bitmap spans 141 words and its summary 3 words, so the search crosses both.
        const int pool = 9000;
        Gen.Int[0, 99].Array[200, 2000].Sample(ops =>
        {
            var frames = new FrameAllocator(new PhysicalMemory(), IovaRange.FromStartSize(0x100_0000, pool * K4));
            var held = new List<ulong>();
            var free = new SortedSet<ulong>(); // the model: frames freed and not yet handed out again
            ulong bumped = 0;
            var rng = new Random(ops.Length);
            foreach (int op in ops)
            {
                if (op < 60 && held.Count < pool)
                {
                    ulong expected = free.Count > 0 ? free.Min : 0x100_0000 + (bumped++ * K4);
                    free.Remove(expected);
                    ulong pa = frames.Allocate();
                    Assert.Equal(expected, pa);
                    held.Add(pa);
                }
                else if (held.Count > 0)
                {
                    int i = rng.Next(held.Count);
                    frames.Free(held[i]);
                    free.Add(held[i]);
                    held.RemoveAt(i);
                }
            }

            Assert.Equal(held.Count, frames.AllocatedFrames);
        }, seed: "0N0XIzNsQ0O2", iter: 20, threads: 1);
    }

    [Fact]
    public void Lowest_first_holds_when_frames_far_apart_are_freed()
    {
        var frames = new FrameAllocator(new PhysicalMemory(), IovaRange.FromStartSize(0, 10_000 * K4));
        ulong[] held = [.. Enumerable.Range(0, 10_000).Select(_ => frames.Allocate())];
        frames.Free(held[9_999]);
        frames.Free(held[4_096]);
        frames.Free(held[4_095]);
        frames.Free(held[0]);
        Assert.Equal([held[0], held[4_095], held[4_096], held[9_999]], Enumerable.Range(0, 4).Select(_ => frames.Allocate()));
        Assert.Throws<InvalidOperationException>(() => frames.Allocate());
    }
}
