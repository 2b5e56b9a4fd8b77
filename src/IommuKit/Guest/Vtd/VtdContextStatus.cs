namespace IommuKit.Guest.Vtd;

/// <summary>Why a device's context could (not) be found (VT-d fault reasons 1..9, simplified).</summary>
public enum VtdContextStatus
{
    /// <summary>A valid, present context entry.</summary>
    Ok,

    /// <summary>The root entry of the bus is not present.</summary>
    RootNotPresent,

    /// <summary>The context entry of the devfn is not present.</summary>
    ContextNotPresent,

    /// <summary>A root or context entry has reserved bits set, an unsupported AW or the reserved TT.</summary>
    Malformed,

    /// <summary>The root table or a context table lies outside guest RAM.</summary>
    Unreadable,

    /// <summary>No root table was set (SRTP never issued).</summary>
    NoRootTable,
}
