namespace IommuKit.Scenarios;

/// <summary>The executors a runner uses, as factories so that every scenario gets fresh instances.</summary>
public sealed class ScenarioExecutorRegistry
{
    private readonly List<Func<IScenarioStepExecutor>> _factories = [];

    /// <summary>The number of executors registered.</summary>
    public int Count => _factories.Count;

    /// <summary>Adds an executor factory; executors are initialized in the order they are added.</summary>
    /// <returns>This registry, for chaining.</returns>
    public ScenarioExecutorRegistry Add(Func<IScenarioStepExecutor> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _factories.Add(factory);
        return this;
    }

    /// <summary>Creates one instance of every executor, in registration order, and maps each op to its executor.</summary>
    /// <exception cref="InvalidOperationException">Two executors claim the same op.</exception>
    internal (IReadOnlyList<IScenarioStepExecutor> Executors, IReadOnlyDictionary<string, IScenarioStepExecutor> ByOp) Create()
    {
        var executors = new List<IScenarioStepExecutor>(_factories.Count);
        var byOp = new Dictionary<string, IScenarioStepExecutor>(StringComparer.Ordinal);
        foreach (Func<IScenarioStepExecutor> factory in _factories)
        {
            IScenarioStepExecutor executor = factory();
            foreach (string op in executor.Ops)
            {
                if (!byOp.TryAdd(op, executor))
                {
                    ThrowHelper.ThrowInvalidOperation(
                        $"op '{op}' is claimed by both {byOp[op].GetType().Name} and {executor.GetType().Name}");
                }
            }

            executors.Add(executor);
        }

        return (executors, byOp);
    }
}
