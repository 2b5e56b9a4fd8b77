using System.Numerics;
using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Memory;

namespace IommuKit.Vfio;

/// <summary>
/// A Linux VFIO container with the type1 IOMMU backend (<c>drivers/vfio/vfio_iommu_type1.c</c>), reproducing its
/// ioctls rule for rule and errno for errno (v6.18-rc4 and later: inclusive ends, EOVERFLOW, mappings that end at
/// 2^64-1 work).
/// </summary>
/// <remarks>
/// <para>State (linux-vfio-iommufd.md §1.2): <c>dma_list</c>, one record per successful MAP, never merged
/// (a <see cref="RangeMap{T}"/>); <c>pgsize_bitmap</c>; the valid IOVA list (inclusive, empty = everything valid);
/// <c>dma_avail</c>; the dirty-tracking flag; and the attached IOMMU domains, all kept in sync with the records.</para>
/// <para>Invariants: with no domain nothing is pinned and no page table exists; with domains, every record's pages
/// are pinned once in <see cref="Host"/> (at the vaddr they had when pinned) and mapped in every domain.</para>
/// <para>Every call is all-or-nothing: on error every record, page-table entry, pin count and counter is as it was,
/// and no output field is written (the kernel copies results back only on success).</para>
/// <para>Kernel-version differences (pre-6.18-rc4 EINVAL instead of EOVERFLOW, the end-of-space bugs) are confined
/// to the rule helpers at the bottom of this class so a profile can switch them.</para>
/// </remarks>
public sealed partial class VfioContainer
{
    /// <summary>The default <c>dma_entry_limit</c> module parameter: 65535 mappings per container.</summary>
    public const uint DefaultDmaEntryLimit = ushort.MaxValue;

    /// <summary>The CPU page size (PAGE_SIZE).</summary>
    public const ulong PageSize = PageSizes.Size4K;

    /// <summary><c>PAGE_MASK</c>: every power of two from PAGE_SIZE up; the page-size bitmap with no domain.</summary>
    public const ulong PageMask = ~(PageSize - 1);

    /// <summary><c>DIRTY_BITMAP_PAGES_MAX</c>: the most pages one dirty bitmap may describe (INT_MAX).</summary>
    public const ulong MaxDirtyBitmapPages = int.MaxValue;

    /// <summary><c>DIRTY_BITMAP_SIZE_MAX</c>: the largest user bitmap in bytes, 256 MiB (INT_MAX bits rounded to u64 words).</summary>
    public const ulong MaxDirtyBitmapSize = (MaxDirtyBitmapPages + 63) / 64 * 8;

    // Unmap-all keeps the emptied slots and their record objects for reuse up to this many; past it they are dropped.
    private const int MaxRetainedRecordSlots = 4096;

    // dma_list: each entry's value is the index of its record in _records. An int (not the record object) so the
    // map's code is specialised for a value type rather than shared generic code over references.
    private readonly RangeMap<int> _dmas = new();
    private readonly List<RangeMapEntry<int>> _unmapTargets = []; // UnmapDma's working list, reused per call
    private DmaRecord[] _records = new DmaRecord[4]; // slots; those in _freeRecords hold a retired object or null
    private int[] _freeRecords = new int[4];
    private int _freeRecordCount;
    private int _recordSlots; // slots handed out so far: [0, _recordSlots)

    private List<IovaRange> _iovaList = [];
    private ulong _pgsizeBitmap = PageMask;
    private uint _dmaAvail;
    private int _vaddrInvalidCount;
    private bool _dirtyTracking;
    private ulong _dirtyPgsize;

    /// <summary>Creates a container (no IOMMU backend set yet) for a process whose memory is <paramref name="host"/>.</summary>
    /// <param name="host">The calling process's memory: vaddrs are checked and pinned there.</param>
    /// <param name="dmaEntryLimit">The <c>dma_entry_limit</c> module parameter.</param>
    /// <param name="rules">The kernel version's rules; <see cref="VfioKernelRules.Newest"/> when null.</param>
    public VfioContainer(HostMemory host, uint dmaEntryLimit = DefaultDmaEntryLimit, VfioKernelRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        Host = host;
        DmaEntryLimit = dmaEntryLimit;
        _dmaAvail = dmaEntryLimit;
        Rules = rules ?? VfioKernelRules.Newest;
    }

    /// <summary>The kernel version whose rules this container follows.</summary>
    public VfioKernelRules Rules { get; }

