using IommuKit.Addressing;
using IommuKit.Memory;

namespace IommuKit.PageTables;

/// <summary>
/// An IO page table in a real hardware format, stored as bytes in <see cref="PhysicalMemory"/>: table pages come
/// from a <see cref="FrameAllocator"/>, entries are little-endian 64-bit words, and every walk reads them back from
/// memory, so a walker also reads tables that someone else (a guest) wrote.
/// </summary>
/// <remarks>
/// <para>Invariants: the root table page is allocated at creation and never freed; every other table page is
/// reachable from the root and holds at least one present entry (a table emptied by <see cref="Unmap"/> is freed and
/// its parent entry cleared); new table pages start zeroed (the allocator guarantees it). Levels follow VT-d
/// numbering (see <see cref="PageTableLayout"/>): leaves sit at level 1 (4K), 2 (2M) or 3 (1G).</para>
/// <para>Mapping: <see cref="TryMap"/> covers the range with the largest leaves of <see cref="LeafSizes"/> that the
/// alignment of IOVA and pa and the remaining length allow (the kernel's <c>iommu_pgsize</c> choice, via
/// <see cref="IovaRange.Chunks"/>), and refuses to map over anything already mapped.</para>
/// <para>Partial unmap of a huge leaf: this follows the historical Linux io-pgtable-arm rule
/// (<c>arm_lpae_split_blk_unmap</c>): the block is replaced by a new table of next-level leaves carrying the same
/// attributes and the asked part is cleared, recursively down to the granularity of the range. Newer kernels
/// (v6.x io-pgtable-arm, and the VT-d driver) refuse to unmap part of a block and unmap nothing (or the whole
/// leaf); VFIO type1 never asks for a partial block. The split needs at most one new table per level per range
/// end, reserved before anything changes, so an exhausted allocator fails the unmap as a whole.</para>
/// <para>Threading: not thread safe; one writer, and readers only when no writer runs.</para>
/// </remarks>
public abstract class IoPageTable
{
    private protected IoPageTable(FrameAllocator frames, PageSizes leafSizes, int addressWidth)
    {
        Frames = frames;
        LeafSizes = leafSizes;
        AddressWidth = addressWidth;

        // addressWidth <= 57, so the shift cannot overflow.
        AddressRange = IovaRange.FromFirstLast(0, (1UL << addressWidth) - 1);
        RootPa = frames.Allocate();
        TablePages = 1;
    }

    /// <summary>The leaf sizes every supported format can hold: 4 KiB, 2 MiB and 1 GiB.</summary>
    public static PageSizes SupportedLeafSizes => PageSizes.X86;

    /// <summary>The format.</summary>
    public abstract PageTableFormat Format { get; }

    /// <summary>The IOVA width in bits: 39, 48 or 57.</summary>
    public int AddressWidth { get; }

    /// <summary>The IOVA range the table can map: <c>[0, 2^AddressWidth - 1]</c>.</summary>
    public IovaRange AddressRange { get; }

    /// <summary>The leaf sizes <see cref="TryMap"/> may choose from.</summary>
    public PageSizes LeafSizes { get; }

    /// <summary>The number of levels (3, 4 or 5); the root is at this level.</summary>
    public abstract int Levels { get; }

    /// <summary>The output (physical) address width in bits: 52 for VT-d, 48 for LPAE-48.</summary>
    public abstract int OutputAddressWidth { get; }

    /// <summary>The physical address of the root table page (what a context entry or TTBR holds).</summary>
    public ulong RootPa { get; }

    /// <summary>The allocator table pages come from and go back to.</summary>
    public FrameAllocator Frames { get; }

    /// <summary>The memory the tables live in.</summary>
    public PhysicalMemory Memory => Frames.Memory;

    /// <summary>Work counters (entries read and written, table pages touched); resettable.</summary>
    public PageTableCounters Counters { get; } = new();

    /// <summary>Table pages currently allocated, the root included.</summary>
    public int TablePages { get; private protected set; }

