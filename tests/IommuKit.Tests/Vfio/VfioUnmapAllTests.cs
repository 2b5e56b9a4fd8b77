using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

/// <summary>
/// <c>VFIO_DMA_UNMAP_FLAG_ALL</c> (linux-vfio-iommufd.md §1.4, <c>vfio_iommu_unmap_unpin_all</c>: every record of
/// dma_list goes) done in bulk (issue 6): the same end state as removing the records one by one, O(P) work in the
/// number of records whatever their span, and no allocation once warm.
/// </summary>
public class VfioUnmapAllTests
{
    private const ulong UserBase = 0x1000_0000;

    // Work counting: every record is unmapped from the domain exactly once, ascending, and nothing searches the vaddr
    // index per record, whether the P records sit in 4 MiB or are spread over the whole 2^64 space (the last one
    // ending at 2^64-1).
    [Theory]
    [InlineData(1, 0x1000UL)]
    [InlineData(1000, 0x1000UL)]
    [InlineData(1000, 0)] // 0: the widest stride, records spread over [0, 2^64-1]
    public void Unmap_all_of_P_records_does_one_domain_unmap_each_and_no_index_search_whatever_the_span(int records, ulong stride)
    {
        var host = new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(limit: (uint)records, host: host);
        var domain = new CountingDomain();
        Assert.Equal(Errno.Ok, c.AttachDomain(domain));
        if (stride == 0)
        {
            stride = (ulong.MaxValue / (ulong)records) & ~(P - 1);
        }

        var expected = new List<IovaRange>();
        for (int i = 0; i < records; i++)
        {
            // The last record of the widest layout ends at 2^64-1.
            ulong iova = stride * (ulong)i;
            if (i == records - 1 && records > 1 && stride > 0x1000)
            {
                iova = LastPage;
            }

            Assert.Equal(Errno.Ok, c.Map(iova, P, UserBase + ((ulong)i * P)));
            expected.Add(R(iova, iova + P - 1));
        }

        Assert.Equal((ulong)records, host.PinnedPages);
        domain.Unmapped.Clear();
        c.VaddrIndex.ResetCounters();

        var u = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        Assert.Equal(Errno.Ok, c.UnmapDma(ref u, out UInt128 bytes));

        Assert.Equal((UInt128)records * P, bytes);
        Assert.Equal(expected, domain.Unmapped);
        Assert.Equal(1, domain.Batches); // one batch around all of them: the domain's writer state is taken once
        Assert.Equal(records, domain.UnmappedInBatch);
        Assert.False(domain.InBatch);
        Assert.Equal(0, c.VaddrIndex.NodesVisited);
        Assert.Equal(0, c.VaddrIndex.Count);
        Assert.Equal(0, c.MappingCount);
        Assert.Equal((uint)records, c.DmaAvail);
        Assert.Equal(0UL, host.PinnedPages);
        Assert.Equal(0UL, host.TotalPins);
        Assert.False(c.TryFindIova(UserBase, out _));
    }

    [Fact]
    public void A_warm_unmap_all_with_an_iommu_domain_allocates_nothing()
    {
        const int records = 64;
        var host = new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(limit: records, host: host);
        IommuDomain d = VfioDomainTests.Domain(host);
        Assert.Equal(Errno.Ok, c.AttachDomain(d));
        ulong stride = (1UL << 47) / records; // one record per 2 TiB: each has tables of its own
        long allocated = 0;
        for (int round = 0; round < 4; round++)
        {
            for (int i = 0; i < records; i++)
            {
                Assert.Equal(Errno.Ok, c.Map(stride * (ulong)i, P, UserBase + ((ulong)i * P)));
            }

            var u = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Errno e = c.UnmapDma(ref u, out UInt128 bytes);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(Errno.Ok, e);
            Assert.Equal((UInt128)records * P, bytes);
        }

        Assert.Equal(0, allocated);
        Assert.Equal(1, d.PageTable.TablePages); // only the root is left
        Assert.Equal(0UL, host.PinnedPages);
    }

    [Fact]
    public void Unmap_all_releases_the_domain_so_another_thread_translates_after_it_and_sees_every_page_gone()
    {
        // Unmap-all holds the IommuDomain's writer lock once for all its records (a batch); after it, a DMA thread must
        // get the lock (not wait forever) and fault on every page, never reach a stale IOTLB entry.
        const int records = 300;
        var host = new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(limit: records, host: host);
        IommuDomain d = VfioDomainTests.Domain(host);
        Assert.Equal(Errno.Ok, c.AttachDomain(d));
        for (int i = 0; i < records; i++)
        {
            Assert.Equal(Errno.Ok, c.Map(0x1_0000_0000UL + ((ulong)i * P), P, UserBase + ((ulong)i * P)));
            Assert.True(d.Translate(0x1_0000_0000UL + ((ulong)i * P), DmaAccess.Read).IsOk); // fills the IOTLB
        }

        var u = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        Assert.Equal(Errno.Ok, c.UnmapDma(ref u, out UInt128 _));

        int faults = 0;
        var dma = new Thread(() =>
        {
            for (int i = 0; i < records; i++)
            {
                DmaTranslation t = d.Translate(0x1_0000_0000UL + ((ulong)i * P), DmaAccess.Read);
                faults += !t.IsOk && t.Fault.Reason == DmaFaultReason.NotPresent ? 1 : 0;
            }
        });
        dma.Start();
        Assert.True(dma.Join(TimeSpan.FromSeconds(30)), "the DMA thread could not take the domain's lock after unmap-all");
        Assert.Equal(records, faults);
        Assert.Equal(1, d.PageTable.TablePages);
    }