    /// <summary>The calling process's memory.</summary>
    public HostMemory Host { get; }

    /// <summary>The <c>dma_entry_limit</c> this container was created with.</summary>
    public uint DmaEntryLimit { get; }

    /// <summary>The backend set with <see cref="SetIommu"/>, or null before.</summary>
    public VfioIommuType? IommuType { get; private set; }

    /// <summary>True for the v2 backend.</summary>
    public bool IsV2 => IommuType == VfioIommuType.Type1v2;

    /// <summary>The current <c>pgsize_bitmap</c>.</summary>
    public ulong PgsizeBitmap => _pgsizeBitmap;

    /// <summary>The alignment unit: the smallest page of <see cref="PgsizeBitmap"/>.</summary>
    public ulong MinPageSize => _pgsizeBitmap & (~_pgsizeBitmap + 1);

    /// <summary>The current <c>dma_avail</c>: how many more mappings MAP accepts.</summary>
    public uint DmaAvail => _dmaAvail;

    /// <summary>The number of records whose vaddr is invalid (attach is refused with EBUSY while non-zero).</summary>
    public int VaddrInvalidCount => _vaddrInvalidCount;

    /// <summary>True between dirty-tracking START and STOP.</summary>
    public bool DirtyTracking => _dirtyTracking;

    /// <summary>
    /// True (the kernel's behaviour when an attached device cannot report dirty pages) to report every page of a
    /// mapping that is mapped in an IOMMU domain as dirty; false to report only pages passed to <see cref="MarkDirty"/>.
    /// </summary>
    public bool AllMappedPagesDirty { get; set; } = true;

    /// <summary>The valid IOVA ranges (<c>iova_list</c>): inclusive, ascending; empty means every IOVA is valid.</summary>
    public IReadOnlyList<IovaRange> ValidIovaRanges => _iovaList;

    /// <summary>The number of records (with the lost ones of <see cref="VfioKernelRules.LosesMappingsEndingAtTop"/>).</summary>
    public int MappingCount => _dmas.Count + _lostDmas.Count;

    /// <summary>The records, ascending by IOVA (lost ones, which may overlap, after the others at the same IOVA).</summary>
    public IReadOnlyList<VfioDma> Mappings
    {
        get
        {
            var list = new List<VfioDma>(MappingCount);
            foreach (RangeMapEntry<int> e in _dmas)
            {
                list.Add(_records[e.Value].ToView(e.Range));
            }

            if (_lostDmas.Count > 0)
            {
                // OrderBy is stable: lost mappings follow the others at the same IOVA, in map order.
                list = [.. list.Concat(_lostDmas.Select(l => l.Record.ToView(l.Iova))).OrderBy(d => d.Iova.First)];
            }

            return list;
        }
    }

    /// <summary><c>VFIO_SET_IOMMU</c>: chooses the backend. EINVAL when one is already set; ENODEV for an unknown type.</summary>
    public Errno SetIommu(VfioIommuType type)
    {
        if (IommuType is not null)
        {
            return Errno.EINVAL;
        }

        if (type is not (VfioIommuType.Type1 or VfioIommuType.Type1v2))
        {
            return Errno.ENODEV;
        }

        IommuType = type;
        return Errno.Ok;
    }

    /// <summary>
    /// <c>VFIO_CHECK_EXTENSION</c>: 1 when supported, 0 otherwise. Before <see cref="SetIommu"/> the type1 driver is
    /// asked without a container, so <see cref="VfioExtension.UpdateVaddr"/> and <see cref="VfioExtension.DmaCcIommu"/>
    /// read 0 until then.
    /// </summary>
    public int CheckExtension(VfioExtension extension) => extension switch
    {
        VfioExtension.Type1Iommu or VfioExtension.Type1v2Iommu or VfioExtension.UnmapAll => 1,
        VfioExtension.Type1NestingIommu => Rules.HasType1Nesting ? 1 : 0,
        // No emulated (mdev) devices are modelled, so UPDATE_VADDR is available once a container exists.
        VfioExtension.UpdateVaddr => IommuType is null ? 0 : 1,
        // vfio_domains_have_enforce_cache_coherency: 1 unless a domain does not enforce it (no domain: 1).
        VfioExtension.DmaCcIommu => IommuType is null ? 0 : (_domains.TrueForAll(d => d.EnforcesCacheCoherency) ? 1 : 0),
        _ => 0,
    };

