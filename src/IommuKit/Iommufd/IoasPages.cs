namespace IommuKit.Iommufd;

/// <summary>
/// The kernel's <c>iopt_pages</c>: one user VA range, created by one MAP and shared (by reference) by every area a COPY
/// or a VFIO v1 split derives from it.
/// </summary>
/// <remarks>
/// Invariants: <see cref="Base"/> is page aligned; the pages are pinned at most once each however many areas and
/// domains use them (linux-vfio-iommufd.md §2.2, "a page is pinned once per iopt_pages"). <see cref="PageUsers"/>
/// counts, per host page VA, the filled areas covering it; the host pin is taken on 0 → 1 and dropped on 1 → 0.
/// </remarks>
internal sealed class IoasPages
{
    public IoasPages(ulong @base, UInt128 length, bool writable)
    {
        Base = @base;
        Length = length;
        Writable = writable;
    }

    /// <summary>The page-aligned user VA of byte 0 (<c>ALIGN_DOWN(user_va, PAGE_SIZE)</c>).</summary>
    public ulong Base { get; }

    /// <summary>Bytes from <see cref="Base"/> to the end of the user range (up to 2^64 for the native full-range map).</summary>
    public UInt128 Length { get; }

    /// <summary>Created by a writeable map; a writeable COPY of read-only pages gives EPERM.</summary>
    public bool Writable { get; }

    /// <summary>Areas referencing this object (the kernel's kref).</summary>
    public int Refs { get; set; }

    /// <summary>Per host page (VA of the page): the number of filled areas covering it.</summary>
    public Dictionary<ulong, int> PageUsers { get; } = [];
}
