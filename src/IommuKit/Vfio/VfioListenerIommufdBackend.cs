using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.PageTables;

namespace IommuKit.Vfio;

/// <summary>
/// The <see cref="VfioListener"/> adapter for an iommufd IOAS (QEMU's <c>hw/vfio/iommufd.c</c>): fixed-iova
/// <c>IOMMU_IOAS_MAP</c>, <c>IOMMU_IOAS_UNMAP</c>, unmap-all as <c>(0, U64_MAX)</c>, and (unless turned off) the
/// IommuKit-native full-range <see cref="Ioas.Map(IovaRange, ulong, Permissions)"/> / <see cref="Ioas.Unmap(IovaRange)"/>.
/// </summary>
public sealed class VfioListenerIommufdBackend : IVfioListenerBackend
{
    /// <summary>Wraps IOAS <paramref name="ioasId"/> of <paramref name="iommufd"/>.</summary>
    /// <param name="iommufd">The iommufd.</param>
    /// <param name="ioasId">The IOAS the listener maps into.</param>
    /// <param name="nativeFullRange">True to offer the native full-range calls (one call for 2^64); false to behave as
    /// QEMU's iommufd backend (unmap-all as <c>(0, U64_MAX)</c>).</param>
    public VfioListenerIommufdBackend(Iommufd.Iommufd iommufd, uint ioasId, bool nativeFullRange = true)
    {
        ArgumentNullException.ThrowIfNull(iommufd);
        Iommufd = iommufd;
        IoasId = ioasId;
        SupportsFullRange = nativeFullRange;
    }

    /// <summary>The iommufd.</summary>
    public Iommufd.Iommufd Iommufd { get; }

    /// <summary>The IOAS mapped into.</summary>
    public uint IoasId { get; }

    /// <inheritdoc />
    public string Name => "iommufd";

    /// <inheritdoc />
    public ulong MinIommuPageSize => Iommufd.TryGetIoas(IoasId, out Ioas ioas) ? Math.Max(ioas.IovaAlignment, Ioas.PageSize) : Ioas.PageSize;

    /// <inheritdoc />
    public bool SupportsUnmapAll => true;

    /// <inheritdoc />
    public bool SupportsFullRange { get; }

    /// <inheritdoc />
    public Errno Map(ulong iova, ulong size, ulong vaddr, bool readOnly)
    {
        var cmd = new IommuIoasMap
        {
            Flags = IoasMapFlags.FixedIova | IoasMapFlags.Readable | (readOnly ? IoasMapFlags.None : IoasMapFlags.Writeable),
            IoasId = IoasId,
            UserVa = vaddr,
            Length = size,
            Iova = iova,
        };
        return Iommufd.IoasMap(ref cmd);
    }

    /// <inheritdoc />
    public Errno Unmap(ulong iova, ulong size)
    {
        var cmd = new IommuIoasUnmap { IoasId = IoasId, Iova = iova, Length = size };
        return Iommufd.IoasUnmap(ref cmd);
    }

    /// <inheritdoc />
    public Errno UnmapAll(out ulong iova, out ulong size)
    {
        iova = 0;
        size = ulong.MaxValue;
        return Unmap(0, ulong.MaxValue);
    }

    /// <inheritdoc />
    public Errno MapFullRange(IovaRange range, ulong vaddr, bool readOnly)
    {
        if (!SupportsFullRange || !Iommufd.TryGetIoas(IoasId, out Ioas ioas))
        {
            return !SupportsFullRange ? Errno.EOPNOTSUPP : Errno.ENOENT;
        }

        return ioas.Map(range, vaddr, readOnly ? Permissions.Read : Permissions.ReadWrite);
    }

    /// <inheritdoc />
    public Errno UnmapFullRange(IovaRange range)
    {
        if (!SupportsFullRange || !Iommufd.TryGetIoas(IoasId, out Ioas ioas))
        {
            return !SupportsFullRange ? Errno.EOPNOTSUPP : Errno.ENOENT;
        }

        IoasUnmapResult result = ioas.Unmap(range);
        return result.Errno;
    }
}
