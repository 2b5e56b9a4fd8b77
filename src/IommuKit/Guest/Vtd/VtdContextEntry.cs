namespace IommuKit.Guest.Vtd;

/// <summary>
/// A VT-d legacy-mode context entry (128 bits, one per device function in a 4 KiB context table).
/// </summary>
/// <remarks>
/// Low word: bit 0 P, bit 1 FPD (fault processing disable), bits 3:2 TT (<see cref="VtdTranslationType"/>),
/// bits 11:4 reserved, bits 63:12 SLPTPTR (the second-level table root). High word: bits 2:0 AW (1 = 39-bit
/// 3-level, 2 = 48-bit 4-level, 3 = 57-bit 5-level), bits 6:3 ignored, bit 7 reserved, bits 23:8 DID, bits 63:24
/// reserved (VT-d specification, "Context Entry").
/// </remarks>
public readonly record struct VtdContextEntry(ulong Low, ulong High)
{
    /// <summary>Bytes per context entry.</summary>
    public const int Bytes = 16;

    /// <summary>Entries per context table (one per devfn).</summary>
    public const int Count = 256;

    /// <summary>Bit 0: present.</summary>
    public const ulong PresentBit = 1;

    /// <summary>Bit 1: fault processing disable.</summary>
    public const ulong FaultProcessingDisableBit = 1UL << 1;

    /// <summary>Bits 3:2 shift: translation type.</summary>
    public const int TranslationTypeShift = 2;

    /// <summary>Bits 63:12: second-level page-table pointer.</summary>
    public const ulong PointerMask = ~0xfffUL;

    /// <summary>Reserved bits of the low word: 11:4.</summary>
    public const ulong LowReservedMask = 0xff0UL;

    /// <summary>Bits 2:0 of the high word: address width.</summary>
    public const ulong AddressWidthMask = 0x7;

    /// <summary>Bit shift of the DID in the high word.</summary>
    public const int DomainIdShift = 8;

    /// <summary>Reserved bits of the high word: 7 and 63:24.</summary>
    public const ulong HighReservedMask = 0xffff_ffff_ff00_0080UL;

    /// <summary>AW value of a 39-bit, 3-level table.</summary>
    public const int AddressWidth39 = 1;

    /// <summary>AW value of a 48-bit, 4-level table.</summary>
    public const int AddressWidth48 = 2;

    /// <summary>P.</summary>
    public bool IsPresent => (Low & PresentBit) != 0;

    /// <summary>FPD.</summary>
    public bool FaultProcessingDisabled => (Low & FaultProcessingDisableBit) != 0;

    /// <summary>TT.</summary>
    public VtdTranslationType TranslationType => (VtdTranslationType)((Low >> TranslationTypeShift) & 3);

    /// <summary>The second-level table root (guest-physical).</summary>
    public ulong SecondLevelPointer => Low & PointerMask;

    /// <summary>AW, the encoded address width.</summary>
    public int AddressWidthCode => (int)(High & AddressWidthMask);

    /// <summary>The page-table levels AW selects: AW + 2 (3 for 39-bit, 4 for 48-bit).</summary>
    public int Levels => AddressWidthCode + 2;

    /// <summary>The IOVA width AW selects: 30 + 9 × AW (39 or 48).</summary>
    public int AddressWidth => 30 + (9 * AddressWidthCode);

    /// <summary>The domain id.</summary>
    public int DomainId => (int)((High >> DomainIdShift) & 0xffff);

    /// <summary>True when a reserved bit is set or TT is the reserved value 11.</summary>
    public bool HasReservedBits =>
        (Low & LowReservedMask) != 0 || (High & HighReservedMask) != 0 || TranslationType == VtdTranslationType.Reserved;

    /// <summary>A present entry.</summary>
    public static VtdContextEntry Create(int domainId, ulong secondLevelPointer, int addressWidthCode, VtdTranslationType type) =>
        new((secondLevelPointer & PointerMask) | ((ulong)type << TranslationTypeShift) | PresentBit,
            ((ulong)(ushort)domainId << DomainIdShift) | ((ulong)addressWidthCode & AddressWidthMask));
}
