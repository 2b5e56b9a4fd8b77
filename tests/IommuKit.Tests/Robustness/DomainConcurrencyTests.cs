using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.Robustness;

// Many DMA threads translate while one thread maps and unmaps (IommuDomain's threading remarks, docs/robustness.md).
// Each page k has an epoch the writer bumps around every call: 4n+1 while mapping, 4n+2 mapped, 4n+3 while
// unmapping, 4n+4 unmapped and flushed. A reader that sees the same epoch before and after its translation knows the
// state was stable during it, so: unmapped-and-flushed (epoch % 4 == 0) must fault; mapped must succeed with the PA
// and permissions of exactly that mapping. Any success must match some mapping that existed (no torn result).
public class DomainConcurrencyTests
{
    private const ulong P = 0x1000;
    private const int Pages = 16;
    private const ulong PaBase = 0x10_0000_0000;

    private static ulong PaOf(int page, long version) => PaBase + (((ulong)page << 20) + (ulong)version % 0x100) * P;

    private static Permissions PermsOf(long version) => (version & 1) == 0 ? Permissions.Read : Permissions.ReadWrite;

    [Theory]
    [InlineData(2, 4000)]
    [InlineData(4, 2000)]
    public void Readers_never_see_an_unmapped_and_flushed_page_or_a_torn_translation(int readers, int cycles)
    {
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()), new IommuDomainOptions { Iotlb = new IotlbGeometry(16, 4) });
        long[] epoch = new long[Pages];
        long[] version = new long[Pages];
        int stop = 0;
        string? failure = null;
        long stableChecks = 0;

        void Fail(string message) => Interlocked.CompareExchange(ref failure, message, null);

        var threads = new List<Thread>();
        for (int r = 0; r < readers; r++)
        {
            int seed = r;
            threads.Add(new Thread(() =>
            {
                var random = new Random(seed);
                while (Volatile.Read(ref stop) == 0 && failure is null)
                {
                    int page = random.Next(Pages);
                    ulong iova = (ulong)page * P + (ulong)random.Next((int)P);
                    long e1 = Volatile.Read(ref epoch[page]);
                    long v1 = Volatile.Read(ref version[page]);
                    DmaTranslation t = domain.Translate(iova, DmaAccess.Read);
                    long e2 = Volatile.Read(ref epoch[page]);
                    if (t.IsOk)
                    {
                        // No torn result: the PA names this page and a version whose permissions came with it.
                        ulong offset = t.Pa - PaBase;
                        if (t.Pa < PaBase || (offset / P) >> 20 != (ulong)page || (t.Pa & (P - 1)) != (iova & (P - 1)))
                        {
                            Fail($"torn: 0x{iova:x} -> {t}");
                        }

                        long vOfPa = (long)((offset / P) & 0xff);
                        if (t.Permissions != PermsOf(vOfPa))
                        {
                            Fail($"torn permissions: 0x{iova:x} -> {t}, version {vOfPa}");
                        }
                    }

                    if (e1 == e2)
                    {
                        Interlocked.Increment(ref stableChecks);
                        if (e1 % 4 == 0 && t.IsOk)
                        {
                            Fail($"page {page} translated after its unmap-and-flush returned: {t}");
                        }

                        if (e1 % 4 == 2 && (!t.IsOk || t.Pa != PaOf(page, v1) + (iova & (P - 1))))
                        {
                            Fail($"page {page} mapped (version {v1}) but translated to {t}");
                        }
                    }
                }
            })
            { IsBackground = true });
        }

        foreach (Thread t in threads)
        {
            t.Start();
        }

        var writer = new Random(99);
        for (int i = 0; i < cycles && failure is null; i++)
        {
            int page = writer.Next(Pages);
            IovaRange range = IovaRange.FromStartSize((ulong)page * P, P);
            long v = version[page] + 1;
            Volatile.Write(ref epoch[page], epoch[page] + 1); // mapping
            Volatile.Write(ref version[page], v);
            domain.Map(range, PaOf(page, v), PermsOf(v));
            Volatile.Write(ref epoch[page], epoch[page] + 1); // mapped
            Thread.Yield();
            Volatile.Write(ref epoch[page], epoch[page] + 1); // unmapping
            domain.UnmapAndFlush(range);
            Volatile.Write(ref epoch[page], epoch[page] + 1); // unmapped and flushed
        }

        Volatile.Write(ref stop, 1);
        foreach (Thread t in threads)
        {
            t.Join();
        }

        Assert.Null(failure);
        Assert.True(Interlocked.Read(ref stableChecks) > 0);
    }

    [Fact]
    public void Concurrent_translations_of_a_stable_mapping_all_succeed_and_count_every_access()
    {
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        domain.Map(IovaRange.FromStartSize(0, 0x40_0000), PaBase, Permissions.ReadWrite);
        const int PerThread = 20_000;
        var threads = Enumerable.Range(0, 4).Select(r => new Thread(() =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                ulong iova = (ulong)((i * 7919 + r) % 0x400) * P;
                DmaTranslation t = domain.Translate(iova, DmaAccess.Write);
                Assert.True(t.IsOk && t.Pa == PaBase + iova, t.ToString());
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        // Misses count under the domain lock, lock-free hits in per-thread counters: none is lost.
        Assert.Equal(4L * PerThread, domain.Translations);
        IotlbStats stats = domain.Iotlb.Stats;
        Assert.Equal(4L * PerThread, stats.Hits + stats.Misses);
        Assert.True(stats.Hits > 0);
    }

    [Fact]
    public void Lock_free_hits_of_each_thread_are_counted_exactly_and_a_stats_reset_keeps_the_translation_count()
    {
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        domain.Map(IovaRange.FromStartSize(0, 8 * P), PaBase, Permissions.ReadWrite);
        for (ulong page = 0; page < 8; page++)
        {
            domain.Translate(page * P, DmaAccess.Read); // 8 misses fill the IOTLB; everything after hits
        }

        const int Threads = 3, PerThread = 10_000;
        var threads = Enumerable.Range(0, Threads).Select(r => new Thread(() =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                Assert.True(domain.Translate((ulong)((i + r) % 8) * P + 0x10, DmaAccess.Read).FromIotlb);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(new IotlbStats(Threads * PerThread, 8, 8, 8, 0, 0, 0, 0), domain.Iotlb.Stats);
        Assert.Equal(8 + Threads * PerThread, domain.Translations);

        domain.Iotlb.ResetStats();
        Assert.Equal(default, domain.Iotlb.Stats);
        Assert.Equal(8 + Threads * PerThread, domain.Translations); // Translations is never reset
        domain.Translate(0, DmaAccess.Read);
        Assert.Equal(1, domain.Iotlb.Stats.Hits);
    }

    [Fact]
    public void A_hit_after_an_unflushed_unmap_takes_the_locked_path_and_is_flagged_stale()
    {
        // The lock-free path is only taken while no unflushed unmap is recorded; otherwise the locked path decides
        // staleness (IommuDomain remarks). Pinned from another thread, whose first hit is its first lock-free hit.
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        domain.Map(IovaRange.FromStartSize(0, P), PaBase, Permissions.Read);
        domain.Translate(0, DmaAccess.Read);
        domain.Unmap(IovaRange.FromStartSize(0, P));
        DmaTranslation t = default;
        var thread = new Thread(() => t = domain.Translate(0x80, DmaAccess.Read));
        thread.Start();
        thread.Join();
        Assert.True(t.IsOk && t.FromIotlb && t.IsStale, t.ToString());
        Assert.Equal(PaBase + 0x80, t.Pa);
        Assert.Equal(1, domain.StaleHits);
    }
}
