namespace IommuKit.Scenarios;

/// <summary>The <c>direction</c> of a <c>dma</c> step, from the device's point of view.</summary>
public enum DmaDirection
{
    /// <summary><c>read</c>: the device reads memory.</summary>
    Read,

    /// <summary><c>write</c>: the device writes memory.</summary>
    Write,
}
