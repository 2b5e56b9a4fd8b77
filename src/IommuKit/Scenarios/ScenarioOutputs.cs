using IommuKit.Addressing;

namespace IommuKit.Scenarios;

/// <summary>
/// Builds step outputs in the shape the runner compares them in. Executors use these so that their actual values and
/// the expected values the parser builds from the file agree on the layout.
/// </summary>
public static class ScenarioOutputs
{
    /// <summary>Output name of <c>expect-mappings</c>.</summary>
    public const string MappingsName = "mappings";

    /// <summary>Output name of <c>expect-flatview</c>.</summary>
    public const string FlatRangesName = "ranges";

    /// <summary>Output name of <c>expect-listener-calls</c>.</summary>
    public const string ListenerCallsName = "calls";

    /// <summary>Output name of <c>expect-stale</c>.</summary>
    public const string StaleCountName = "count";

    /// <summary>Output name of <c>expect-faults</c>: the number of records in the stage's fault log.</summary>
    public const string FaultCountName = "count";

    /// <summary>Output name of <c>expect-faults</c>: the newest record, <c>{ fault, iova }</c> (see <see cref="LastFault(ScenarioFaultKind, ulong)"/>).</summary>
    public const string LastFaultName = "last";

    /// <summary>Output names of <c>expect-iotlb</c>.</summary>
    public const string HitsName = "hits";

    /// <summary>Output names of <c>expect-iotlb</c>.</summary>
    public const string MissesName = "misses";

    /// <summary><c>mappings</c> of <c>expect-mappings</c>: a list of <c>[iova, last, vaddr]</c>, ascending.</summary>
    public static ScenarioValue Mappings(IEnumerable<(ulong Iova, ulong Last, ulong Vaddr)> mappings) =>
        ScenarioValue.List(mappings.Select(m => ScenarioValue.List(
            ScenarioValue.Number(m.Iova), ScenarioValue.Number(m.Last), ScenarioValue.Number(m.Vaddr))));

    /// <summary><c>ranges</c> of <c>expect-flatview</c>: a list of <c>[first, last, region-name]</c>, ascending.</summary>
    public static ScenarioValue FlatRanges(IEnumerable<(ulong First, ulong Last, string Region)> ranges) =>
        ScenarioValue.List(ranges.Select(r => ScenarioValue.List(
            ScenarioValue.Number(r.First), ScenarioValue.Number(r.Last), ScenarioValue.Text(r.Region))));

    /// <summary><c>calls</c> of <c>expect-listener-calls</c>: a list of <c>{op, iova, size}</c> maps, in call order.</summary>
    public static ScenarioValue ListenerCalls(IEnumerable<(ListenerCallKind Kind, ulong Iova, UInt128 Size)> calls) =>
        ScenarioValue.List(calls.Select(c => ListenerCall(c.Kind, c.Iova, c.Size)));

    /// <summary>A list of inclusive ranges (<c>iova-ranges</c> of <c>get-info</c>, <c>ranges</c> of <c>ioas-iova-ranges</c>).</summary>
    public static ScenarioValue Ranges(IEnumerable<IovaRange> ranges) =>
        ScenarioValue.List(ranges.Select(r => ScenarioValue.Range(r.First, r.Last)));

    /// <summary><c>page-sizes</c> of <c>get-info</c>: the list of sizes in the bitmap, ascending.</summary>
    public static ScenarioValue PageSizeList(ulong bitmap)
    {
        var sizes = new List<ScenarioValue>();
        for (int bit = 0; bit < 64; bit++)
        {
            if ((bitmap & (1UL << bit)) != 0)
            {
                sizes.Add(ScenarioValue.Number(1UL << bit));
            }
        }

        return ScenarioValue.List(sizes);
    }

    /// <summary><c>last</c> of <c>expect-faults</c>: a <c>{ fault, iova }</c> map of the newest fault record.</summary>
    public static ScenarioValue LastFault(ScenarioFaultKind fault, ulong iova) =>
        LastFault(ScenarioValue.Text(ScenarioNames.Of(fault)), ScenarioValue.Number(iova));

    internal static ScenarioValue LastFault(ScenarioValue fault, ScenarioValue iova) =>
        ScenarioValue.Map(
            new KeyValuePair<string, ScenarioValue>("fault", fault),
            new KeyValuePair<string, ScenarioValue>("iova", iova));

    internal static ScenarioValue ListenerCall(ListenerCallKind kind, ScenarioValue iova, ScenarioValue size) =>
        ScenarioValue.Map(
            new KeyValuePair<string, ScenarioValue>("op", ScenarioValue.Text(ScenarioNames.Of(kind))),
            new KeyValuePair<string, ScenarioValue>("iova", iova),
            new KeyValuePair<string, ScenarioValue>("size", size));

    private static ScenarioValue ListenerCall(ListenerCallKind kind, ulong iova, UInt128 size) =>
        ListenerCall(kind, ScenarioValue.Number(iova), ScenarioValue.Number(size));
}