    /// <summary><c>VFIO_IOMMU_MAP_DMA</c> (linux-vfio-iommufd.md §1.3, checks in the kernel's order).</summary>
    public Errno MapDma(in VfioDmaMap map)
    {
        if (IommuType is null)
        {
            return Errno.EINVAL; // §1.5: container ioctls without an IOMMU driver fall through to -EINVAL
        }

        // §1.3 step 1: argsz and unknown flags.
        const VfioDmaMapFlags known = VfioDmaMapFlags.Read | VfioDmaMapFlags.Write | VfioDmaMapFlags.Vaddr;
        if (map.Argsz < VfioDmaMap.MinArgsz || (map.Flags & ~known) != 0)
        {
            return Errno.EINVAL;
        }

        // Step 3: size 0.
        if (map.Size == 0)
        {
            return Errno.EINVAL;
        }

        // Step 4: iova + size - 1 and vaddr + size - 1 must not wrap.
        if (!TryLast(map.Iova, map.Size, out ulong iovaLast) || !TryLast(map.Vaddr, map.Size, out _))
        {
            return OverflowErrno;
        }

        // Step 5: protection.
        bool setVaddr = (map.Flags & VfioDmaMapFlags.Vaddr) != 0;
        bool read = (map.Flags & VfioDmaMapFlags.Read) != 0;
        bool write = (map.Flags & VfioDmaMapFlags.Write) != 0;
        if ((read || write) == setVaddr)
        {
            return Errno.EINVAL;
        }

        // Step 6: alignment to the smallest page.
        ulong pgmask = MinPageSize - 1;
        if (((map.Size | map.Iova | map.Vaddr) & pgmask) != 0)
        {
            return Errno.EINVAL;
        }

        IovaRange iova = IovaRange.FromFirstLast(map.Iova, iovaLast);

        // Step 7: overlap lookup (inclusive ends, so a mapping ending at 2^64-1 is found; pre-fix kernels find
        // nothing for a range ending there, and never see the lost mappings, which are not in _dmas).
        bool lost = LosesMapping(iovaLast);
        RangeMapEntry<int> hit = default;
        bool found = !lost && _dmas.TryGetFirstOverlapping(iova, out hit);
        if (setVaddr)
        {
            if (!found)
            {
                return Errno.ENOENT;
            }

            DmaRecord invalid = _records[hit.Value];
            if (!invalid.VaddrInvalid || hit.Range != iova)
            {
                return Errno.EINVAL;
            }

            invalid.Vaddr = map.Vaddr;
            invalid.VaddrInvalid = false;
            IndexVaddr(hit.Range, invalid.Vaddr);
            _vaddrInvalidCount--;
            return Errno.Ok;
        }

        if (found)
        {
            return Errno.EEXIST;
        }

        // Step 8: dma_avail.
        if (_dmaAvail == 0)
        {
            return Errno.ENOSPC;
        }

        // Step 9: inside one valid IOVA range.
        if (!IsIovaValid(iova))
        {
            return Errno.EINVAL;
        }

        // Step 10: pin and map (only with an IOMMU domain), all-or-nothing.
        DmaRecord record = lost ? new DmaRecord() : RentRecord();
        record.Reset(map.Vaddr, read, write);
        Errno pinned = PinAndMap(iova, record);
        if (pinned != Errno.Ok)
        {
            return pinned;
        }

        // Step 11: a dirty bitmap for the new record while tracking (EINVAL past INT_MAX pages).
        if (_dirtyTracking)
        {
            if (iova.Size / _dirtyPgsize > MaxDirtyBitmapPages)
            {
                UnmapAndUnpin(iova, record);
                return Errno.EINVAL;
            }

            record.Dirty = [];
        }

        if (lost)
        {
            _lostDmas.Add((iova, record));
        }
        else
        {
            _dmas.AddDisjoint(iova, TakeRecordSlot(record)); // step 7 found no overlap
            IndexVaddr(iova, record.Vaddr);
        }

        _dmaAvail--;
        return Errno.Ok;
    }

    /// <summary><c>VFIO_IOMMU_UNMAP_DMA</c> (linux-vfio-iommufd.md §1.4). On success <paramref name="unmap"/>.Size
    /// receives the bytes unmapped modulo 2^64.</summary>
    public Errno UnmapDma(ref VfioDmaUnmap unmap) => UnmapDma(ref unmap, out _);

