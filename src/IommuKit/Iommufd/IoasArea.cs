using IommuKit.PageTables;

namespace IommuKit.Iommufd;

/// <summary>
/// The kernel's <c>iopt_area</c>: one IOVA range backed by a slice of an <see cref="IoasPages"/>. Each MAP creates one
/// area and each COPY one per source piece; areas are never merged (linux-vfio-iommufd.md §2.2).
/// </summary>
internal sealed class IoasArea
{
    public IoasArea(IoasPages pages, UInt128 startByte, bool readable, bool writeable)
    {
        Pages = pages;
        StartByte = startByte;
        Readable = readable;
        Writeable = writeable;
    }

    /// <summary>The pages object.</summary>
    public IoasPages Pages { get; }

    /// <summary>The byte offset of the area's first IOVA inside <see cref="Pages"/> (from its page-aligned base).</summary>
    public UInt128 StartByte { get; }

    /// <summary>The kernel's <c>page_offset</c>: <c>start_byte % PAGE_SIZE</c>.</summary>
    public ulong PageOffset => (ulong)(StartByte % Ioas.PageSize);

    /// <summary>IOMMU_READ.</summary>
    public bool Readable { get; }

    /// <summary>IOMMU_WRITE.</summary>
    public bool Writeable { get; }

    /// <summary>The access as page-table permissions (None is possible through the VFIO compat MAP with no flag).</summary>
    public Permissions Permissions => (Readable ? Permissions.Read : Permissions.None) | (Writeable ? Permissions.Write : Permissions.None);

    /// <summary>True while the area's pages are pinned and mapped into every attached domain.</summary>
    public bool Filled { get; set; }

    /// <summary>The user VA of the area's byte at <paramref name="offset"/> from its first IOVA.</summary>
    /// <remarks>Cannot overflow: the pages object was created only when its whole user range fits in 64 bits.</remarks>
    public ulong UserVaAt(UInt128 offset) => (ulong)(Pages.Base + StartByte + offset);
}
