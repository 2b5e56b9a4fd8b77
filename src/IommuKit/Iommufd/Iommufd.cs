using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;

namespace IommuKit.Iommufd;

/// <summary>
/// An open <c>/dev/iommu</c>: objects with ids (IOAS, attached domains) and the ioctls of linux-vfio-iommufd.md §2,
/// newest kernel rules, errno for errno. Each ioctl takes its UAPI struct by reference and writes its outputs back only
/// on success (IOVA_RANGES also on EMSGSIZE, as the kernel does).
/// </summary>
/// <remarks>
/// <para>Generic rules (§2.1): <c>size</c> below the mandatory fields gives EINVAL, a larger struct with non-zero
/// trailing bytes E2BIG; unknown flags or non-zero <c>__reserved</c> EOPNOTSUPP; a missing id ENOENT.</para>
/// <para>Object ids start at 1 and the lowest free id is reused, as the kernel's <c>xa_alloc</c> with
/// <c>XA_FLAGS_ALLOC1</c>.</para>
/// </remarks>
public sealed class Iommufd
{
    private readonly SortedDictionary<uint, object> _objects = [];
    private readonly HostMemory? _memory;
    private readonly bool _transparentHugePages;

    /// <summary>Creates an iommufd context.</summary>
    /// <param name="memory">The calling process's memory (needed only to attach domains: pinning is lazy).</param>
    /// <param name="transparentHugePages">Whether the modelled kernel has THP: caps the automatic-allocation alignment at
    /// 2 MiB (true) or PAGE_SIZE (false) (§2.4).</param>
    public Iommufd(HostMemory? memory = null, bool transparentHugePages = true)
    {
        _memory = memory;
        _transparentHugePages = transparentHugePages;
    }

    /// <summary>The host memory pinned by attached domains, if any.</summary>
    public HostMemory? Memory => _memory;

    /// <summary>The IOAS the VFIO compatibility ioctls act on (<c>ictx->vfio_ioas</c>), if any.</summary>
    public Ioas? CompatIoas { get; private set; }

    /// <summary>
    /// <c>iommufd_rlimit_mode</c>: 0 = per-user accounting (default), 1 = per-mm. Set by
    /// <see cref="Option(ref IommuOption)"/>; accounting itself is not modelled.
    /// </summary>
    public ulong RlimitMode { get; private set; }

    /// <summary>Looks up an IOAS by id.</summary>
    public bool TryGetIoas(uint id, out Ioas ioas)
    {
        if (_objects.TryGetValue(id, out object? obj) && obj is Ioas found)
        {
            ioas = found;
            return true;
        }

        ioas = null!;
        return false;
    }

    /// <summary>Looks up an IOAS by id; throws when there is none.</summary>
    /// <exception cref="KeyNotFoundException">No IOAS has this id.</exception>
    public Ioas GetIoas(uint id) =>
        TryGetIoas(id, out Ioas ioas) ? ioas : throw new KeyNotFoundException($"no IOAS with id {id}");

    /// <summary>Allocates an IOAS and returns it (a convenience over <see cref="IoasAlloc"/>).</summary>
    public Ioas CreateIoas()
    {
        var cmd = new IommuIoasAlloc();
        IoasAlloc(ref cmd);
        return GetIoas(cmd.OutIoasId);
    }

    /// <summary><c>IOMMU_IOAS_ALLOC</c>: flags must be 0 (EOPNOTSUPP).</summary>
    public Errno IoasAlloc(ref IommuIoasAlloc cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuIoasAlloc.MinSize, IommuIoasAlloc.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (cmd.Flags != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        uint id = NextId();
        _objects.Add(id, new Ioas(id, _memory, _transparentHugePages));
        cmd.OutIoasId = id;
        return Errno.Ok;
    }

    /// <summary><c>IOMMU_DESTROY</c>: ENOENT for a bad id, EBUSY for an IOAS a domain is attached to.</summary>
    public Errno Destroy(ref IommuDestroy cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuDestroy.MinSize, IommuDestroy.KernelSize, cmd.TrailingNonZero);
        return rc != Errno.Ok ? rc : Destroy(cmd.Id);
    }

