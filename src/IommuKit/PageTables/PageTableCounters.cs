using System.Runtime.CompilerServices;

namespace IommuKit.PageTables;

/// <summary>
/// Work done by a page table since creation or the last <see cref="Reset"/>: the cost measure tests assert on
/// (counting, never timing). Not thread safe; increments are plain adds.
/// </summary>
public sealed class PageTableCounters
{
    /// <summary>Page-table entries read (each 8-byte PTE read from physical memory).</summary>
    public long EntriesRead { get; private set; }

    /// <summary>Page-table entries written.</summary>
    public long EntriesWritten { get; private set; }

    /// <summary>Table pages entered by a read walk (translate, visit, overlap check, unmap).</summary>
    public long TablePagesTouched { get; private set; }

    /// <summary>Sets every counter to 0.</summary>
    public void Reset()
    {
        EntriesRead = 0;
        EntriesWritten = 0;
        TablePagesTouched = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddRead() => EntriesRead++;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddRead(int n) => EntriesRead += n;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddWritten() => EntriesWritten++;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddWritten(int n) => EntriesWritten += n;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddTable() => TablePagesTouched++;

    /// <summary>One walk's worth in two adds: <paramref name="tables"/> table pages entered, <paramref name="reads"/> entries read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddWalk(int tables, int reads)
    {
        TablePagesTouched += tables;
        EntriesRead += reads;
    }

    /// <summary>Formats the counters.</summary>
    public override string ToString() => $"read {EntriesRead}, written {EntriesWritten}, tables {TablePagesTouched}";
}