    /// <summary>Creates an empty table (a zeroed root page) of <paramref name="format"/>.</summary>
    /// <param name="format">The format.</param>
    /// <param name="frames">Where table pages come from.</param>
    /// <param name="leafSizes">The leaf sizes to map with: a non-empty subset of <see cref="SupportedLeafSizes"/>; all of them by default.</param>
    /// <exception cref="ArgumentException"><paramref name="leafSizes"/> is empty or holds an unsupported size.</exception>
    public static IoPageTable Create(PageTableFormat format, FrameAllocator frames, PageSizes? leafSizes = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        PageSizes sizes = leafSizes ?? SupportedLeafSizes;
        if (sizes.IsEmpty || sizes.Intersect(SupportedLeafSizes) != sizes)
        {
            ThrowHelper.ThrowArgument(nameof(leafSizes),
                $"leaf sizes {sizes} must be a non-empty subset of {SupportedLeafSizes} for {PageTableFormats.Name(format)}");
        }

        return format switch
        {
            PageTableFormat.X86SecondLevel4Level => new IoPageTable<X86SecondLevel4LevelSpec>(frames, sizes),
            PageTableFormat.X86SecondLevel5Level => new IoPageTable<X86SecondLevel5LevelSpec>(frames, sizes),
            PageTableFormat.ArmLpae48 => new IoPageTable<ArmLpae48Spec>(frames, sizes),
            PageTableFormat.X86SecondLevel3Level => new IoPageTable<X86SecondLevel3LevelSpec>(frames, sizes),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown page-table format"),
        };
    }

