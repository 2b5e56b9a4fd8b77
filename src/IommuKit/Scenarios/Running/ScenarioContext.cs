using System.Diagnostics.CodeAnalysis;

namespace IommuKit.Scenarios;

/// <summary>
/// The state of one running scenario: its document, the trace sink, and the parts of the machine under test that
/// executors share, stored by type (the container executor <c>Set</c>s its container; the listener executor
/// <c>Get</c>s it).
/// </summary>
public sealed class ScenarioContext
{
    private readonly Dictionary<Type, object> _components = [];
    private Func<ScenarioStep, StepResult>? _runNested;

    /// <summary>Creates a context for <paramref name="document"/> (executor tests may create one directly).</summary>
    public ScenarioContext(ScenarioDocument document, IScenarioTrace? trace = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        Document = document;
        Trace = trace ?? NullScenarioTrace.Instance;
    }

    /// <summary>The scenario being run.</summary>
    public ScenarioDocument Document { get; }

    /// <summary>Where executors send trace events.</summary>
    public IScenarioTrace Trace { get; }

    /// <summary>Stores <paramref name="component"/> under its type <typeparamref name="T"/>, replacing any earlier one.</summary>
    public void Set<T>(T component)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(component);
        _components[typeof(T)] = component;
    }

    /// <summary>The component stored under <typeparamref name="T"/>, if any.</summary>
    public bool TryGet<T>([NotNullWhen(true)] out T? component)
        where T : class
    {
        component = _components.GetValueOrDefault(typeof(T)) as T;
        return component is not null;
    }

    /// <summary>The component stored under <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">No component of that type was stored.</exception>
    public T Get<T>()
        where T : class =>
        TryGet(out T? component)
            ? component
            : ThrowHelper.ThrowInvalidOperation<T>($"no {typeof(T).Name} in this scenario: the executor that builds it is not registered or ran later");

    /// <summary>
    /// Runs a nested step (of a <see cref="TransactionStep"/>) through the runner: its executor runs, its expectation
    /// is checked and its result is recorded like any other step's.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is not driven by a <see cref="ScenarioRunner"/>.</exception>
    public StepResult RunNested(ScenarioStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return _runNested is null
            ? ThrowHelper.ThrowInvalidOperation<StepResult>("nested steps run only under a ScenarioRunner")
            : _runNested(step);
    }

    internal void AttachRunner(Func<ScenarioStep, StepResult> runNested) => _runNested = runNested;
}
