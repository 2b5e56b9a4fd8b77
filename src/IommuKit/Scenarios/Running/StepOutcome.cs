using IommuKit.Linux;

namespace IommuKit.Scenarios;

/// <summary>
/// What a step did, as an executor reports it: a result (<see cref="Errno.Ok"/> or the errno the kernel returns),
/// output values by name, a DMA fault, or "not supported yet". Immutable; build it with the factories and
/// <see cref="With(string, ScenarioValue)"/>.
/// </summary>
public sealed class StepOutcome
{
    private static readonly Dictionary<string, ScenarioValue> NoOutputs = new(StringComparer.Ordinal);

    private StepOutcome(Errno result, IReadOnlyDictionary<string, ScenarioValue> outputs, ScenarioFault? fault, string? notRun)
    {
        Result = result;
        Outputs = outputs;
        Fault = fault;
        NotRunReason = notRun;
    }

    /// <summary>Success with no outputs.</summary>
    public static StepOutcome Ok { get; } = new(Errno.Ok, NoOutputs, null, null);

    /// <summary>The result: <see cref="Errno.Ok"/> or an errno.</summary>
    public Errno Result { get; }

    /// <summary>Output values by name (in the shapes of <see cref="ScenarioOutputs"/>).</summary>
    public IReadOnlyDictionary<string, ScenarioValue> Outputs { get; }

    /// <summary>The DMA fault, when the step is a refused <c>dma</c>.</summary>
    public ScenarioFault? Fault { get; }

    /// <summary>Why the step did not run (not supported yet, setup failed, executor error); <see langword="null"/> when it ran.</summary>
    public string? NotRunReason { get; }

    /// <summary>True when the step ran (it may still have failed with an errno).</summary>
    public bool WasRun => NotRunReason is null;

    /// <summary>The kernel answered <paramref name="errno"/> (<see cref="Errno.Ok"/> for success).</summary>
    public static StepOutcome FromErrno(Errno errno) => errno == Errno.Ok ? Ok : new(errno, NoOutputs, null, null);

    /// <summary>The DMA was refused with <paramref name="fault"/>.</summary>
    public static StepOutcome Faulted(ScenarioFault fault) => new(Errno.Ok, NoOutputs, fault, null);

    /// <summary>The step's op or configuration is not supported yet: <paramref name="reason"/> (always a failed expectation).</summary>
    public static StepOutcome NotSupported(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(Errno.Ok, NoOutputs, null, "not supported yet: " + reason);
    }

    /// <summary>The step did not run: <paramref name="reason"/> (always a failed expectation).</summary>
    public static StepOutcome NotRun(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(Errno.Ok, NoOutputs, null, reason);
    }

    /// <summary>A copy with output <paramref name="name"/> set to <paramref name="value"/>.</summary>
    public StepOutcome With(string name, ScenarioValue value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        var outputs = new Dictionary<string, ScenarioValue>(Outputs, StringComparer.Ordinal) { [name] = value };
        return new StepOutcome(Result, outputs, Fault, NotRunReason);
    }

    /// <summary>A copy with the number output <paramref name="name"/> set to <paramref name="value"/>.</summary>
    public StepOutcome With(string name, UInt128 value) => With(name, ScenarioValue.Number(value));

    /// <summary>Formats as <c>ok</c>, <c>EINVAL</c>, <c>ok {size: 0x1000}</c>, <c>fault: not-present, stage: host</c> or <c>not run</c>.</summary>
    public override string ToString()
    {
        if (NotRunReason is not null)
        {
            return "not run";
        }

        if (Fault is { } fault)
        {
            return fault.ToString();
        }

        string result = ScenarioNames.Of(Result);
        return Outputs.Count == 0
            ? result
            : result + " {" + string.Join(", ", Outputs.Select(o => $"{o.Key}: {o.Value}")) + "}";
    }
}
