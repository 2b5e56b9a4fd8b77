using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasAllocTests
{
    // linux-vfio-iommufd.md §2.4: the search window starts at PAGE_SIZE, so IOVA 0 is never returned.
    [Fact]
    public void Alloc_EmptyIoas_FirstFitIsPageSizeNeverZero()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x10, out ulong iova));
        Assert.Equal(0x1000UL, iova);
    }

    // §2.4: with user_va 0 the alignment is roundup_pow_of_two(length).
    [Theory]
    [InlineData(0x1000UL, 0x1000UL)]
    [InlineData(0x3000UL, 0x4000UL)]
    [InlineData(0x10000UL, 0x10000UL)]
    [InlineData(0x10001UL, 0x20000UL)]
    public void Alloc_UserVaZero_AlignmentFromLength(ulong length, ulong expected)
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, length, out ulong iova));
        Assert.Equal(expected, iova);
    }

    // §2.4: the alignment is the smaller of the length's and the user VA's (1 << ctz(user_va)).
    [Fact]
    public void Alloc_AlignmentCappedByUserVa()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0x7f00_0001_3000, 0x10000, out ulong iova));
        Assert.Equal(0x1000UL, iova);
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0x7f00_0004_0000, 0x40000, out iova));
        Assert.Equal(0x40000UL, iova);
    }

    // §2.4: the alignment is capped at HPAGE_SIZE (2 MiB) with THP, at PAGE_SIZE without.
    [Theory]
    [InlineData(true, 0x20_0000UL)]
    [InlineData(false, 0x1000UL)]
    public void Alloc_HugeLength_AlignmentCappedByThp(bool thp, ulong expected)
    {
        var (fd, ioas) = NewIoas(thp);
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 1UL << 30, out ulong iova));
        Assert.Equal(expected, iova);
    }

    // §2.4: the user VA's page offset is OR-ed into the aligned start.
    [Fact]
    public void Alloc_PageOffsetOredIn()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0x7f00_0000_0123, 0x100, out ulong iova));
        Assert.Equal(0x1123UL, iova);
        Assert.Equal(0x7f00_0000_0123UL, ioas.Mappings[0].UserVa);
    }

    // §2.4: reserved ranges and existing areas are skipped, lowest fit first.
    [Fact]
    public void Alloc_SkipsReservedAndAreas()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.Reserve(R(0x1000, 0x1fff)));
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x1000, out ulong a));
        Assert.Equal(0x2000UL, a);
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x1000, out ulong b));
        Assert.Equal(0x3000UL, b);
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x2000, out ulong c));
        Assert.Equal(0x4000UL, c);
    }

    // §2.4: with an allowed list only allowed spans are searched, still clipped to [PAGE_SIZE, U64_MAX - PAGE_SIZE].
    [Fact]
    public void Alloc_AllowedSpansOnly_ClippedToWindow()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Allow(ioas, new IommuIovaRange(0, 0xfff), new IommuIovaRange(0x10_0000, 0x1f_ffff)));
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x1000, out ulong iova));
        Assert.Equal(0x10_0000UL, iova);
    }

    // §2.4: nothing in the last page is returned: window last is U64_MAX - PAGE_SIZE.
    [Fact]
    public void Alloc_NeverReturnsTheLastPage()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Allow(ioas, new IommuIovaRange(0xFFFF_FFFF_FFFF_E000, U64Max)));
        Assert.Equal(Errno.ENOSPC, fd.Alloc(ioas, 0, 0x2000, out _));
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x1000, out ulong iova));
        Assert.Equal(0xFFFF_FFFF_FFFF_E000UL, iova);
        Assert.Equal(Errno.ENOSPC, fd.Alloc(ioas, 0, 1, out _));
    }

    // §2.4: an allowed list covering only page 0 leaves nothing (page 0 is never returned).
    [Fact]
    public void Alloc_OnlyPageZeroAllowed_Enospc()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Allow(ioas, new IommuIovaRange(0, 0xfff)));
        Assert.Equal(Errno.ENOSPC, fd.Alloc(ioas, 0, 1, out _));
    }

    // §2.4 (syzbot "reserved_overflow"): an ALIGN_UP that overflows skips the hole instead of wrapping to IOVA 0.
    [Fact]
    public void Alloc_AlignUpOverflow_SkippedNotWrapped()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.Reserve(R(0, 0xFFFF_FFFF_FFE0_0000)));
        Assert.Equal(Errno.ENOSPC, fd.Alloc(ioas, 0, 0x20_0000, out _));
        Assert.Empty(ioas.Mappings);

        // A smaller alignment fits in the same hole.
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0, 0x1000, out ulong iova));
        Assert.Equal(0xFFFF_FFFF_FFE0_1000UL, iova);
    }

    // §2.4: length 0 or >= ULONG_MAX/2 is EOVERFLOW in the allocator (protects roundup_pow_of_two).
    [Fact]
    public void Alloc_LengthHalfSpace_Eoverflow()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EOVERFLOW, fd.Alloc(ioas, 0, 1UL << 63, out _));
        Assert.Equal(Errno.EOVERFLOW, fd.Alloc(ioas, 0, U64Max / 2, out _));
    }

    // §2.4: an alignment below the IOAS's iova_alignment is EINVAL.
    [Fact]
    public void Alloc_AlignmentBelowIovaAlignment_Einval()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.SetHugePages(false));
        Assert.Equal(0x1000UL, ioas.IovaAlignment);
        Assert.Equal(Errno.EINVAL, fd.Alloc(ioas, 0x7f00_0000_0800, 0x1000, out _));
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0x7f00_0000_1000, 0x1000, out _));
    }

    // §2.4: full space gives ENOSPC.
    [Fact]
    public void Alloc_NoHole_Enospc()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.Reserve(R(0, U64Max)));
        Assert.Equal(Errno.ENOSPC, fd.Alloc(ioas, 0, 1, out _));
    }
}
