namespace IommuKit.PageTables;

/// <summary>What a decoded entry is.</summary>
internal enum PteKind
{
    NotPresent,
    Table,
    Leaf,
    Malformed,
}

/// <summary>
/// The bit encoding of one format, as static abstract members on a struct so <see cref="IoPageTable{TFormat}"/> is
/// specialised per format by the JIT (no virtual call per entry).
/// </summary>
internal interface IPageTableFormatSpec
{
    /// <summary>The public format value.</summary>
    static abstract PageTableFormat Format { get; }

    /// <summary>Number of levels; the root is this level.</summary>
    static abstract int Levels { get; }

    /// <summary>Output (physical) address width in bits.</summary>
    static abstract int OutputAddressBits { get; }

    /// <summary>True when the permissions have an encoding.</summary>
    static abstract bool CanEncode(Permissions permissions);

    /// <summary>
    /// A level-1 entry is present (<see cref="Decode"/> does not say <see cref="PteKind.NotPresent"/>) exactly when it
    /// has one of these bits set. Lets a run of entries be tested with vector compares.
    /// </summary>
    static abstract ulong Level1PresentBits { get; }

    /// <summary>
    /// A present level-1 entry is a leaf (not <see cref="PteKind.Malformed"/>) exactly when it has all of these bits
    /// set (0: every present level-1 entry is a leaf).
    /// </summary>
    static abstract ulong Level1LeafBits { get; }

    /// <summary>A non-leaf entry pointing at <paramref name="tablePa"/>.</summary>
    static abstract ulong MakeTable(ulong tablePa);

    /// <summary>A leaf at <paramref name="level"/> (1..3) mapping <paramref name="pa"/>.</summary>
    static abstract ulong MakeLeaf(ulong pa, Permissions permissions, int level);

    /// <summary>
    /// Decodes <paramref name="pte"/> read from a table at <paramref name="level"/>: the next table's or the leaf's
    /// address and the permissions it grants (for a table: what it allows below).
    /// </summary>
    static abstract PteKind Decode(ulong pte, int level, out ulong address, out Permissions permissions);
}

/// <summary>VT-d second-level paging with 4 levels (48-bit IOVA, 9 × 4 + 12).</summary>
internal readonly struct X86SecondLevel4LevelSpec : IPageTableFormatSpec
{
    public static PageTableFormat Format => PageTableFormat.X86SecondLevel4Level;

    public static int Levels => 4;

    public static int OutputAddressBits => X86SecondLevelPte.AddressBits;

    public static bool CanEncode(Permissions permissions) => X86SecondLevelSpec.CanEncode(permissions);

    public static ulong Level1PresentBits => X86SecondLevelSpec.Level1PresentBits;

    public static ulong Level1LeafBits => 0; // an SL-PTE with R or W set is a 4K leaf whatever its other bits

    public static ulong MakeTable(ulong tablePa) => X86SecondLevelPte.Table(tablePa).Raw;

    public static ulong MakeLeaf(ulong pa, Permissions permissions, int level) => X86SecondLevelSpec.MakeLeaf(pa, permissions, level);

    public static PteKind Decode(ulong pte, int level, out ulong address, out Permissions permissions) =>
        X86SecondLevelSpec.Decode(pte, level, out address, out permissions);
}

/// <summary>VT-d second-level paging with 3 levels (39-bit IOVA, 9 × 3 + 12): the root holds 1 GiB leaves too.</summary>
internal readonly struct X86SecondLevel3LevelSpec : IPageTableFormatSpec
{
    public static PageTableFormat Format => PageTableFormat.X86SecondLevel3Level;

    public static int Levels => 3;

    public static int OutputAddressBits => X86SecondLevelPte.AddressBits;

    public static bool CanEncode(Permissions permissions) => X86SecondLevelSpec.CanEncode(permissions);

    public static ulong Level1PresentBits => X86SecondLevelSpec.Level1PresentBits;

    public static ulong Level1LeafBits => 0; // an SL-PTE with R or W set is a 4K leaf whatever its other bits

    public static ulong MakeTable(ulong tablePa) => X86SecondLevelPte.Table(tablePa).Raw;

    public static ulong MakeLeaf(ulong pa, Permissions permissions, int level) => X86SecondLevelSpec.MakeLeaf(pa, permissions, level);

    public static PteKind Decode(ulong pte, int level, out ulong address, out Permissions permissions) =>
        X86SecondLevelSpec.Decode(pte, level, out address, out permissions);
}

