using System.Runtime.CompilerServices;

namespace IommuKit.PageTables;

/// <summary>
/// The radix geometry shared by every supported format: 4 KiB table pages of 512 eight-byte entries, each level
/// resolving 9 IOVA bits above the 12-bit page offset.
/// </summary>
/// <remarks>
/// Levels are numbered as in VT-d: level 1 holds 4 KiB leaves, level 2 holds 2 MiB leaves, level 3 holds 1 GiB
/// leaves, and the root is level <see cref="IoPageTable.Levels"/>. An ARM lookup level is <c>4 - level</c> (ARM level
/// 0 is the root of a 48-bit table, ARM level 3 holds pages).
/// </remarks>
public static class PageTableLayout
{
    /// <summary>log2 of the page and table-page size.</summary>
    public const int PageBits = 12;

    /// <summary>The page and table-page size, 4 KiB.</summary>
    public const int PageSize = 1 << PageBits;

    /// <summary>IOVA bits resolved per level.</summary>
    public const int LevelBits = 9;

    /// <summary>Entries per table page, 512.</summary>
    public const int EntriesPerTable = 1 << LevelBits;

    /// <summary>Bytes per entry; 512 × 8 = 4096 fills a page.</summary>
    public const int EntryBytes = PageSize / EntriesPerTable;

    /// <summary>Mask of an entry index.</summary>
    public const int IndexMask = EntriesPerTable - 1;

    /// <summary>IOVA width of a 3-level table: 9 × 3 + 12 = 39.</summary>
    public const int Width3Level = (LevelBits * 3) + PageBits;

    /// <summary>IOVA width of a 4-level table: 9 × 4 + 12 = 48.</summary>
    public const int Width4Level = (LevelBits * 4) + PageBits;

    /// <summary>IOVA width of a 5-level table: 9 × 5 + 12 = 57.</summary>
    public const int Width5Level = (LevelBits * 5) + PageBits;

    /// <summary>The deepest level a leaf may sit at in these formats: 3, the 1 GiB level.</summary>
    public const int MaxLeafLevel = 3;

    /// <summary>The IOVA shift of an entry at <paramref name="level"/> (1-based): 12, 21, 30, 39, 48.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Shift(int level) => PageBits + (LevelBits * (level - 1));

    /// <summary>The bytes one entry at <paramref name="level"/> maps: 4K, 2M, 1G, 512G, 256T.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong EntrySpan(int level) => 1UL << Shift(level);

    /// <summary>The index of <paramref name="iova"/> in a table at <paramref name="level"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EntryIndex(ulong iova, int level) => (int)((iova >> Shift(level)) & IndexMask);

    /// <summary>The level whose leaves are <paramref name="leafSize"/> bytes (4K → 1, 2M → 2, 1G → 3); 0 if none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LevelOfLeafSize(ulong leafSize) => leafSize switch
    {
        1UL << PageBits => 1,
        1UL << (PageBits + LevelBits) => 2,
        1UL << (PageBits + (2 * LevelBits)) => 3,
        _ => 0,
    };
}
