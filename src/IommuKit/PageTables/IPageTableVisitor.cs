namespace IommuKit.PageTables;

/// <summary>
/// Receives the present entries of a page table in ascending IOVA order (depth first). Implement it on a struct so
/// <see cref="IoPageTable.Visit{TVisitor}(Addressing.IovaRange, ref TVisitor)"/> is specialised and allocates nothing.
/// </summary>
public interface IPageTableVisitor
{
    /// <summary>
    /// Called when the walk enters a table page (the root first), before the entries in it.
    /// </summary>
    /// <param name="tablePa">Physical address of the table page.</param>
    /// <param name="level">The table's level (its entries map <see cref="PageTableLayout.EntrySpan"/> bytes each).</param>
    /// <param name="iovaBase">The first IOVA the table covers.</param>
    void VisitTable(ulong tablePa, int level, ulong iovaBase);

    /// <summary>Called for each present leaf overlapping the visited range, clipped to it.</summary>
    void VisitLeaf(in PageTableLeaf leaf);
}
