namespace IommuKit.Scenarios;

/// <summary>The executors <c>iommukit run</c> uses.</summary>
/// <remarks>
/// Register a new executor with one line in <see cref="Create"/>, in machine order: containers first (they own
/// <c>iommu</c>, <c>container</c>, <c>host-memory</c>), then the memory map and listener, then the guest and devices.
/// </remarks>
public static class DefaultScenarioExecutors
{
    /// <summary>Creates the registry of every executor available.</summary>
    public static ScenarioExecutorRegistry Create()
    {
        var registry = new ScenarioExecutorRegistry();
        registry.Add(() => new Executors.ContainerExecutor());
        registry.Add(() => new Executors.MemoryMapExecutor());
        registry.Add(() => new Executors.GuestScenarioExecutor());
        return registry;
    }
}
