namespace IommuKit.Guest.Vtd;

/// <summary>The TT field (bits 3:2) of a legacy-mode context entry.</summary>
public enum VtdTranslationType
{
    /// <summary>00: untranslated requests go through second-level translation; translated requests are blocked.</summary>
    Untranslated = 0,

    /// <summary>01: like <see cref="Untranslated"/>, and the device may use a device-TLB (ATS).</summary>
    DeviceTlb = 1,

    /// <summary>10: pass-through, untranslated requests use their address as the host address.</summary>
    PassThrough = 2,

    /// <summary>11: reserved; the entry is malformed.</summary>
    Reserved = 3,
}
