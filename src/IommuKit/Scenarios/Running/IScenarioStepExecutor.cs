namespace IommuKit.Scenarios;

/// <summary>
/// Runs one group of step ops (container, memory map, guest / DMA) against the machine of one scenario. A fresh
/// instance is created for every scenario (<see cref="ScenarioExecutorRegistry.Add"/> takes a factory), so per-scenario
/// state may live in fields; what other executors need goes into the <see cref="ScenarioContext"/>.
/// </summary>
/// <remarks>
/// <para>Order: the runner calls <see cref="Initialize"/> on every executor in registration order (container first,
/// then memory map, then guest), then <see cref="Execute"/> for each step whose op is in <see cref="Ops"/>.</para>
/// <para>Errors: return the kernel's errno in the <see cref="StepOutcome"/>; throw <see cref="ScenarioException"/> (with
/// the step's position) for a step that cannot be run as written; any other exception is reported as a failed step.
/// A step whose op no executor claims fails as "not supported yet".</para>
/// </remarks>
public interface IScenarioStepExecutor
{
    /// <summary>The ops this executor runs (<see cref="ScenarioOps"/> names). Two executors may not claim the same op.</summary>
    IReadOnlyCollection<string> Ops { get; }

    /// <summary>
    /// The top-level keys whose configuration this executor builds (of <see cref="ScenarioDocument.MachineSections"/>).
    /// A file that writes a section no executor claims fails setup rather than silently running without it.
    /// </summary>
    IReadOnlyCollection<string> Sections { get; }

    /// <summary>Builds this executor's part of the machine from <see cref="ScenarioContext.Document"/>.</summary>
    /// <exception cref="ScenarioException">The configuration cannot be built (the scenario fails setup).</exception>
    void Initialize(ScenarioContext context);

    /// <summary>Runs <paramref name="step"/> (its op is one of <see cref="Ops"/>) and reports what happened.</summary>
    StepOutcome Execute(ScenarioStep step, ScenarioContext context);
}
