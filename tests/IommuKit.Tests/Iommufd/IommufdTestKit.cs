using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;

namespace IommuKit.Tests.Iommufd;

/// <summary>Helpers shared by the iommufd tests: ioctl wrappers with the selftest's constants.</summary>
internal static class IommufdTestKit
{
    public const ulong P = 0x1000;
    public const ulong U64Max = ulong.MaxValue;
    public const IoasMapFlags Rw = IoasMapFlags.Readable | IoasMapFlags.Writeable;
    public const IoasMapFlags FixedRw = IoasMapFlags.FixedIova | Rw;

    public static (global::IommuKit.Iommufd.Iommufd Fd, Ioas Ioas) NewIoas(bool thp = true, HostMemory? memory = null)
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(memory, thp);
        return (fd, fd.CreateIoas());
    }

    public static HostMemory NewMemory(params HostMemoryRegion[] regions) =>
        new(new PhysicalMemory(), regions.Length == 0 ? null : regions);

    public static Errno Map(this global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, ulong userVa, ulong length, ref ulong iova, IoasMapFlags flags = Rw)
    {
        var cmd = new IommuIoasMap { IoasId = ioas.Id, Flags = flags, UserVa = userVa, Length = length, Iova = iova };
        Errno rc = fd.IoasMap(ref cmd);
        iova = cmd.Iova;
        return rc;
    }

    public static Errno MapFixed(this global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, ulong iova, ulong length, ulong userVa, IoasMapFlags flags = FixedRw)
    {
        var cmd = new IommuIoasMap { IoasId = ioas.Id, Flags = flags, UserVa = userVa, Length = length, Iova = iova };
        return fd.IoasMap(ref cmd);
    }

    public static Errno Alloc(this global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, ulong userVa, ulong length, out ulong iova, IoasMapFlags flags = Rw)
    {
        iova = 0;
        return fd.Map(ioas, userVa, length, ref iova, flags);
    }

    public static Errno Unmap(this global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, ulong iova, ulong length, out ulong unmapped)
    {
        var cmd = new IommuIoasUnmap { IoasId = ioas.Id, Iova = iova, Length = length };
        Errno rc = fd.IoasUnmap(ref cmd);
        unmapped = cmd.Length;
        return rc;
    }

    public static Errno Copy(this global::IommuKit.Iommufd.Iommufd fd, Ioas src, ulong srcIova, ulong length, Ioas dst, ref ulong dstIova, IoasMapFlags flags = FixedRw)
    {
        var cmd = new IommuIoasCopy
        {
            SrcIoasId = src.Id,
            DstIoasId = dst.Id,
            SrcIova = srcIova,
            Length = length,
            DstIova = dstIova,
            Flags = flags,
        };
        Errno rc = fd.IoasCopy(ref cmd);
        dstIova = cmd.DstIova;
        return rc;
    }

    public static Errno Allow(this global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, params IommuIovaRange[] ranges)
    {
        var cmd = new IommuIoasAllowIovas { IoasId = ioas.Id, NumIovas = (uint)ranges.Length, AllowedIovas = ranges };
        return fd.IoasAllowIovas(ref cmd);
    }

    public static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    public static IoasMapping[] Areas(Ioas ioas) => [.. ioas.Mappings];

    public static IovaRange[] AreaRanges(Ioas ioas) => [.. ioas.Mappings.Select(m => m.Iova)];
}

/// <summary>A recording IOMMU domain for the iommufd tests: mapped ranges kept as disjoint records.</summary>
internal sealed class FakeDomain : IIoasDomain
{
    public FakeDomain(PageSizes pageSizes, IovaRange aperture, params IovaRange[] reserved)
    {
        PageSizes = pageSizes;
        Aperture = aperture;
        Reserved = reserved;
    }

    public PageSizes PageSizes { get; }

    public IovaRange Aperture { get; }

    public IReadOnlyList<IovaRange> Reserved { get; }

    public RangeMap<ulong> Mapped { get; } = new();

    public Errno FailNextMapWith { get; set; }

    public Errno Map(IovaRange iova, ulong pa, bool readable, bool writeable)
    {
        if (FailNextMapWith != Errno.Ok)
        {
            Errno rc = FailNextMapWith;
            FailNextMapWith = Errno.Ok;
            return rc;
        }

        if (!Mapped.TryAdd(iova, pa))
        {
            throw new InvalidOperationException($"double map of {iova}");
        }

        return Errno.Ok;
    }

    public void Unmap(IovaRange iova)
    {
        foreach (RangeMapEntry<ulong> e in Mapped.Overlapping(iova).ToList())
        {
            Assert.True(iova.Contains(e.Range), $"unmap {iova} splits {e.Range}");
            Mapped.Remove(e.Range);
        }
    }

    /// <summary>The total bytes mapped.</summary>
    public UInt128 MappedBytes => Mapped.Aggregate(UInt128.Zero, (s, e) => s + e.Range.Size);
}