    /// <summary>
    /// Walks a table of <paramref name="format"/> rooted at <paramref name="rootPa"/> in <paramref name="memory"/>
    /// that this library did not build (a guest's table). Garbage ends the walk as not present, never throws.
    /// </summary>
    public static PageTranslation TranslateAt(PageTableFormat format, PhysicalMemory memory, ulong rootPa, ulong iova)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ulong root = rootPa & ~(ulong)(PageTableLayout.PageSize - 1);
        return format switch
        {
            PageTableFormat.X86SecondLevel4Level => IoPageTable<X86SecondLevel4LevelSpec>.Walk(memory, root, iova, null),
            PageTableFormat.X86SecondLevel5Level => IoPageTable<X86SecondLevel5LevelSpec>.Walk(memory, root, iova, null),
            PageTableFormat.ArmLpae48 => IoPageTable<ArmLpae48Spec>.Walk(memory, root, iova, null),
            PageTableFormat.X86SecondLevel3Level => IoPageTable<X86SecondLevel3LevelSpec>.Walk(memory, root, iova, null),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown page-table format"),
        };
    }

    /// <summary>
    /// Maps <paramref name="range"/> to physical addresses starting at <paramref name="pa"/> with the largest leaves
    /// alignment allows. All or nothing: on any failure the table is unchanged.
    /// </summary>
    /// <returns><see cref="PageTableStatus.Ok"/>, or why nothing was mapped.</returns>
    public abstract PageTableStatus TryMap(IovaRange range, ulong pa, Permissions permissions);

    /// <summary>Maps like <see cref="TryMap"/> and throws on failure, naming the range and the width.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range passes the IOVA width, or pa the output width.</exception>
    /// <exception cref="ArgumentException">Misaligned, or permissions the format cannot encode.</exception>
    /// <exception cref="InvalidOperationException">Part of the range is already mapped, or no frame was left for a table.</exception>
    public void Map(IovaRange range, ulong pa, Permissions permissions)
    {
        PageTableStatus status = TryMap(range, pa, permissions);
        if (status != PageTableStatus.Ok)
        {
            ThrowMapFailure(status, range, pa, permissions);
        }
    }

    /// <summary>
    /// Unmaps every mapped page of <paramref name="range"/> (unmapped parts are fine and count 0 bytes); splits a
    /// huge leaf that is only partly inside the range; frees table pages that become empty (never the root).
    /// Parts of the range beyond the width hold nothing and are ignored.
    /// </summary>
    /// <returns>What was removed; <see cref="PageTableStatus.Misaligned"/> (range not aligned to the smallest leaf size)
    /// or <see cref="PageTableStatus.OutOfFrames"/> (no frame for a split) with nothing changed.</returns>
    public abstract UnmapResult Unmap(IovaRange range);

    /// <summary>Walks the table for <paramref name="iova"/>. Allocation-free; counts entries read.</summary>
    public abstract PageTranslation Translate(ulong iova);

    /// <summary>
    /// Calls <paramref name="visitor"/> for every present table page and leaf overlapping <paramref name="range"/>
    /// in ascending IOVA order, leaves clipped to the range. Non-present subtrees are skipped, so the cost is one
    /// table page (512 entries) per table reached: an empty table costs the root's 512 reads whatever the range.
    /// </summary>
    public abstract void Visit<TVisitor>(IovaRange range, ref TVisitor visitor)
        where TVisitor : struct, IPageTableVisitor;

    /// <summary>Calls <paramref name="onLeaf"/> for every present leaf overlapping <paramref name="range"/>, clipped, ascending.</summary>
    public void Visit(IovaRange range, Action<PageTableLeaf> onLeaf)
    {
        ArgumentNullException.ThrowIfNull(onLeaf);
        var visitor = new ActionVisitor(onLeaf);
        Visit(range, ref visitor);
    }

    /// <summary>The present leaves overlapping <paramref name="range"/>, clipped, ascending (for tests and rendering).</summary>
    public List<PageTableLeaf> Leaves(IovaRange range)
    {
        var leaves = new List<PageTableLeaf>();
        Visit(range, leaves.Add);
        return leaves;
    }

    /// <summary>Reads the raw entry at <paramref name="index"/> of the table page at <paramref name="tablePa"/>; false when unbacked.</summary>
    public bool TryReadEntry(ulong tablePa, int index, out ulong pte)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, PageTableLayout.IndexMask);
        return Memory.TryReadUInt64((tablePa & ~(ulong)(PageTableLayout.PageSize - 1)) + ((ulong)index * PageTableLayout.EntryBytes), out pte);
    }

    private void ThrowMapFailure(PageTableStatus status, IovaRange range, ulong pa, Permissions permissions)
    {
        string name = PageTableFormats.Name(Format);
        switch (status)
        {
            case PageTableStatus.BeyondWidth:
                ThrowHelper.ThrowArgumentOutOfRange(nameof(range),
                    $"range {range} is beyond the {AddressWidth}-bit address width of {name} (last IOVA {ThrowHelper.Hex(AddressRange.Last)})");
                break;
            case PageTableStatus.PhysicalAddressBeyondWidth:
                ThrowHelper.ThrowArgumentOutOfRange(nameof(pa),
                    $"pa {ThrowHelper.Hex(pa)} + size {ThrowHelper.Hex(range.Size)} is beyond the {OutputAddressWidth}-bit output address width of {name}");
                break;
            case PageTableStatus.Misaligned:
                ThrowHelper.ThrowArgument(nameof(range),
                    $"range {range} / pa {ThrowHelper.Hex(pa)} is not aligned to the smallest leaf size {ThrowHelper.Hex(LeafSizes.Smallest)} of {name}");
                break;
            case PageTableStatus.UnsupportedPermissions:
                ThrowHelper.ThrowArgument(nameof(permissions), $"permissions {permissions} cannot be encoded by {name}");
                break;
            case PageTableStatus.AlreadyMapped:
                ThrowHelper.ThrowInvalidOperation($"range {range} overlaps an existing mapping in the {name} table");
                break;
            default:
                ThrowHelper.ThrowInvalidOperation($"mapping {range} to {ThrowHelper.Hex(pa)} failed: {status}");
                break;
        }
    }

    private readonly struct ActionVisitor(Action<PageTableLeaf> onLeaf) : IPageTableVisitor
    {
        public void VisitTable(ulong tablePa, int level, ulong iovaBase)
        {
        }

        public void VisitLeaf(in PageTableLeaf leaf) => onLeaf(leaf);
    }
}