/// <summary>VT-d second-level paging with 5 levels (57-bit IOVA, 9 × 5 + 12).</summary>
internal readonly struct X86SecondLevel5LevelSpec : IPageTableFormatSpec
{
    public static PageTableFormat Format => PageTableFormat.X86SecondLevel5Level;

    public static int Levels => 5;

    public static int OutputAddressBits => X86SecondLevelPte.AddressBits;

    public static bool CanEncode(Permissions permissions) => X86SecondLevelSpec.CanEncode(permissions);

    public static ulong Level1PresentBits => X86SecondLevelSpec.Level1PresentBits;

    public static ulong Level1LeafBits => 0; // an SL-PTE with R or W set is a 4K leaf whatever its other bits

    public static ulong MakeTable(ulong tablePa) => X86SecondLevelPte.Table(tablePa).Raw;

    public static ulong MakeLeaf(ulong pa, Permissions permissions, int level) => X86SecondLevelSpec.MakeLeaf(pa, permissions, level);

    public static PteKind Decode(ulong pte, int level, out ulong address, out Permissions permissions) =>
        X86SecondLevelSpec.Decode(pte, level, out address, out permissions);
}

/// <summary>The VT-d second-level encoding shared by the 4- and 5-level formats.</summary>
internal static class X86SecondLevelSpec
{
    /// <summary>R or W: an entry with neither is not present.</summary>
    public const ulong Level1PresentBits = X86SecondLevelPte.ReadBit | X86SecondLevelPte.WriteBit;

    public static bool CanEncode(Permissions permissions) =>
        permissions != Permissions.None && (permissions & ~Permissions.ReadWrite) == 0;

    public static ulong MakeLeaf(ulong pa, Permissions permissions, int level) =>
        X86SecondLevelPte.Leaf(pa, permissions, huge: level > 1).Raw;

    public static PteKind Decode(ulong pte, int level, out ulong address, out Permissions permissions)
    {
        var e = new X86SecondLevelPte(pte);
        address = e.Address;
        permissions = e.Permissions;
        if (!e.IsPresent)
        {
            return PteKind.NotPresent;
        }

        if (level == 1)
        {
            return PteKind.Leaf; // bit 7 of an SL-PTE is not a page-size bit
        }

        if (e.PageSize)
        {
            // PS is a leaf in SL-PDE (2M) and SL-PDPE (1G); reserved in SL-PML4E / SL-PML5E.
            return level <= PageTableLayout.MaxLeafLevel ? PteKind.Leaf : PteKind.Malformed;
        }

        return PteKind.Table;
    }
}

/// <summary>ARM LPAE stage 1, 4K granule, 48-bit input (4 levels, 9 × 4 + 12) and 48-bit output.</summary>
internal readonly struct ArmLpae48Spec : IPageTableFormatSpec
{
    public static PageTableFormat Format => PageTableFormat.ArmLpae48;

    public static int Levels => 4;

    public static int OutputAddressBits => ArmLpaePte.AddressBits;

    /// <summary>Read or read-write; write-only has no stage-1 AP encoding and is refused.</summary>
    public static bool CanEncode(Permissions permissions) =>
        permissions is Permissions.Read or Permissions.ReadWrite;

    /// <summary>The valid bit.</summary>
    public static ulong Level1PresentBits => ArmLpaePte.ValidBit;

    /// <summary>A page descriptor (0b11) with the access flag: a valid entry without them is malformed at level 3.</summary>
    public static ulong Level1LeafBits => ArmLpaePte.TableOrPage | ArmLpaePte.AccessFlagBit;

    public static ulong MakeTable(ulong tablePa) => ArmLpaePte.Table(tablePa).Raw;

    public static ulong MakeLeaf(ulong pa, Permissions permissions, int level) =>
        ArmLpaePte.Leaf(pa, permissions, block: level > 1).Raw;

    public static PteKind Decode(ulong pte, int level, out ulong address, out Permissions permissions)
    {
        var e = new ArmLpaePte(pte);
        address = e.Address;
        if (!e.IsValid)
        {
            permissions = Permissions.None;
            return PteKind.NotPresent;
        }

        // Our level L is ARM lookup level 4 - L: L4 = ARM level 0 (tables only), L1 = ARM level 3 (pages only).
        bool tableOrPage = e.IsTableOrPage;
        if (level == 1 || (!tableOrPage && level <= PageTableLayout.MaxLeafLevel))
        {
            // A page (0b11 at level 3) or a block (0b01 at levels 1-2); 0b01 at level 3 is reserved.
            permissions = e.Permissions;
            return (level == 1 && !tableOrPage) || !e.AccessFlag ? PteKind.Malformed : PteKind.Leaf;
        }

        if (!tableOrPage)
        {
            permissions = Permissions.None;
            return PteKind.Malformed; // a block at level 0
        }

        permissions = e.TableReadOnly ? Permissions.Read : Permissions.ReadWrite;
        return PteKind.Table;
    }
}
