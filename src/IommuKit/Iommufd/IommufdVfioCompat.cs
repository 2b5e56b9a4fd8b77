using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Vfio;

namespace IommuKit.Iommufd;

/// <summary>
/// The VFIO type1 / type1v2 container ioctls served by <c>/dev/iommu</c> on top of the compat IOAS
/// (<c>drivers/iommu/iommufd/vfio_compat.c</c>), with its documented differences from real type1
/// (linux-vfio-iommufd.md §2.10).
/// </summary>
/// <remarks>
/// <para>Differences from <see cref="VfioContainer"/>: MAP accepts only READ/WRITE (VADDR gives EINVAL); UNMAP accepts
/// only ALL (GET_DIRTY_BITMAP and VADDR give EINVAL); every call needs the compat IOAS (ENODEV without);
/// <c>CHECK_EXTENSION(UPDATE_VADDR)</c> = 0; GET_INFO reports DMA_AVAIL = U32_MAX (no mapping-count limit) and the
/// IOVA ranges, no MIGRATION cap; a v2 unmap that bisects a mapping is ENOENT (type1: EINVAL); an unmap covering
/// nothing succeeds with size 0 (upstream afb47765).</para>
/// <para>v1 (<see cref="VfioIommuType.Type1"/>) disables huge pages on the IOAS; while they are disabled a range unmap
/// first cuts the areas at <c>iova - 1</c> and <c>iova + size - 1</c> (§2.9), so v1 may unmap part of a mapping.</para>
/// <para>As <c>iommufd_vfio_unmap_dma</c> does, <see cref="VfioDmaUnmap.Size"/> is written back with the bytes
/// unmapped even when the unmap itself fails (after the argument and cut checks), for example a v2 bisect ENOENT.</para>
/// </remarks>
public sealed class IommufdVfioCompat
{
    /// <summary>The <c>dma_avail</c> the compat layer reports: U32_MAX (iommufd has no mapping-count limit).</summary>
    public const uint DmaAvail = uint.MaxValue;

    /// <summary>Creates the compat view of <paramref name="iommufd"/>.</summary>
    public IommufdVfioCompat(Iommufd iommufd)
    {
        ArgumentNullException.ThrowIfNull(iommufd);
        Iommufd = iommufd;
    }

    /// <summary>The iommufd context whose compat IOAS the calls act on.</summary>
    public Iommufd Iommufd { get; }

    /// <summary>The type chosen with <see cref="SetIommu"/>, if any.</summary>
    public VfioIommuType? IommuType { get; private set; }

    /// <summary>
    /// <c>VFIO_SET_IOMMU</c>: only TYPE1 and TYPE1v2 (EINVAL otherwise); ENODEV without a compat IOAS; TYPE1 disables
    /// huge pages on the IOAS (EINVAL when domains and areas already exist).
    /// </summary>
    public Errno SetIommu(VfioIommuType type)
    {
        if (type is not (VfioIommuType.Type1 or VfioIommuType.Type1v2))
        {
            return Errno.EINVAL;
        }

        if (Iommufd.CompatIoas is not Ioas ioas)
        {
            return Errno.ENODEV;
        }

        if (type == VfioIommuType.Type1)
        {
            Errno rc = ioas.SetHugePages(false);
            if (rc != Errno.Ok)
            {
                return rc;
            }
        }

        IommuType = type;
        return Errno.Ok;
    }

    /// <summary>
    /// <c>VFIO_CHECK_EXTENSION</c>: TYPE1, TYPE1v2 and UNMAP_ALL give 1; DMA_CC_IOMMU gives 1 with a compat IOAS (every
    /// modelled domain enforces coherency) and -ENODEV without; UPDATE_VADDR and anything else give 0.
    /// </summary>
    public int CheckExtension(VfioExtension extension) => extension switch
    {
        VfioExtension.Type1Iommu or VfioExtension.Type1v2Iommu or VfioExtension.UnmapAll => 1,
        VfioExtension.DmaCcIommu => Iommufd.CompatIoas is null ? -(int)Errno.ENODEV : 1,
        _ => 0,
    };

    /// <summary>
    /// <c>VFIO_IOMMU_MAP_DMA</c>: EINVAL for <c>argsz &lt; 32</c> or a flag other than READ/WRITE (VADDR included);
    /// ENODEV without a compat IOAS; then a FIXED_IOVA IOAS map of <c>[vaddr, vaddr + size)</c> at <c>iova</c> (§2.3:
    /// EOVERFLOW, EINVAL, EEXIST, EFAULT). No mapping-count limit.
    /// </summary>
    public Errno MapDma(in VfioDmaMap map)
    {
        if (map.Argsz < VfioDmaMap.MinArgsz || (map.Flags & ~(VfioDmaMapFlags.Read | VfioDmaMapFlags.Write)) != 0)
        {
            return Errno.EINVAL;
        }

        if (Iommufd.CompatIoas is not Ioas ioas)
        {
            return Errno.ENODEV;
        }

        bool write = (map.Flags & VfioDmaMapFlags.Write) != 0;
        Errno rc = Iommufd.AllocUserPages(map.Vaddr, map.Size, write, out Ioas.Slice slice);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        ulong iova = map.Iova;
        return ioas.MapPages([slice], map.Size, ref iova, allocate: false, (map.Flags & VfioDmaMapFlags.Read) != 0, write);
    }

