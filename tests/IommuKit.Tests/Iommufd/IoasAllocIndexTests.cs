using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.PageTables;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

/// <summary>
/// Automatic IOVA allocation through the areas' largest-gap index (issue 6) gives the IOVA the kernel's span walk gives
/// (linux-vfio-iommufd.md §2.4), and its cost does not grow with the number of areas.
/// </summary>
public class IoasAllocIndexTests
{
    private static readonly ulong[] UserVas = [0, 0x1000, 0x7f00_0000_0123, 0x7f00_0004_0000, 0x20_0000, 0x10, 0x7fff_f000];

    // §2.4 first fit: the indexed search and the walk agree after random fixed maps, automatic maps, unmaps,
    // reservations and allowed lists (fixed seed).
    [Fact]
    public void Indexed_allocation_equals_the_kernel_walk_on_random_sequences()
    {
        Gen.Select(Gen.Int[0, 5], Gen.ULong[0, 3000], Gen.ULong[1, 40], Gen.Int[0, UserVas.Length - 1]).Array[1, 400]
            .Sample(ops =>
            {
                var (fd, ioas) = NewIoas(thp: ops.Length % 2 == 0);
                foreach (var (kind, a, pages, va) in ops)
                {
                    ulong length = pages * P;
                    switch (kind)
                    {
                        case 0 or 1:
                            // Fixed maps low, and a few at the very top of the space.
                            ulong iova = a % 7 == 0 ? U64Max - (a * P) - length + 1 : a * P;
                            _ = fd.MapFixed(ioas, iova, length, 0x7f00_0000_0000);

                            break;
                        case 2:
                            _ = fd.Alloc(ioas, UserVas[va], length, out _);
                            break;
                        case 3:
                            if (ioas.Mappings.Count > 0)
                            {
                                IoasMapping victim = ioas.Mappings[(int)(a % (ulong)ioas.Mappings.Count)];
                                Assert.Equal(Errno.Ok, ioas.Unmap(victim.Iova).Errno);
                            }

                            break;
                        case 4:
                            _ = ioas.Reserve(IovaRange.FromStartSize(a * P, length));
                            break;
                        default:
                            if (a % 5 == 0)
                            {
                                var allow = new RangeMap<bool>();
                                allow.Add(IovaRange.FromFirstLast(a * P, (a * P) + (pages * 64 * P)), true);
                                allow.Add(IovaRange.FromFirstLast(0x1000_0000, U64Max), true);
                                _ = ioas.SetAllowed(allow);
                            }

                            break;
                    }

                    // Compare on a spread of lengths and user VAs after every step.
                    foreach (ulong uva in UserVas)
                    {
                        foreach (ulong len in new ulong[] { 1, 0x10, P, 3 * P, length, 0x20_0000, 0x40_0000 + P })
                        {
                            Errno walked = ioas.AllocIovaByWalk(uva, len, out ulong expected);
                            Errno indexed = ioas.AllocIova(uva, len, out ulong actual);
                            Assert.Equal(walked, indexed);
                            Assert.Equal(expected, actual);
                        }
                    }
                }
            }, iter: 60, seed: "0N0XIzNsQ0O2");
    }

    // Issue 6: allocation at many areas never walks them. 256K areas (every other page from PAGE_SIZE), all holes too
    // small for 8K: the search for 8K reaches the tail after the last area by the gap index, in a bounded number of nodes.
    [Fact]
    public void Allocation_among_256K_areas_visits_a_bounded_number_of_nodes()
    {
        var (_, ioas) = NewIoas();
        const int n = 1 << 18;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(Errno.Ok, ioas.Map(IovaRange.FromStartSize(P + ((ulong)i * 2 * P), P), 0x7f00_0000_0000, Permissions.ReadWrite));
        }

        Assert.Equal(Errno.Ok, ioas.AllocIova(0, P, out ulong small)); // builds the index
        Assert.Equal(2 * P, small);

        // Per gap call: floor search (<= 23), two chunk scans (<= 256), tree descent (<= 2 x 15); at most two calls here
        // (the first hole found in the tail fits).
        const int bound = 2 * (23 + (2 * RangeMap<int>.ChunkCapacity) + 30);
        ioas.AreaMap.ResetCounters();
        Assert.Equal(Errno.Ok, ioas.AllocIova(0, 2 * P, out ulong iova));
        Assert.Equal((ulong)n * 2 * P, iova); // the first 8K-aligned address after the last area
        Assert.InRange(ioas.AreaMap.NodesVisited, 1, bound);
        Assert.Equal(Errno.Ok, ioas.AllocIovaByWalk(0, 2 * P, out ulong walked));
        Assert.Equal(walked, iova);
    }
}
