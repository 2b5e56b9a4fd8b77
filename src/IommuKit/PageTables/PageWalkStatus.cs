namespace IommuKit.PageTables;

/// <summary>Where a page walk ended.</summary>
public enum PageWalkStatus : byte
{
    /// <summary>A valid leaf maps the address.</summary>
    Present,

    /// <summary>An entry on the way is not present (VT-d: R = W = 0; ARM: descriptor bit 0 clear).</summary>
    NotPresent,

    /// <summary>The address is above the format's IOVA width; no entry was read.</summary>
    BeyondWidth,

    /// <summary>
    /// An entry holds an encoding the hardware faults on: a huge-page bit at a level without huge pages, a leaf whose
    /// address has bits set below its size, an ARM block at level 0 or 3, or an ARM leaf with the access flag clear.
    /// </summary>
    Malformed,

    /// <summary>A table entry points at physical memory that is not backed: the walk cannot read the next table.</summary>
    TableUnreadable,
}
