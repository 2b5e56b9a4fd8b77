namespace IommuKit.Scenarios;

/// <summary>Why a DMA faulted, as a scenario names it (<c>expect: { fault: ... }</c>).</summary>
public enum ScenarioFaultKind
{
    /// <summary><c>not-present</c>: nothing maps the address.</summary>
    NotPresent,

    /// <summary><c>read-only</c>: a write to a read-only mapping.</summary>
    ReadOnly,

    /// <summary><c>write-only</c>: a read of a write-only mapping.</summary>
    WriteOnly,

    /// <summary><c>out-of-range</c>: the address is beyond the table's input width or the aperture.</summary>
    OutOfRange,
}
