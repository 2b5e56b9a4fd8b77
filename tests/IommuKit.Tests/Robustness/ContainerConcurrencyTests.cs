using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Tests.Iommufd;
using IommuKit.Tests.Vfio;
using IommuKit.Vfio;

namespace IommuKit.Tests.Robustness;

// issue 7, "Concurrency": DMA threads translate through the domain a container keeps in sync while one control thread
// maps and unmaps through the container's ioctls (VFIO type1v2 MAP_DMA / UNMAP_DMA, iommufd IOAS_MAP / IOAS_UNMAP),
// as a VMM's device threads run while its main loop changes mappings. Each page has an epoch the control thread bumps
// around every call (odd while a call runs). A reader that sees the same even epoch before and after its translation
// knows the state was stable: an unmapped page (epoch % 4 == 0) must fault (the container's unmap flushed the IOTLB
// before returning); a mapped page must give the PA the host memory gives for its user address. Every success must be
// the host PA of that page's user address (no torn or foreign translation).
public class ContainerConcurrencyTests
{
    private const ulong P = 0x1000;
    private const int Pages = 16;
    private const ulong UserVa = 0x7f00_0000_0000;

    public static TheoryData<string> Containers => ["vfio-type1v2", "iommufd"];

    [Theory]
    [MemberData(nameof(Containers))]
    public void Dma_threads_never_reach_a_page_after_the_container_unmap_returned(string kind)
    {
        var host = new HostMemory(new PhysicalMemory(), [new HostMemoryRegion(IommufdTestKit.R(UserVa, UserVa + (Pages * P) - 1), HostMemoryPermissions.ReadWrite)]);
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()), new IommuDomainOptions { Iotlb = new IotlbGeometry(16, 4) });
        Func<int, Errno> map;
        Func<int, Errno> unmap;
        if (kind == "vfio-type1v2")
        {
            VfioContainer c = VfioTestHelpers.Container(host: host);
            Assert.Equal(Errno.Ok, c.AttachDomain(domain));
            map = page => c.Map((ulong)page * P, P, UserVa + ((ulong)page * P));
            unmap = page => c.Unmap((ulong)page * P, P).Errno;
        }
        else
        {
            var (fd, ioas) = IommufdTestKit.NewIoas(memory: host);
            Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, domain, out _));
            map = page => fd.MapFixed(ioas, (ulong)page * P, P, UserVa + ((ulong)page * P));
            unmap = page => fd.Unmap(ioas, (ulong)page * P, P, out _);
        }

        ulong[] hostPa = new ulong[Pages]; // read before the threads start: HostMemory is the control thread's
        for (int page = 0; page < Pages; page++)
        {
            Assert.True(host.TryTranslate(UserVa + ((ulong)page * P), out hostPa[page]));
        }

        long[] epoch = new long[Pages];
        int stop = 0;
        string? failure = null;
        long stableChecks = 0;
        void Fail(string message) => Interlocked.CompareExchange(ref failure, message, null);

        var readers = Enumerable.Range(0, 2).Select(seed => new Thread(() =>
        {
            var random = new Random(seed);
            while (Volatile.Read(ref stop) == 0 && failure is null)
            {
                int page = random.Next(Pages);
                ulong offset = (ulong)random.Next((int)P);
                long e1 = Volatile.Read(ref epoch[page]);
                DmaTranslation t = domain.Translate(((ulong)page * P) + offset, DmaAccess.Write);
                long e2 = Volatile.Read(ref epoch[page]);
                ulong pa = hostPa[page] + offset;
                if (t.IsOk && t.Pa != pa)
                {
                    Fail($"{kind}: page {page} translated to 0x{t.Pa:x}, host PA 0x{pa:x}");
                }

                if (e1 == e2 && e1 % 2 == 0)
                {
                    Interlocked.Increment(ref stableChecks);
                    if (e1 % 4 == 0 && t.IsOk)
                    {
                        Fail($"{kind}: page {page} translated after the container unmap returned: {t}");
                    }

                    if (e1 % 4 == 2 && !t.IsOk)
                    {
                        Fail($"{kind}: page {page} mapped but faulted: {t}");
                    }
                }
            }
        })
        { IsBackground = true }).ToList();
        readers.ForEach(t => t.Start());

        var writer = new Random(7);
        for (int i = 0; i < 1000 && failure is null; i++)
        {
            int page = writer.Next(Pages);
            Volatile.Write(ref epoch[page], epoch[page] + 1);
            Assert.Equal(Errno.Ok, map(page));
            Volatile.Write(ref epoch[page], epoch[page] + 1);
            Thread.Yield();
            Volatile.Write(ref epoch[page], epoch[page] + 1);
            Assert.Equal(Errno.Ok, unmap(page));
            Volatile.Write(ref epoch[page], epoch[page] + 1);
        }

        Volatile.Write(ref stop, 1);
        readers.ForEach(t => t.Join());
        Assert.Null(failure);
        Assert.True(Interlocked.Read(ref stableChecks) > 0);
        Assert.Equal(0, domain.StaleHits);
        Assert.Equal(0UL, host.PinnedPages);
    }
}
