namespace IommuKit.Scenarios;

/// <summary>
/// Receives trace events from executors, one per container / listener / IOMMU event, in QEMU trace-event style:
/// a name and <c>key=value</c> arguments (<c>vfio_dma_map iova=0x1000 size=0x1000 vaddr=0x7f0000001000</c>).
/// </summary>
/// <remarks>
/// Check <see cref="IsEnabled"/> before formatting arguments: tracing is off unless <c>--trace</c> is given. Lower
/// layers (containers, memory map) do not know this interface; their executor forwards their events here.
/// </remarks>
public interface IScenarioTrace
{
    /// <summary>True when events are recorded; when false, <see cref="Event"/> may be skipped.</summary>
    bool IsEnabled { get; }

    /// <summary>Records one event: <paramref name="name"/> (<c>vfio_dma_map</c>) and its formatted arguments.</summary>
    void Event(string name, string arguments);
}
