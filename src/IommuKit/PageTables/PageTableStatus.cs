namespace IommuKit.PageTables;

/// <summary>The outcome of a page-table map or unmap. Every failure leaves the table exactly as it was.</summary>
public enum PageTableStatus
{
    /// <summary>Done.</summary>
    Ok,

    /// <summary>Some page of the range is already mapped; nothing changed.</summary>
    AlreadyMapped,

    /// <summary>The range passes the format's IOVA width (<see cref="IoPageTable.AddressRange"/>); nothing changed.</summary>
    BeyondWidth,

    /// <summary>The IOVA range or the physical address is not aligned to the smallest leaf size; nothing changed.</summary>
    Misaligned,

    /// <summary>
    /// The permissions cannot be encoded by the format: <see cref="Permissions.None"/> everywhere, bits other than
    /// read and write, and write-only in ARM stage 1 (its AP bits always grant read); nothing changed.
    /// </summary>
    UnsupportedPermissions,

    /// <summary>The physical range passes the format's output-address width (52 bits for VT-d, 48 for LPAE-48); nothing changed.</summary>
    PhysicalAddressBeyondWidth,

    /// <summary>The frame allocator ran out of frames for a table page; nothing changed.</summary>
    OutOfFrames,
}
