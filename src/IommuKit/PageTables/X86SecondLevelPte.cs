namespace IommuKit.PageTables;

/// <summary>
/// An Intel VT-d second-level paging entry (SL-PML5E, SL-PML4E, SL-PDPE, SL-PDE, SL-PTE) over its raw 64 bits.
/// </summary>
/// <remarks>
/// Layout (VT-d specification, "Second-Level Paging Entries"): bit 0 R (read), bit 1 W (write), bit 7 PS (page size:
/// a 1 GiB leaf in an SL-PDPE, a 2 MiB leaf in an SL-PDE), bit 11 SNP (snoop), bit 62 TM (transient mapping),
/// bits 12..51 the address of the next table or of the page. An entry with R = W = 0 is not present. In a non-leaf
/// entry R and W limit the access allowed below it (effective rights are the AND over the walk), so tables are
/// written with R and W set, as Linux does.
/// </remarks>
public readonly struct X86SecondLevelPte : IEquatable<X86SecondLevelPte>
{
    /// <summary>Bit 0: read permission.</summary>
    public const ulong ReadBit = 1UL << 0;

    /// <summary>Bit 1: write permission.</summary>
    public const ulong WriteBit = 1UL << 1;

    /// <summary>Bit 7: page size, the entry is a 2 MiB or 1 GiB leaf.</summary>
    public const ulong PageSizeBit = 1UL << 7;

    /// <summary>Bit 11: snoop behaviour for the page.</summary>
    public const ulong SnoopBit = 1UL << 11;

    /// <summary>Bit 62: transient mapping hint.</summary>
    public const ulong TransientMappingBit = 1UL << 62;

    /// <summary>The highest address bit + 1: addresses use bits 12..51.</summary>
    public const int AddressBits = 52;

    /// <summary>Bits 12..51: the next table's or the page's physical address.</summary>
    public const ulong AddressMask = ((1UL << AddressBits) - 1) & ~((1UL << PageTableLayout.PageBits) - 1);

    /// <summary>Wraps a raw entry.</summary>
    public X86SecondLevelPte(ulong raw) => Raw = raw;

    /// <summary>The raw 64-bit value.</summary>
    public ulong Raw { get; }

    /// <summary>R: reads allowed.</summary>
    public bool Read => (Raw & ReadBit) != 0;

    /// <summary>W: writes allowed.</summary>
    public bool Write => (Raw & WriteBit) != 0;

    /// <summary>Present: R or W set.</summary>
    public bool IsPresent => (Raw & (ReadBit | WriteBit)) != 0;

    /// <summary>PS: a huge leaf (meaningful in SL-PDPE and SL-PDE).</summary>
    public bool PageSize => (Raw & PageSizeBit) != 0;

    /// <summary>SNP: snoop.</summary>
    public bool Snoop => (Raw & SnoopBit) != 0;

    /// <summary>TM: transient mapping.</summary>
    public bool TransientMapping => (Raw & TransientMappingBit) != 0;

    /// <summary>The address in bits 12..51.</summary>
    public ulong Address => Raw & AddressMask;

    /// <summary>R and W as <see cref="PageTables.Permissions"/>.</summary>
    public Permissions Permissions => (Read ? Permissions.Read : 0) | (Write ? Permissions.Write : 0);

    /// <summary>A non-leaf entry pointing at <paramref name="tablePa"/>, R and W set.</summary>
    public static X86SecondLevelPte Table(ulong tablePa) => new((tablePa & AddressMask) | ReadBit | WriteBit);

    /// <summary>A leaf mapping <paramref name="pa"/>; PS set when <paramref name="huge"/>.</summary>
    public static X86SecondLevelPte Leaf(ulong pa, Permissions permissions, bool huge) =>
        new((pa & AddressMask)
            | ((permissions & Permissions.Read) != 0 ? ReadBit : 0)
            | ((permissions & Permissions.Write) != 0 ? WriteBit : 0)
            | (huge ? PageSizeBit : 0));

    /// <inheritdoc />
    public bool Equals(X86SecondLevelPte other) => Raw == other.Raw;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is X86SecondLevelPte other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Raw.GetHashCode();

    /// <summary>Equality of the raw values.</summary>
    public static bool operator ==(X86SecondLevelPte left, X86SecondLevelPte right) => left.Equals(right);

    /// <summary>Inequality of the raw values.</summary>
    public static bool operator !=(X86SecondLevelPte left, X86SecondLevelPte right) => !left.Equals(right);

    /// <summary>Formats as <c>0x...03 (R W PS addr=0x...)</c>.</summary>
    public override string ToString() =>
        $"{ThrowHelper.Hex(Raw)} ({(Read ? "R" : "-")}{(Write ? "W" : "-")}{(PageSize ? " PS" : "")} addr={ThrowHelper.Hex(Address)})";
}
