namespace IommuKit.Scenarios;

/// <summary>
/// A scenario file is invalid (a YAML syntax error, an unknown key or op, a bad number, a value out of range, a
/// missing field) or a step could not be run as written. The one domain exception of the scenario layer.
/// </summary>
/// <remarks>
/// <see cref="Exception.Message"/> is <c>FILE:LINE:COLUMN: reason</c>, the form the CLI prints; <see cref="Reason"/>
/// is the reason alone.
/// </remarks>
public sealed class ScenarioException : Exception
{
    /// <summary>Creates an exception for <paramref name="position"/>.</summary>
    public ScenarioException(SourcePosition position, string reason)
        : base($"{position}: {reason}")
    {
        Position = position;
        Reason = reason;
    }

    /// <summary>Creates an exception for <paramref name="position"/> caused by <paramref name="innerException"/>.</summary>
    public ScenarioException(SourcePosition position, string reason, Exception innerException)
        : base($"{position}: {reason}", innerException)
    {
        Position = position;
        Reason = reason;
    }

    /// <summary>Creates an exception without a position (prefer the positioned constructors).</summary>
    public ScenarioException()
        : this(new SourcePosition("<unknown>", 0, 0), "invalid scenario")
    {
    }

    /// <summary>Creates an exception without a position (prefer the positioned constructors).</summary>
    public ScenarioException(string message)
        : this(new SourcePosition("<unknown>", 0, 0), message)
    {
    }

    /// <summary>Creates an exception without a position (prefer the positioned constructors).</summary>
    public ScenarioException(string message, Exception innerException)
        : this(new SourcePosition("<unknown>", 0, 0), message, innerException)
    {
    }

    /// <summary>Where the problem is.</summary>
    public SourcePosition Position { get; }

    /// <summary>The file the problem is in.</summary>
    public string File => Position.File;

    /// <summary>The 1-based line (0 when the file as a whole is at fault, for example it cannot be read).</summary>
    public int Line => Position.Line;

    /// <summary>The 1-based column (0 when the file as a whole is at fault).</summary>
    public int Column => Position.Column;

    /// <summary>What is wrong, without the position.</summary>
    public string Reason { get; }
}
