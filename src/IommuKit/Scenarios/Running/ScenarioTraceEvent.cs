namespace IommuKit.Scenarios;

/// <summary>A recorded trace event.</summary>
/// <param name="Sequence">Order among the events and step results of its file (results and events share the counter).</param>
/// <param name="StepPath">The path of the step that was running (<c>3</c>, <c>3.1</c>); empty during setup.</param>
/// <param name="Name">The event name (<c>vfio_dma_map</c>).</param>
/// <param name="Arguments">The formatted arguments.</param>
public sealed record ScenarioTraceEvent(long Sequence, string StepPath, string Name, string Arguments)
{
    /// <summary>The QEMU trace-event line: <c>name arguments</c>.</summary>
    public override string ToString() => Arguments.Length == 0 ? Name : $"{Name} {Arguments}";
}
