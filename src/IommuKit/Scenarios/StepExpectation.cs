using IommuKit.Linux;

namespace IommuKit.Scenarios;

/// <summary>
/// What a step expects (its <c>expect</c> key): a result (<c>ok</c> or an errno), output values to check, or for a
/// <c>dma</c> step a fault. <c>expect-*</c> steps carry the state they check as outputs.
/// </summary>
public sealed class StepExpectation
{
    private static readonly IReadOnlyDictionary<string, ScenarioValue> NoOutputs = new Dictionary<string, ScenarioValue>();

    /// <summary>Creates an expectation.</summary>
    /// <param name="result">The expected result.</param>
    /// <param name="outputs">Output values to check by name; outputs not named are not checked.</param>
    /// <param name="fault">For <c>dma</c>: the expected fault (then <paramref name="result"/> is not checked).</param>
    public StepExpectation(Errno result, IReadOnlyDictionary<string, ScenarioValue>? outputs = null, ScenarioFault? fault = null)
    {
        Result = result;
        Outputs = outputs ?? NoOutputs;
        Fault = fault;
    }

    /// <summary>The default expectation: <c>ok</c>, no outputs checked.</summary>
    public static StepExpectation Ok { get; } = new(Errno.Ok);

    /// <summary>The expected result (<see cref="Errno.Ok"/> for <c>ok</c>).</summary>
    public Errno Result { get; }

    /// <summary>Expected outputs by name.</summary>
    public IReadOnlyDictionary<string, ScenarioValue> Outputs { get; }

    /// <summary>The expected DMA fault, or <see langword="null"/> when the step must not fault.</summary>
    public ScenarioFault? Fault { get; }

    /// <summary>Where the <c>expect</c> value is written (the step's position when it is implicit).</summary>
    public SourcePosition Position { get; init; }

    /// <summary>Formats as the file writes it: <c>ok</c>, <c>EINVAL</c>, <c>{result: ok, size: 0x10000}</c>, <c>{fault: ...}</c>.</summary>
    public override string ToString()
    {
        if (Fault is { } fault)
        {
            return "{" + fault + "}";
        }

        if (Outputs.Count == 0)
        {
            return ScenarioNames.Of(Result);
        }

        return "{result: " + ScenarioNames.Of(Result) + string.Concat(Outputs.Select(o => $", {o.Key}: {o.Value}")) + "}";
    }
}