    // Past 4096 records, unmap-all gives the record objects back; the container then maps, finds and unmaps as new.
    [Fact]
    public void After_unmap_all_of_a_large_map_the_container_maps_again()
    {
        const int records = 5000;
        VfioContainer c = Container(limit: records);
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < records; i++)
            {
                Assert.Equal(Errno.Ok, c.Map((ulong)i * 2 * P, P, UserBase + ((ulong)i * P)));
            }

            Assert.True(c.TryFindIova(UserBase + (4999 * P) + 1, out ulong iova));
            Assert.Equal((4999 * 2 * P) + 1, iova);
            Assert.Equal(0u, c.DmaAvail);
            Assert.Equal((Errno.Ok, records * P), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
            Assert.Equal((uint)records, c.DmaAvail);
        }

        Assert.Equal(Errno.Ok, c.Map(0x1000, P, UserBase));
        Assert.Equal((Errno.Ok, P), c.Unmap(0x1000, P));
        Assert.Equal(0, c.MappingCount);
    }

    // The bulk path must leave exactly what removing each record with its own UNMAP_DMA leaves: the records, dma_avail,
    // the vaddr-invalid count, every pin count (records sharing or abutting vaddrs, pins taken by someone else), the
    // domain's leaves (a foreign mapping survives), generation and IOTLB.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Unmap_all_leaves_the_state_that_unmapping_each_record_leaves(int seed)
    {
        Setup bulk = Build(seed);
        Setup oneByOne = Build(seed);
        Assert.Equal(bulk.C.Mappings, oneByOne.C.Mappings);
        Assert.True(bulk.C.MappingCount > 10);

        var u = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        Assert.Equal(Errno.Ok, bulk.C.UnmapDma(ref u, out UInt128 bulkBytes));

        UInt128 oneByOneBytes = 0;
        foreach (VfioDma m in oneByOne.C.Mappings)
        {
            var one = new VfioDmaUnmap(m.Iova.First, (ulong)m.Iova.Size);
            Assert.Equal(Errno.Ok, oneByOne.C.UnmapDma(ref one, out UInt128 b));
            oneByOneBytes += b;
        }

        Assert.Equal(oneByOneBytes, bulkBytes);
        Assert.Equal((ulong)bulkBytes, u.Size);
        Assert.Empty(bulk.C.Mappings);
        Assert.Equal(oneByOne.C.DmaAvail, bulk.C.DmaAvail);
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit, bulk.C.DmaAvail);
        Assert.Equal(0, bulk.C.VaddrInvalidCount);
        Assert.Equal(oneByOne.Host.PinnedSegments, bulk.Host.PinnedSegments);
        Assert.NotEmpty(bulk.Host.PinnedSegments); // the foreign pins stay
        Assert.Equal(oneByOne.Host.PinnedPages, bulk.Host.PinnedPages);
        Assert.Equal(oneByOne.Host.TotalPins, bulk.Host.TotalPins);
        Assert.Equal(oneByOne.D.PageTable.Leaves(IovaRange.Full), bulk.D.PageTable.Leaves(IovaRange.Full));
        Assert.Single(bulk.D.PageTable.Leaves(IovaRange.Full)); // the foreign mapping
        Assert.Equal(oneByOne.D.Generation, bulk.D.Generation);
        Assert.Equal(oneByOne.D.Iotlb.Stats, bulk.D.Iotlb.Stats);
        Assert.Equal(oneByOne.D.PageTable.TablePages, bulk.D.PageTable.TablePages);
        Assert.False(bulk.C.TryFindIova(UserBase, out _));

        // The emptied container maps again as a fresh one.
        Assert.Equal(Errno.Ok, bulk.C.Map(0x1000, P, UserBase));
        Assert.True(bulk.C.TryFindIova(UserBase + 5, out ulong iova));
        Assert.Equal(0x1005UL, iova);
    }

    // Pre-v6.18-rc4 kernels lose a mapping ending at 2^64-1 to every lookup: unmap-all leaves it and its dma_avail
    // slot, as it leaves them on those kernels (VfioContainer.KernelRules).
    [Fact]
    public void Unmap_all_on_a_6_1_kernel_leaves_the_lost_mapping_at_the_top()
    {
        var c = new VfioContainer(new HostMemory(new PhysicalMemory()), 8, VfioKernelRules.Linux6_1);
        Assert.Equal(Errno.Ok, c.SetIommu(VfioIommuType.Type1v2));
        Assert.Equal(Errno.Ok, c.Map(0, P));
        Assert.Equal(Errno.Ok, c.Map(LastPage, P, UserBase + P));
        Assert.Equal(Errno.Ok, c.Map(0x10_0000, P, UserBase + (2 * P)));
        Assert.Single(c.LostMappings);

        Assert.Equal((Errno.Ok, 2 * P), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
        Assert.Equal(1, c.MappingCount);
        Assert.Equal(LastPage, c.Mappings[0].Iova.First);
        Assert.Equal(7u, c.DmaAvail);
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
        Assert.Equal(1, c.MappingCount);
    }

    private sealed record Setup(VfioContainer C, HostMemory Host, IommuDomain D);

    // Random records (fixed seed) in a 48-bit domain: runs of abutting vaddrs, a vaddr mapped twice, records with an
    // invalidated vaddr and with a vaddr set again elsewhere, dirty tracking on, pins held by someone else, a foreign
    // leaf in the domain and IOTLB entries for some records.
    private static Setup Build(int seed)
    {
        var rng = new Random(seed);
        var host = new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(host: host);
        IommuDomain d = VfioDomainTests.Domain(host);
        Assert.Equal(Errno.Ok, c.AttachDomain(d));
        Assert.True(host.TryTranslate(UserBase + (1UL << 41), out ulong foreignPa));
        d.Map(IovaRange.FromStartSize(0xffff_0000_0000, P), foreignPa, Permissions.Read);
        Assert.Equal(Errno.Ok, host.Pin(IovaRange.FromStartSize(UserBase + (8 * P), 16 * P), write: true));

        var dirty = new VfioDirtyPages(VfioDirtyPagesFlags.Start);
        if (seed % 2 == 0)
        {
            Assert.Equal(Errno.Ok, c.DirtyPages(ref dirty));
        }

        ulong vaddr = UserBase;
        for (int i = 0; i < 40; i++)
        {
            ulong pages = (ulong)rng.Next(1, 4);
            ulong iova = (ulong)rng.NextInt64(0, 1L << 36) << 12;
            ulong va = rng.Next(5) switch
            {
                0 => UserBase + ((ulong)rng.Next(64) * P), // may share pages with other records or the foreign pins
                1 => ((ulong)rng.NextInt64(1, 1L << 30) << 12) + UserBase,
                _ => vaddr, // abuts the previous record's vaddr: one unpin run
            };
            if (c.Map(iova, pages * P, va) == Errno.Ok)
            {
                vaddr = va + (pages * P);
                if (rng.Next(4) == 0)
                {
                    Assert.True(d.Translate(iova, DmaAccess.Read).IsOk); // an IOTLB entry the unmap must flush
                }
            }
        }

        // Invalidate some vaddrs; give half of those a new one.
        foreach (VfioDma m in c.Mappings.Where((_, k) => k % 5 == 1).ToList())
        {
            Assert.Equal(Errno.Ok, c.Unmap(m.Iova.First, (ulong)m.Iova.Size, VfioDmaUnmapFlags.Vaddr).Errno);
            if (m.Iova.First % 2 == 0)
            {
                Assert.Equal(Errno.Ok, c.Map(m.Iova.First, (ulong)m.Iova.Size, UserBase + (1UL << 40), VfioDmaMapFlags.Vaddr));
            }
        }

        return new Setup(c, host, d);
    }

    // A domain over the whole 2^64 space that records its unmaps.
    private sealed class CountingDomain : IVfioDomain
    {
        public List<IovaRange> Unmapped { get; } = [];

        public PageSizes PageSizes => PageSizes.X86;

        public IovaRange Aperture => IovaRange.Full;

        public IReadOnlyList<IovaRange> Reserved => [];

        public bool EnforcesCacheCoherency => true;

        public PageTableStatus TryMap(IovaRange iova, ulong pa, Permissions permissions) => PageTableStatus.Ok;

        public int Batches { get; private set; }

        public bool InBatch { get; private set; }

        public int UnmappedInBatch { get; private set; }

        public void UnmapAndFlush(IovaRange iova)
        {
            Unmapped.Add(iova);
            UnmappedInBatch += InBatch ? 1 : 0;
        }

        public void BeginBatch()
        {
            Assert.False(InBatch);
            InBatch = true;
            Batches++;
        }

        public void EndBatch()
        {
            Assert.True(InBatch);
            InBatch = false;
        }
    }
}