    /// <summary>Destroys object <paramref name="id"/>: ENOENT for a bad id, EBUSY for an IOAS in use by a domain.</summary>
    public Errno Destroy(uint id)
    {
        if (!_objects.TryGetValue(id, out object? obj))
        {
            return Errno.ENOENT;
        }

        switch (obj)
        {
            case Ioas ioas:
                if (ioas.DomainCount > 0)
                {
                    return Errno.EBUSY;
                }

                ioas.UnmapAll();
                if (ReferenceEquals(CompatIoas, ioas))
                {
                    CompatIoas = null;
                }

                break;
            case IommufdHwpt hwpt:
                hwpt.Ioas.DetachDomain(hwpt);
                break;
        }

        _objects.Remove(id);
        return Errno.Ok;
    }

    /// <summary>
    /// <c>IOMMU_IOAS_MAP</c> (§2.3): maps <c>[user_va, user_va + length)</c> at a fixed or allocated IOVA; writes
    /// <see cref="IommuIoasMap.Iova"/> back on success.
    /// </summary>
    /// <remarks>Order: EOPNOTSUPP (flags, __reserved); EOVERFLOW (<c>iova</c> or <c>length</c> ≥ U64_MAX); EINVAL (no
    /// access); ENOENT (ioas_id); EOVERFLOW (<c>user_va + length</c> passes 2^64); EINVAL (<c>length</c> 0 or above
    /// U64_MAX - PAGE_SIZE, misaligned length); then FIXED_IOVA's EINVAL/EOVERFLOW/EINVAL(reserved)/EEXIST or the
    /// allocator's EOVERFLOW/EINVAL/ENOSPC; EINVAL for a misaligned sub-page offset; EFAULT when pinning fails.</remarks>
    public Errno IoasMap(ref IommuIoasMap cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuIoasMap.MinSize, IommuIoasMap.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if ((cmd.Flags & ~AllMapFlags) != 0 || cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (cmd.Iova >= ulong.MaxValue || cmd.Length >= ulong.MaxValue)
        {
            return Errno.EOVERFLOW;
        }

        if ((cmd.Flags & (IoasMapFlags.Readable | IoasMapFlags.Writeable)) == 0)
        {
            return Errno.EINVAL;
        }

        if (!TryGetIoas(cmd.IoasId, out Ioas ioas))
        {
            return Errno.ENOENT;
        }

        rc = AllocUserPages(cmd.UserVa, cmd.Length, (cmd.Flags & IoasMapFlags.Writeable) != 0, out Ioas.Slice slice);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        ulong iova = cmd.Iova;
        rc = ioas.MapPages([slice], cmd.Length, ref iova, (cmd.Flags & IoasMapFlags.FixedIova) == 0,
            (cmd.Flags & IoasMapFlags.Readable) != 0, (cmd.Flags & IoasMapFlags.Writeable) != 0);
        if (rc == Errno.Ok)
        {
            cmd.Iova = iova;
        }

        return rc;
    }

    /// <summary>
    /// <c>IOMMU_IOAS_UNMAP</c> (§2.5). <c>iova = 0, length = U64_MAX</c> unmaps everything (success even when empty),
    /// tested before the overflow checks. Otherwise EOVERFLOW (<c>iova</c> or <c>length</c> ≥ U64_MAX), EINVAL
    /// (length 0), EOVERFLOW (end past 2^64-1), ENOENT (an area crosses an end, or nothing is covered).
    /// </summary>
    /// <remarks>
    /// Writes <see cref="IommuIoasUnmap.Length"/> back on success as a u64: a total of 2^64 bytes (possible with no
    /// domain) shows as 0, as in the kernel. The partial-unmap caveat of §2.5 is reproduced: areas below one that
    /// sticks out past the end are already gone when ENOENT is returned, and <c>length</c> is not written back.
    /// </remarks>
    public Errno IoasUnmap(ref IommuIoasUnmap cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuIoasUnmap.MinSize, IommuIoasUnmap.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (!TryGetIoas(cmd.IoasId, out Ioas ioas))
        {
            return Errno.ENOENT;
        }

        UInt128 unmapped;
        if (cmd.Iova == 0 && cmd.Length == ulong.MaxValue)
        {
            rc = ioas.UnmapRange(0, ulong.MaxValue, out unmapped);
        }
        else
        {
            if (cmd.Iova >= ulong.MaxValue || cmd.Length >= ulong.MaxValue)
            {
                return Errno.EOVERFLOW;
            }

            if (cmd.Length == 0)
            {
                return Errno.EINVAL;
            }

            if (!IovaRange.TryFromStartSize(cmd.Iova, cmd.Length, out IovaRange range))
            {
                return Errno.EOVERFLOW;
            }

            rc = ioas.UnmapRange(range.First, range.Last, out unmapped);
            if (rc == Errno.Ok && unmapped == 0)
            {
                rc = Errno.ENOENT; // afb47765: an empty range is ENOENT for the native ioctl
            }
        }

        if (rc == Errno.Ok)
        {
            cmd.Length = (ulong)unmapped; // u64 in the UAPI: 2^64 wraps to 0
        }

        return rc;
    }

    /// <summary>
    /// <c>IOMMU_IOAS_COPY</c> (§2.8): maps the pages behind <c>[src_iova, src_iova + length)</c> of the source IOAS into
    /// the destination, one area per source piece, sharing the pins. Writes <see cref="IommuIoasCopy.DstIova"/> on success.
    /// </summary>
    /// <remarks>Order: EOPNOTSUPP (flags); EOVERFLOW (length, src_iova, dst_iova ≥ U64_MAX); EINVAL (no access); ENOENT
    /// (src id); EINVAL (length 0); EOVERFLOW (source end); ENOENT (a hole in the source); ENOENT (dst id); then as MAP,
    /// plus EPERM for a writeable copy of read-only pages.</remarks>
    public Errno IoasCopy(ref IommuIoasCopy cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuIoasCopy.MinSize, IommuIoasCopy.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if ((cmd.Flags & ~AllMapFlags) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (cmd.Length >= ulong.MaxValue || cmd.SrcIova >= ulong.MaxValue || cmd.DstIova >= ulong.MaxValue)
        {
            return Errno.EOVERFLOW;
        }

        if ((cmd.Flags & (IoasMapFlags.Readable | IoasMapFlags.Writeable)) == 0)
        {
            return Errno.EINVAL;
        }

        if (!TryGetIoas(cmd.SrcIoasId, out Ioas src))
        {
            return Errno.ENOENT;
        }

        rc = src.GetPages(cmd.SrcIova, cmd.Length, out List<Ioas.Slice> slices);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (!TryGetIoas(cmd.DstIoasId, out Ioas dst))
        {
            return Errno.ENOENT;
        }

        ulong iova = cmd.DstIova;
        rc = dst.MapPages(slices, cmd.Length, ref iova, (cmd.Flags & IoasMapFlags.FixedIova) == 0,
            (cmd.Flags & IoasMapFlags.Readable) != 0, (cmd.Flags & IoasMapFlags.Writeable) != 0);
        if (rc == Errno.Ok)
        {
            cmd.DstIova = iova;
        }

        return rc;
    }

    /// <summary>
    /// <c>IOMMU_IOAS_IOVA_RANGES</c> (§2.6): the holes of the reserved ranges over <c>[0, U64_MAX]</c> and the IOVA
    /// alignment. <see cref="IommuIoasIovaRanges.NumIovas"/> is the capacity in and the total out; when the capacity is
    /// too small the first <c>capacity</c> entries are written, the outputs too, and the result is EMSGSIZE.
    /// </summary>
    public Errno IoasIovaRanges(ref IommuIoasIovaRanges cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuIoasIovaRanges.MinSize, IommuIoasIovaRanges.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (!TryGetIoas(cmd.IoasId, out Ioas ioas))
        {
            return Errno.ENOENT;
        }

        uint capacity = cmd.NumIovas;
        IReadOnlyList<IovaRange> holes = ioas.IovaRanges;
        for (int i = 0; i < holes.Count && i < capacity; i++)
        {
            if (cmd.AllowedIovas is null || i >= cmd.AllowedIovas.Length)
            {
                return Errno.EFAULT; // copy_to_user past the user array
            }

            cmd.AllowedIovas[i] = new IommuIovaRange(holes[i].First, holes[i].Last);
        }

        cmd.NumIovas = (uint)holes.Count;
        cmd.OutIovaAlignment = ioas.IovaAlignment;
        return holes.Count > capacity ? Errno.EMSGSIZE : Errno.Ok;
    }

    /// <summary>
    /// <c>IOMMU_IOAS_ALLOW_IOVAS</c> (§2.7): replaces the allowed list atomically (<c>num_iovas = 0</c> clears it).
    /// EINVAL for <c>start ≥ last</c> or an overlap within the call; EADDRINUSE (old list kept) when a range
    /// intersects a reserved range.
    /// </summary>
    public Errno IoasAllowIovas(ref IommuIoasAllowIovas cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuIoasAllowIovas.MinSize, IommuIoasAllowIovas.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (!TryGetIoas(cmd.IoasId, out Ioas ioas))
        {
            return Errno.ENOENT;
        }

        var allowed = new RangeMap<bool>();
        for (uint i = 0; i < cmd.NumIovas; i++)
        {
            if (cmd.AllowedIovas is null || i >= cmd.AllowedIovas.Length)
            {
                return Errno.EFAULT; // copy_from_user past the user array
            }

            IommuIovaRange r = cmd.AllowedIovas[i];
            if (r.Start >= r.Last)
            {
                return Errno.EINVAL;
            }

            if (!allowed.TryAdd(IovaRange.FromFirstLast(r.Start, r.Last), true))
            {
                return Errno.EINVAL;
            }
        }

        return ioas.SetAllowed(allowed);
    }

    /// <summary>
    /// <c>IOMMU_OPTION</c> (§2.10): <see cref="IommuOption.RlimitMode"/> (global, object_id 0, SET EBUSY while objects
    /// exist, values 0/1) and <see cref="IommuOption.HugePages"/> (per IOAS, values 0/1; disabling gives EINVAL when
    /// domains and areas exist, EADDRINUSE for a misaligned area). <see cref="IommuOption.Val64"/> is written on success.
    /// </summary>
    /// <remarks>The caller is assumed to have CAP_SYS_RESOURCE (the kernel's EPERM is not modelled).</remarks>
    public Errno Option(ref IommuOption cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuOption.MinSize, IommuOption.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        switch (cmd.OptionId)
        {
            case IommuOption.RlimitMode:
                if (cmd.ObjectId != 0)
                {
                    return Errno.EOPNOTSUPP;
                }

                if (cmd.Op == IommuOption.OpGet)
                {
                    cmd.Val64 = RlimitMode;
                    return Errno.Ok;
                }

                if (cmd.Op == IommuOption.OpSet)
                {
                    if (_objects.Count > 0)
                    {
                        return Errno.EBUSY;
                    }

                    if (cmd.Val64 > 1)
                    {
                        return Errno.EINVAL;
                    }

                    RlimitMode = cmd.Val64;
                    return Errno.Ok;
                }

                return Errno.EOPNOTSUPP;

            case IommuOption.HugePages:
                if (!TryGetIoas(cmd.ObjectId, out Ioas ioas))
                {
                    return Errno.ENOENT;
                }

                if (cmd.Op == IommuOption.OpGet)
                {
                    cmd.Val64 = ioas.HugePages ? 1UL : 0UL;
                    return Errno.Ok;
                }

                if (cmd.Op == IommuOption.OpSet)
                {
                    return cmd.Val64 switch
                    {
                        0 => ioas.SetHugePages(false),
                        1 => ioas.SetHugePages(true),
                        _ => Errno.EINVAL,
                    };
                }

                return Errno.EOPNOTSUPP;

            default:
                return Errno.EOPNOTSUPP;
        }
    }

    /// <summary>
    /// <c>IOMMU_VFIO_IOAS</c>: GET (ENODEV when there is no compat IOAS) writes the id; SET (ENOENT for a bad id) and
    /// CLEAR choose the IOAS the VFIO compatibility ioctls act on.
    /// </summary>
    public Errno VfioIoas(ref IommuVfioIoas cmd)
    {
        Errno rc = IommufdCommand.CheckSize(cmd.Size, IommuVfioIoas.MinSize, IommuVfioIoas.KernelSize, cmd.TrailingNonZero);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        switch (cmd.Op)
        {
            case IommuVfioIoas.OpGet:
                if (CompatIoas is null)
                {
                    return Errno.ENODEV;
                }

                cmd.IoasId = CompatIoas.Id;
                return Errno.Ok;
            case IommuVfioIoas.OpSet:
                if (!TryGetIoas(cmd.IoasId, out Ioas ioas))
                {
                    return Errno.ENOENT;
                }

                CompatIoas = ioas;
                return Errno.Ok;
            case IommuVfioIoas.OpClear:
                CompatIoas = null;
                return Errno.Ok;
            default:
                return Errno.EOPNOTSUPP;
        }
    }

    /// <summary>
    /// <c>iommufd_vfio_compat_ioas_id</c>: the compat IOAS, created on first use (what binding a VFIO group to this fd does).
    /// </summary>
    public Ioas GetOrCreateCompatIoas()
    {
        CompatIoas ??= CreateIoas();
        return CompatIoas;
    }

    /// <summary>Adds a reserved range to IOAS <paramref name="ioasId"/> as a device would; ENOENT for a bad id,
    /// EADDRINUSE when it intersects an area or an allowed range.</summary>
    public Errno IoasReserve(uint ioasId, IovaRange range) =>
        TryGetIoas(ioasId, out Ioas ioas) ? ioas.Reserve(range) : Errno.ENOENT;

    /// <summary>
    /// Attaches <paramref name="domain"/> to IOAS <paramref name="ioasId"/> as a paging HW pagetable (what attaching a
    /// device does): ENOENT for a bad id; EINVAL when its smallest page is above PAGE_SIZE; EADDRINUSE when raising the
    /// alignment meets a misaligned area or the aperture complement / reserved regions meet an area or an allowed range;
    /// EFAULT when pinning fails. On success every area is pinned and mapped into the domain, and
    /// <paramref name="hwptId"/> names the attachment (<see cref="Destroy(uint)"/> detaches it).
    /// </summary>
    public Errno AttachDomain(uint ioasId, IommuDomain domain, out uint hwptId)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return AttachDomain(ioasId, new IommuDomainTarget(domain), out hwptId);
    }

    internal Errno AttachDomain(uint ioasId, IIoasDomain domain, out uint hwptId)
    {
        hwptId = 0;
        if (!TryGetIoas(ioasId, out Ioas ioas))
        {
            return Errno.ENOENT;
        }

        var hwpt = new IommufdHwpt(ioas, domain);
        Errno rc = ioas.AttachDomain(domain, hwpt);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        hwptId = NextId();
        hwpt.Id = hwptId;
        _objects.Add(hwptId, hwpt);
        return Errno.Ok;
    }

    private const IoasMapFlags AllMapFlags = IoasMapFlags.FixedIova | IoasMapFlags.Readable | IoasMapFlags.Writeable;

    // iopt_alloc_user_pages: the exclusive end user_va + length must fit in 64 bits (EOVERFLOW), then
    // iopt_alloc_pages: length 0 or above SIZE_MAX - PAGE_SIZE is EINVAL.
    internal static Errno AllocUserPages(ulong userVa, ulong length, bool writable, out Ioas.Slice slice)
    {
        slice = default;
        if (length > ulong.MaxValue - userVa)
        {
            return Errno.EOVERFLOW;
        }

        if (length == 0 || length > ulong.MaxValue - Ioas.PageSize)
        {
            return Errno.EINVAL;
        }

        ulong baseVa = userVa & ~(Ioas.PageSize - 1);
        ulong startByte = userVa - baseVa;
        var pages = new IoasPages(baseVa, (UInt128)startByte + length, writable);
        slice = new Ioas.Slice(pages, startByte, length);
        return Errno.Ok;
    }

    private uint NextId()
    {
        uint id = 1;
        foreach (uint used in _objects.Keys)
        {
            if (used != id)
            {
                break;
            }

            id++;
        }

        return id;
    }
}