    /// <summary>
    /// <c>VFIO_IOMMU_UNMAP_DMA</c>; <paramref name="unmapped"/> receives the exact byte total (up to 2^64), which the
    /// 64-bit UAPI field cannot hold when mappings covering the whole space are removed by unmap-all.
    /// </summary>
    public Errno UnmapDma(ref VfioDmaUnmap unmap, out UInt128 unmapped)
    {
        unmapped = 0;
        if (IommuType is null)
        {
            return Errno.EINVAL;
        }

        // §1.4 step 1.
        const VfioDmaUnmapFlags known = VfioDmaUnmapFlags.GetDirtyBitmap | VfioDmaUnmapFlags.All | VfioDmaUnmapFlags.Vaddr;
        VfioDmaUnmapFlags flags = unmap.Flags;
        if (unmap.Argsz < VfioDmaUnmap.MinArgsz || (flags & ~known) != 0)
        {
            return Errno.EINVAL;
        }

        bool getDirty = (flags & VfioDmaUnmapFlags.GetDirtyBitmap) != 0;
        bool all = (flags & VfioDmaUnmapFlags.All) != 0;
        bool invalidateVaddr = (flags & VfioDmaUnmapFlags.Vaddr) != 0;
        if (getDirty && (all || invalidateVaddr))
        {
            return Errno.EINVAL;
        }

        // Step 2: the bitmap struct and its size.
        VfioBitmap? bitmap = null;
        if (getDirty)
        {
            if (unmap.Argsz < VfioDmaUnmap.MinArgsz + VfioBitmap.StructSize)
            {
                return Errno.EINVAL;
            }

            if (unmap.Bitmap is null)
            {
                return Errno.EFAULT; // copy_from_user of the vfio_bitmap
            }

            bitmap = unmap.Bitmap;
            Errno bits = CheckUserBitmap(bitmap, unmap.Size);
            if (bits != Errno.Ok)
            {
                return bits;
            }
        }

        // Step 3 (EBUSY with emulated groups) cannot happen: none are modelled. Step 4 only on 32-bit hosts.
        ulong pgsize = MinPageSize;
        ulong pgmask = pgsize - 1;

        // Step 5.
        if ((unmap.Iova & pgmask) != 0)
        {
            return Errno.EINVAL;
        }

        // Step 6.
        IovaRange range;
        if (all)
        {
            if (unmap.Iova != 0 || unmap.Size != 0)
            {
                return Errno.EINVAL;
            }

            range = IovaRange.Full;
        }
        else
        {
            if (unmap.Size == 0 || (unmap.Size & pgmask) != 0)
            {
                return Errno.EINVAL;
            }

            if (!TryLast(unmap.Iova, unmap.Size, out ulong last))
            {
                return OverflowErrno;
            }

            range = IovaRange.FromFirstLast(unmap.Iova, last);
        }

        // Step 7.
        if (getDirty && (!_dirtyTracking || bitmap!.Pgsize != pgsize))
        {
            return Errno.EINVAL;
        }

        // Step 8: v2 never bisects (checked before anything is removed).
        if (IsV2 && !all && Bisects(range))
        {
            return Errno.EINVAL;
        }

        if (all && !invalidateVaddr)
        {
            // Unmap-all removes every record of dma_list (never the lost ones), as the loop below would, in bulk.
            unmapped = RemoveAllRecords();
            unmap.Size = (ulong)unmapped; // step 10
            return Errno.Ok;
        }

        // Step 9: the intersecting records, ascending (pre-fix kernels: none when the range ends at 2^64).
        List<RangeMapEntry<int>> targets = _unmapTargets;
        targets.Clear();
        if (targets.Capacity > 4096)
        {
            targets.Capacity = 16; // an unmap-all of many records grew it: give the memory back
        }

        if (all || !LosesMapping(range.Last))
        {
            foreach (RangeMapEntry<int> e in _dmas.Overlapping(range))
            {
                targets.Add(e);
            }
        }

        if (!IsV2 && targets.Count > 0 && targets[0].Range.First < range.First)
        {
            // v1: a request starting inside a mapping succeeds with zero bytes and touches nothing.
            targets.Clear();
        }

        if (invalidateVaddr)
        {
            // An already invalid vaddr fails the call; this call's marks are rolled back, so mark nothing.
            foreach (RangeMapEntry<int> t in targets)
            {
                if (_records[t.Value].VaddrInvalid)
                {
                    return Errno.EINVAL;
                }
            }

            foreach (RangeMapEntry<int> t in targets)
            {
                DmaRecord r = _records[t.Value];
                r.VaddrInvalid = true;
                UnindexVaddr(t.Range, r.Vaddr);
                _vaddrInvalidCount++;
                unmapped += t.Range.Size;
            }
        }
        else
        {
            foreach (RangeMapEntry<int> t in targets)
            {
                if (getDirty)
                {
                    CopyDirtyBits(bitmap!, range.First, t.Range, _records[t.Value], pgsize);
                }

                unmapped += t.Range.Size; // at most 2^64 in total: the records are disjoint
                RemoveRecord(t.Range, t.Value);
            }
        }

        // Step 10: written back only on success; the u64 field wraps at 2^64.
        unmap.Size = (ulong)unmapped;
        return Errno.Ok;
    }