    /// <summary><c>VFIO_IOMMU_UNMAP_DMA</c>; see <see cref="UnmapDma(ref VfioDmaUnmap, out UInt128)"/>.</summary>
    public Errno UnmapDma(ref VfioDmaUnmap unmap) => UnmapDma(ref unmap, out _);

    /// <summary>
    /// <c>VFIO_IOMMU_UNMAP_DMA</c>: EINVAL for <c>argsz &lt; 24</c> or a flag other than ALL; ENODEV without a compat IOAS;
    /// ALL needs <c>iova = size = 0</c> (EINVAL) and removes everything; otherwise (after the v1 cuts) the IOAS unmap
    /// rules: EINVAL for size 0, EOVERFLOW past 2^64-1, ENOENT for a bisected mapping; nothing covered is success, 0.
    /// </summary>
    /// <param name="unmap">In: iova, size, flags. Out: <c>size</c> = bytes unmapped modulo 2^64.</param>
    /// <param name="unmapped">The exact bytes unmapped, up to 2^64.</param>
    public Errno UnmapDma(ref VfioDmaUnmap unmap, out UInt128 unmapped)
    {
        unmapped = 0;
        if (unmap.Argsz < VfioDmaUnmap.MinArgsz || (unmap.Flags & ~VfioDmaUnmapFlags.All) != 0)
        {
            return Errno.EINVAL;
        }

        if (Iommufd.CompatIoas is not Ioas ioas)
        {
            return Errno.ENODEV;
        }

        Errno rc;
        if ((unmap.Flags & VfioDmaUnmapFlags.All) != 0)
        {
            if (unmap.Iova != 0 || unmap.Size != 0)
            {
                return Errno.EINVAL;
            }

            rc = ioas.UnmapRange(0, ulong.MaxValue, out unmapped);
        }
        else
        {
            if (ioas.DisableLargePages)
            {
                // Cut at the last byte and just below the first (skipped for iova 0); the kernel computes both with
                // wrapping u64 arithmetic, reproduced with unchecked.
                ulong last = unchecked(unmap.Iova + unmap.Size - 1);
                ulong before = unchecked(unmap.Iova - 1);
                rc = unmap.Iova != 0 ? ioas.CutIova([last, before]) : ioas.CutIova([last]);
                if (rc != Errno.Ok)
                {
                    return rc;
                }
            }

            if (unmap.Size == 0)
            {
                rc = Errno.EINVAL;
            }
            else if (!IovaRange.TryFromStartSize(unmap.Iova, unmap.Size, out IovaRange range))
            {
                rc = Errno.EOVERFLOW;
            }
            else
            {
                rc = ioas.UnmapRange(range.First, range.Last, out unmapped);
            }
        }

        unmap.Size = (ulong)unmapped; // copied back whatever rc is; the u64 wraps at 2^64
        return rc;
    }

    /// <summary>
    /// <c>VFIO_IOMMU_GET_INFO</c>: EINVAL for <c>argsz &lt; 16</c>, ENODEV without a compat IOAS. Flags PGSIZES|CAPS;
    /// <c>iova_pgsizes</c> is the AND of the domains' bitmaps with sub-page sizes folded into PAGE_SIZE, at least the
    /// IOAS alignment (<c>0xfffffffffffff000</c> with no domain). The chain is DMA_AVAIL (U32_MAX) then IOVA_RANGE (the
    /// holes of the reserved ranges); no MIGRATION cap. <c>argsz</c> is always set to the full size; the chain and
    /// <c>cap_offset</c> are written only when it fits.
    /// </summary>
    public Errno GetInfo(VfioIommuInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Argsz < VfioIommuInfo.MinArgsz)
        {
            return Errno.EINVAL;
        }

        if (Iommufd.CompatIoas is not Ioas ioas)
        {
            return Errno.ENODEV;
        }

        ulong pgsizes = ioas.PageSizeBitmap;
        const ulong PageMask = ~(Ioas.PageSize - 1);
        if ((pgsizes & ~PageMask) != 0)
        {
            pgsizes = (pgsizes & PageMask) | Ioas.PageSize;
        }

        pgsizes = Math.Max(pgsizes, ioas.IovaAlignment);
        IReadOnlyList<IovaRange> ranges = ioas.IovaRanges;
        uint dmaAvail = VfioIommuInfo.StructSize;
        uint iovaCap = dmaAvail + VfioInfoCapDmaAvail.StructSize;
        uint total = iovaCap + VfioInfoCapIovaRange.SizeFor(ranges.Count);

        uint argsz = info.Argsz;
        info.Flags = VfioIommuInfoFlags.Pgsizes | VfioIommuInfoFlags.Caps;
        info.IovaPgsizes = pgsizes;
        uint capOffset = 0;
        if (argsz >= total)
        {
            info.Caps =
            [
                new VfioInfoCapDmaAvail(dmaAvail, iovaCap, DmaAvail),
                new VfioInfoCapIovaRange(iovaCap, 0, ranges),
            ];
            capOffset = VfioIommuInfo.StructSize;
        }

        if (argsz >= VfioIommuInfo.CapOffsetEnd)
        {
            info.CapOffset = capOffset;
        }

        info.Argsz = total;
        return Errno.Ok;
    }
}
