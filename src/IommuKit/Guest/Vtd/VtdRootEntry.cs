namespace IommuKit.Guest.Vtd;

/// <summary>
/// A VT-d legacy-mode root entry (128 bits, one per PCI bus in the 4 KiB root table): bit 0 P (present), bits 12..63
/// CTP, the context table's address. Bits 1..11 of the low word and the whole high word are reserved.
/// </summary>
public readonly record struct VtdRootEntry(ulong Low, ulong High)
{
    /// <summary>Bytes per root entry.</summary>
    public const int Bytes = 16;

    /// <summary>Entries per root table (one per bus).</summary>
    public const int Count = 256;

    /// <summary>Bit 0: present.</summary>
    public const ulong PresentBit = 1;

    /// <summary>Bits 12..63: context-table pointer.</summary>
    public const ulong PointerMask = ~0xfffUL;

    /// <summary>Reserved bits of the low word (1..11).</summary>
    public const ulong LowReservedMask = 0xffeUL;

    /// <summary>P.</summary>
    public bool IsPresent => (Low & PresentBit) != 0;

    /// <summary>The context table's guest-physical address.</summary>
    public ulong ContextTablePointer => Low & PointerMask;

    /// <summary>True when a reserved bit is set.</summary>
    public bool HasReservedBits => (Low & LowReservedMask) != 0 || High != 0;

    /// <summary>A present entry pointing at <paramref name="contextTable"/>.</summary>
    public static VtdRootEntry Create(ulong contextTable) => new((contextTable & PointerMask) | PresentBit, 0);
}