    /// <summary><c>VFIO_IOMMU_GET_INFO</c> (linux-vfio-iommufd.md §1.5).</summary>
    public Errno GetInfo(VfioIommuInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (IommuType is null)
        {
            return Errno.EINVAL;
        }

        if (info.Argsz < VfioIommuInfo.MinArgsz)
        {
            return Errno.EINVAL;
        }

        // The chain in the kernel's build order: MIGRATION, DMA_AVAIL, then IOVA_RANGE (absent for an empty list).
        uint migration = VfioIommuInfo.StructSize;
        uint dmaAvail = migration + VfioInfoCapMigration.StructSize;
        uint iovaCap = dmaAvail + Rules.DmaAvailCapSize;
        bool hasIova = _iovaList.Count > 0;
        uint needed = iovaCap + (hasIova ? VfioInfoCapIovaRange.SizeFor(_iovaList.Count) : 0);

        uint argsz = info.Argsz;
        info.Flags = VfioIommuInfoFlags.Pgsizes | VfioIommuInfoFlags.Caps;
        info.IovaPgsizes = _pgsizeBitmap;
        uint capOffset = 0;
        if (argsz < needed)
        {
            info.Argsz = needed;
        }
        else
        {
            var caps = new List<VfioInfoCap>
            {
                new VfioInfoCapMigration(migration, dmaAvail, 0, MinPageSize, MaxDirtyBitmapSize),
                new VfioInfoCapDmaAvail(dmaAvail, hasIova ? iovaCap : 0, _dmaAvail),
            };
            if (hasIova)
            {
                caps.Add(new VfioInfoCapIovaRange(iovaCap, 0, _iovaList.ToArray()));
            }

            info.Caps = caps;
            capOffset = VfioIommuInfo.StructSize;
        }

        if (argsz >= VfioIommuInfo.CapOffsetEnd)
        {
            info.CapOffset = capOffset;
        }

        return Errno.Ok;
    }

