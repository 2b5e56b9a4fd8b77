namespace IommuKit.PageTables;

/// <summary>
/// An ARM VMSAv8-64 stage-1 descriptor, 4 KiB granule, 48-bit output address, over its raw 64 bits.
/// </summary>
/// <remarks>
/// Layout (Arm ARM, "VMSAv8-64 translation table format descriptors"): bit 0 valid; bit 1 type (1 = table at
/// lookup levels 0-2, page at level 3; 0 = block at levels 1-2, reserved at levels 0 and 3); bits 4:2 AttrIndx;
/// bits 7:6 AP[2:1] (AP[2] = read-only, AP[1] = unprivileged access); bits 9:8 SH; bit 10 AF (access flag; a leaf
/// with AF clear faults); bit 11 nG; bits 12..47 the address; bit 53 PXN; bit 54 UXN/XN; bit 62 APTable[1]
/// (no writes below this table). Stage-1 AP cannot express write-only: a readable mapping is always readable.
/// </remarks>
public readonly struct ArmLpaePte : IEquatable<ArmLpaePte>
{
    /// <summary>Bit 0: valid.</summary>
    public const ulong ValidBit = 1UL << 0;

    /// <summary>Bit 1: table (levels 0-2) or page (level 3) when set; block when clear.</summary>
    public const ulong TypeBit = 1UL << 1;

    /// <summary>Bits 1:0 of a table or page descriptor.</summary>
    public const ulong TableOrPage = ValidBit | TypeBit;

    /// <summary>Bits 1:0 of a block descriptor.</summary>
    public const ulong Block = ValidBit;

    /// <summary>Bit 6: AP[1], access from EL0 (set by Linux's io-pgtable for every stage-1 leaf).</summary>
    public const ulong ApUnprivilegedBit = 1UL << 6;

    /// <summary>Bit 7: AP[2], read-only.</summary>
    public const ulong ApReadOnlyBit = 1UL << 7;

    /// <summary>Bits 9:8 = 0b11: inner shareable.</summary>
    public const ulong InnerShareable = 3UL << 8;

    /// <summary>Bit 10: access flag.</summary>
    public const ulong AccessFlagBit = 1UL << 10;

    /// <summary>Bit 11: not global.</summary>
    public const ulong NotGlobalBit = 1UL << 11;

    /// <summary>Bit 53: privileged execute-never.</summary>
    public const ulong PrivilegedExecuteNeverBit = 1UL << 53;

    /// <summary>Bit 54: (unprivileged) execute-never.</summary>
    public const ulong ExecuteNeverBit = 1UL << 54;

    /// <summary>Bit 62: APTable[1], no write access at any level below this table.</summary>
    public const ulong ApTableReadOnlyBit = 1UL << 62;

    /// <summary>The output address width: 48 bits.</summary>
    public const int AddressBits = 48;

    /// <summary>Bits 12..47: the next table's or the page's / block's physical address.</summary>
    public const ulong AddressMask = ((1UL << AddressBits) - 1) & ~((1UL << PageTableLayout.PageBits) - 1);

    /// <summary>Wraps a raw descriptor.</summary>
    public ArmLpaePte(ulong raw) => Raw = raw;

    /// <summary>The raw 64-bit value.</summary>
    public ulong Raw { get; }

    /// <summary>Bit 0: valid.</summary>
    public bool IsValid => (Raw & ValidBit) != 0;

    /// <summary>Bits 1:0 = 0b11: a table (levels 0-2) or a page (level 3).</summary>
    public bool IsTableOrPage => (Raw & TableOrPage) == TableOrPage;

    /// <summary>Bits 1:0 = 0b01: a block (valid at levels 1-2 only).</summary>
    public bool IsBlock => (Raw & TableOrPage) == Block;

    /// <summary>AF: access flag.</summary>
    public bool AccessFlag => (Raw & AccessFlagBit) != 0;

    /// <summary>AP[2]: read-only.</summary>
    public bool ReadOnly => (Raw & ApReadOnlyBit) != 0;

    /// <summary>AP[1]: unprivileged (EL0) access.</summary>
    public bool Unprivileged => (Raw & ApUnprivilegedBit) != 0;

    /// <summary>XN: execute-never.</summary>
    public bool ExecuteNever => (Raw & ExecuteNeverBit) != 0;

    /// <summary>APTable[1]: a table descriptor forbidding writes below it.</summary>
    public bool TableReadOnly => (Raw & ApTableReadOnlyBit) != 0;

    /// <summary>The address in bits 12..47.</summary>
    public ulong Address => Raw & AddressMask;

    /// <summary>The leaf permissions: always readable, writable unless AP[2].</summary>
    public Permissions Permissions => ReadOnly ? Permissions.Read : Permissions.ReadWrite;

    /// <summary>A table descriptor pointing at <paramref name="tablePa"/> (no APTable restriction).</summary>
    public static ArmLpaePte Table(ulong tablePa) => new((tablePa & AddressMask) | TableOrPage);

    /// <summary>
    /// A page (<paramref name="block"/> false) or block descriptor mapping <paramref name="pa"/> with AF, inner
    /// shareable, AP[1] and AP[2] when <paramref name="permissions"/> lacks write (Linux's stage-1 encoding).
    /// </summary>
    public static ArmLpaePte Leaf(ulong pa, Permissions permissions, bool block) =>
        new((pa & AddressMask)
            | (block ? Block : TableOrPage)
            | AccessFlagBit | InnerShareable | ApUnprivilegedBit
            | ((permissions & Permissions.Write) == 0 ? ApReadOnlyBit : 0));

    /// <inheritdoc />
    public bool Equals(ArmLpaePte other) => Raw == other.Raw;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ArmLpaePte other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Raw.GetHashCode();

    /// <summary>Equality of the raw values.</summary>
    public static bool operator ==(ArmLpaePte left, ArmLpaePte right) => left.Equals(right);

    /// <summary>Inequality of the raw values.</summary>
    public static bool operator !=(ArmLpaePte left, ArmLpaePte right) => !left.Equals(right);

    /// <summary>Formats as <c>0x...(table|block|page AF RO addr=0x...)</c>.</summary>
    public override string ToString() =>
        $"{ThrowHelper.Hex(Raw)} ({(!IsValid ? "invalid" : IsBlock ? "block" : "table/page")}{(AccessFlag ? " AF" : "")}{(ReadOnly ? " RO" : "")} addr={ThrowHelper.Hex(Address)})";
}
