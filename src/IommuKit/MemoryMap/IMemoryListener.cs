namespace IommuKit.MemoryMap;

/// <summary>
/// A memory listener (QEMU's <c>MemoryListener</c>): told how the flat view of the address space it is registered on
/// changes. Every callback has an empty default.
/// </summary>
/// <remarks>
/// <para>Order of one committed update: <see cref="Begin"/> on every listener of the map (ascending
/// <see cref="Priority"/>); then, per address space in creation order, <see cref="RegionDel"/> for every range that
/// went away (ascending address; listeners in <em>descending</em> priority), then <see cref="RegionNop"/> for every
/// unchanged range and <see cref="RegionAdd"/> for every new one (ascending address; listeners in ascending
/// priority); then <see cref="Commit"/> on every listener (ascending priority). So every region_del of an address
/// space comes before any of its region_add: a range is removed before the memory behind it goes away or is
/// replaced.</para>
/// <para>Registration replays the current view to the new listener alone (Begin, RegionAdd per range ascending,
/// Commit); unregistration tears it down (Begin, RegionDel per range ascending, Commit).</para>
/// </remarks>
public interface IMemoryListener
{
    /// <summary>
    /// Lower priorities are called earlier for add/nop/begin/commit and later for delete. Equal priorities keep
    /// registration order. Read once, at registration. QEMU's VFIO listener uses 0.
    /// </summary>
    int Priority => 0;

    /// <summary>An update starts.</summary>
    void Begin()
    {
    }

    /// <summary>An update ends.</summary>
    void Commit()
    {
    }

    /// <summary>A range appeared in the flat view.</summary>
    void RegionAdd(MemoryRegionSection section)
    {
    }

    /// <summary>A range left the flat view (or changed: it is then deleted and added again).</summary>
    void RegionDel(MemoryRegionSection section)
    {
    }

    /// <summary>A range is unchanged by a committed update.</summary>
    void RegionNop(MemoryRegionSection section)
    {
    }
}