    /// <summary><c>VFIO_IOMMU_DIRTY_PAGES</c>: START / STOP / GET_BITMAP (linux-vfio-iommufd.md §1.5; v2 only).</summary>
    public Errno DirtyPages(ref VfioDirtyPages dirty)
    {
        if (IommuType is null)
        {
            return Errno.EINVAL;
        }

        if (!IsV2)
        {
            return Errno.EACCES;
        }

        const VfioDirtyPagesFlags known = VfioDirtyPagesFlags.Start | VfioDirtyPagesFlags.Stop | VfioDirtyPagesFlags.GetBitmap;
        if (dirty.Argsz < VfioDirtyPages.MinArgsz || (dirty.Flags & ~known) != 0)
        {
            return Errno.EINVAL;
        }

        // Exactly one flag.
        if (BitOperations.PopCount((uint)dirty.Flags) != 1)
        {
            return Errno.EINVAL;
        }

        ulong pgsize = MinPageSize;
        if (dirty.Flags == VfioDirtyPagesFlags.Start)
        {
            if (!_dirtyTracking)
            {
                // Every record needs a bitmap of at most INT_MAX pages; all or none are allocated.
                foreach (RangeMapEntry<int> e in _dmas)
                {
                    if (e.Range.Size / pgsize > MaxDirtyBitmapPages)
                    {
                        return Errno.EINVAL;
                    }
                }

                foreach (RangeMapEntry<int> e in _dmas)
                {
                    _records[e.Value].Dirty = [];
                }

                _dirtyTracking = true;
                _dirtyPgsize = pgsize;
            }

            return Errno.Ok;
        }

        if (dirty.Flags == VfioDirtyPagesFlags.Stop)
        {
            if (_dirtyTracking)
            {
                _dirtyTracking = false;
                foreach (RangeMapEntry<int> e in _dmas)
                {
                    _records[e.Value].Dirty = null;
                }
            }

            return Errno.Ok;
        }

        // GET_BITMAP.
        if (dirty.Argsz - VfioDirtyPages.MinArgsz < VfioDirtyPages.GetStructSize)
        {
            return Errno.EINVAL;
        }

        if (dirty.Bitmap is null)
        {
            return Errno.EFAULT; // copy_from_user of the range struct
        }

        VfioBitmap bitmap = dirty.Bitmap;
        if (dirty.Size != 0 && !TryLast(dirty.Iova, dirty.Size, out _))
        {
            return OverflowErrno;
        }

        Errno bits = CheckUserBitmap(bitmap, dirty.Size);
        if (bits != Errno.Ok)
        {
            return bits;
        }

        if (bitmap.Pgsize != pgsize || (dirty.Iova & (pgsize - 1)) != 0 || dirty.Size == 0 || (dirty.Size & (pgsize - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        if (!_dirtyTracking)
        {
            return Errno.EINVAL;
        }

        IovaRange range = IovaRange.FromFirstLast(dirty.Iova, dirty.Iova + (dirty.Size - 1)); // checked above: no wrap
        if (Bisects(range))
        {
            return Errno.EINVAL;
        }

        foreach (RangeMapEntry<int> e in _dmas.Overlapping(range).ToList())
        {
            CopyDirtyBits(bitmap, range.First, e.Range, _records[e.Value], pgsize);
        }

        return Errno.Ok;
    }

    /// <summary>
    /// Records that a device wrote <c>[iova, iova + length)</c> (called by the DMA layer). Only pages of mapped
    /// records count, and only while dirty tracking runs.
    /// </summary>
    public void MarkDirty(ulong iova, ulong length)
    {
        if (!_dirtyTracking || length == 0)
        {
            return;
        }

        // Clamp the end at 2^64-1: a write cannot pass the top of the space.
        ulong last = length - 1 > ulong.MaxValue - iova ? ulong.MaxValue : iova + (length - 1);
        IovaRange range = IovaRange.FromFirstLast(iova, last);
        foreach (RangeMapEntry<int> e in _dmas.Overlapping(range))
        {
            HashSet<ulong>? dirty = _records[e.Value].Dirty;
            if (dirty is null || !e.Range.TryIntersect(range, out IovaRange hit))
            {
                continue;
            }

            ulong firstPage = (hit.First - e.Range.First) / _dirtyPgsize;
            ulong lastPage = (hit.Last - e.Range.First) / _dirtyPgsize;
            for (ulong p = firstPage; p <= lastPage; p++)
            {
                dirty.Add(p);
            }
        }
    }

    private bool IsIovaValid(IovaRange iova)
    {
        if (_iovaList.Count == 0)
        {
            return true;
        }

        foreach (IovaRange r in _iovaList)
        {
            if (r.Contains(iova))
            {
                return true;
            }
        }

        return false;
    }

    // §1.4 step 8 (and the dirty GET_BITMAP rule): a record containing range.First must start there, and one
    // containing range.Last must end there. Inclusive ends: a record ending at 2^64-1 is compared correctly.
    private bool Bisects(IovaRange range) =>
        (_dmas.TryFind(range.First, out RangeMapEntry<int> low) && low.Range.First != range.First) ||
        (_dmas.TryFind(range.Last, out RangeMapEntry<int> high) && high.Range.Last != range.Last);

    // verify_bitmap_size plus access_ok (§1.4 step 2): npages = size >> ffs(pgsize).
    private static Errno CheckUserBitmap(VfioBitmap bitmap, ulong size)
    {
        if (bitmap.Data is null)
        {
            return Errno.EINVAL; // !access_ok(data, size)
        }

        if (bitmap.Size > (ulong)bitmap.Data.LongLength)
        {
            ThrowHelper.ThrowArgument(nameof(bitmap),
                $"bitmap claims {ThrowHelper.Hex(bitmap.Size)} bytes but its buffer holds {ThrowHelper.Hex((ulong)bitmap.Data.LongLength)}");
        }

        if (bitmap.Pgsize == 0)
        {
            return Errno.EINVAL; // __ffs(0) is undefined; the later pgsize check rejects it anyway
        }

        ulong npages = size >> BitOperations.TrailingZeroCount(bitmap.Pgsize);
        if (npages == 0 || bitmap.Size == 0 || bitmap.Size > MaxDirtyBitmapSize)
        {
            return Errno.EINVAL;
        }

        // ALIGN(npages, 64) / 8 bytes, in 128 bits so npages near 2^64 cannot wrap.
        UInt128 needed = ((UInt128)npages + 63) / 64 * 8;
        return bitmap.Size < needed ? Errno.EINVAL : Errno.Ok;
    }

    // update_user_bitmap: the record's bits land at bit offset (record.First - baseIova) / pgsize. Whole u64 words are
    // written from that offset to the end of the word holding the record's last bit; bits below the offset in the first
    // word are kept. The record's bitmap is then cleared.
    private void CopyDirtyBits(VfioBitmap bitmap, ulong baseIova, IovaRange record, DmaRecord dma, ulong pgsize)
    {
        byte[] data = bitmap.Data!;
        ulong offset = (record.First - baseIova) / pgsize;
        ulong nbits = (ulong)(record.Size / pgsize); // at most INT_MAX while tracking
        ulong endBit = ((offset + nbits + 63) / 64) * 64; // exclusive, word aligned; within the verified bitmap
        SetBits(data, offset, endBit - offset, false);
        if (AllMappedPagesDirty && dma.PinnedVaddr is not null)
        {
            SetBits(data, offset, nbits, true);
        }
        else if (dma.Dirty is not null)
        {
            foreach (ulong p in dma.Dirty)
            {
                SetBits(data, offset + p, 1, true);
            }
        }

        dma.Dirty?.Clear();
    }

    private static void SetBits(byte[] data, ulong first, ulong count, bool value)
    {
        ulong bit = first;
        ulong end = first + count;
        while (bit < end && (bit & 7) != 0)
        {
            SetBit(data, bit++, value);
        }

        while (end - bit >= 8)
        {
            data[bit / 8] = value ? (byte)0xff : (byte)0;
            bit += 8;
        }

        while (bit < end)
        {
            SetBit(data, bit++, value);
        }
    }

    private static void SetBit(byte[] data, ulong bit, bool value)
    {
        byte mask = (byte)(1 << (int)(bit & 7));
        if (value)
        {
            data[bit / 8] |= mask;
        }
        else
        {
            data[bit / 8] &= (byte)~mask;
        }
    }

    private void RemoveRecord(IovaRange iova, int slot)
    {
        DmaRecord record = _records[slot];
        UnmapAndUnpin(iova, record);
        _dmas.Remove(iova);
        _dmaAvail++;
        if (record.VaddrInvalid)
        {
            _vaddrInvalidCount--;
        }
        else
        {
            UnindexVaddr(iova, record.Vaddr);
        }

        ReleaseRecordSlot(slot);
    }

    // Unmap-all: what RemoveRecord does for every record of _dmas, ascending, with the bookkeeping done wholesale.
    // Each record is unmapped and flushed from every domain as before (so the domains' tables, IOTLBs and generations
    // end exactly as they would), but the record map and the vaddr index are cleared at once instead of searched
    // and shifted per record, and pins are dropped one run of adjacent vaddr ranges at a time (a run's unpin is the
    // sum of its parts' and happens after every page of it is unmapped and flushed). Lost records stay. O(P) in the
    // number of records, never in the span; allocation-free when warm. Returns the bytes unmapped.
    private UInt128 RemoveAllRecords()
    {
        int count = _dmas.Count;
        if (count == 0)
        {
            return 0;
        }

        UInt128 unmapped = 0;
        int invalid = 0;
        bool haveRun = false;
        ulong runFirst = 0;
        ulong runLast = 0;
        for (int i = 0; i < _domains.Count; i++)
        {
            _domains[i].BeginBatch();
        }

        try
        {
            foreach (RangeMapEntry<int> e in _dmas)
            {
                DmaRecord record = _records[e.Value];
                unmapped += e.Range.Size; // at most 2^64 in total: the records are disjoint
                if (record.VaddrInvalid)
                {
                    invalid++;
                }

                if (record.PinnedVaddr is ulong va)
                {
                    for (int i = 0; i < _domains.Count; i++)
                    {
                        _domains[i].UnmapAndFlush(e.Range);
                    }

                    record.PinnedVaddr = null;

                    // The pinned range [va, va + size - 1] was checked not to wrap by MAP (step 4).
                    ulong vaLast = va + (ulong)(e.Range.Size - 1);
                    if (haveRun && runLast != ulong.MaxValue && va == runLast + 1)
                    {
                        runLast = vaLast;
                    }
                    else
                    {
                        if (haveRun)
                        {
                            Host.Unpin(IovaRange.FromFirstLast(runFirst, runLast));
                        }

                        haveRun = true;
                        runFirst = va;
                        runLast = vaLast;
                    }
                }

                ReleaseRecordSlot(e.Value);
            }

            if (haveRun)
            {
                Host.Unpin(IovaRange.FromFirstLast(runFirst, runLast));
            }
        }
        finally
        {
            for (int i = _domains.Count - 1; i >= 0; i--)
            {
                _domains[i].EndBatch();
            }
        }

        // Every record left _dmas: the vaddr index held exactly the valid ones among them (lost records are never
        // indexed), so it empties too.
        _dmas.Clear();
        _byVaddr.Clear();
        _dmaAvail += (uint)count; // each record took one slot of dma_avail, which never passes the limit
        _vaddrInvalidCount -= invalid;
        if (_recordSlots > MaxRetainedRecordSlots)
        {
            // No slot is in use now (lost records have none): give back the record objects of a large map.
            _records = new DmaRecord[4];
            _freeRecords = new int[4];
            _freeRecordCount = 0;
            _recordSlots = 0;
        }

        return unmapped;
    }

    // ---- Record slots: _dmas maps each range to an index into _records; freed slots are reused, and so are the
    // record objects in them (a warm MAP/UNMAP pair allocates nothing). Lost records (LosesMappingsEndingAtTop) never
    // take a slot: they are never removed.

    // A record object to fill for a new mapping: the retired one in the next free slot, or a new one. Nothing is
    // claimed until TakeRecordSlot, so a MAP that fails after this leaves the slots as they were.
    private DmaRecord RentRecord() =>
        _freeRecordCount > 0 ? _records[_freeRecords[_freeRecordCount - 1]] ??= new DmaRecord() : new DmaRecord();

    // Claims a slot for record (the object RentRecord returned) and returns its index.
    private int TakeRecordSlot(DmaRecord record)
    {
        int slot;
        if (_freeRecordCount > 0)
        {
            slot = _freeRecords[--_freeRecordCount];
        }
        else
        {
            if (_recordSlots == _records.Length)
            {
                Array.Resize(ref _records, _records.Length * 2);
            }

            slot = _recordSlots++;
        }

        _records[slot] = record;
        return slot;
    }

    // Gives slot back; its record object stays there to be reused (its Dirty set is dropped now).
    private void ReleaseRecordSlot(int slot)
    {
        _records[slot].Dirty = null;
        if (_freeRecordCount == _freeRecords.Length)
        {
            Array.Resize(ref _freeRecords, _freeRecords.Length * 2);
        }

        _freeRecords[_freeRecordCount++] = slot;
    }

    // ---- Kernel-version rules (newest: v6.18-rc4+). A profile for older kernels switches these. ----

    // §1.3 step 4 / §1.4 step 6: wrap of iova + size - 1 is EOVERFLOW (pre-fix kernels: EINVAL).
    private Errno OverflowErrno => Rules.WrapErrno;

    // The inclusive last byte of [start, start + size); false when it passes 2^64-1. size must be non-zero.
    private static bool TryLast(ulong start, ulong size, out ulong last)
    {
        ulong span = size - 1;
        if (span > ulong.MaxValue - start)
        {
            last = 0;
            return false;
        }

        last = start + span; // span <= 2^64-1 - start, so no overflow
        return true;
    }

    private sealed class DmaRecord
    {
        public ulong Vaddr { get; set; }

        public bool Read { get; private set; }

        public bool Write { get; private set; }

        public bool VaddrInvalid { get; set; }

        public ulong? PinnedVaddr { get; set; }

        public HashSet<ulong>? Dirty { get; set; }

        // A fresh record's state: vaddr valid, not pinned, no dirty bitmap.
        public void Reset(ulong vaddr, bool read, bool write)
        {
            Vaddr = vaddr;
            Read = read;
            Write = write;
            VaddrInvalid = false;
            PinnedVaddr = null;
            Dirty = null;
        }

        public VfioDma ToView(IovaRange iova) => new(iova, Vaddr, Read, Write, VaddrInvalid, PinnedVaddr);
    }
}
