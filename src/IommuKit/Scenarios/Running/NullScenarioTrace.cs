namespace IommuKit.Scenarios;

/// <summary>A trace that records nothing (<see cref="IsEnabled"/> is false).</summary>
public sealed class NullScenarioTrace : IScenarioTrace
{
    private NullScenarioTrace()
    {
    }

    /// <summary>The instance.</summary>
    public static NullScenarioTrace Instance { get; } = new();

    /// <inheritdoc />
    public bool IsEnabled => false;

    /// <inheritdoc />
    public void Event(string name, string arguments)
    {
    }
}
