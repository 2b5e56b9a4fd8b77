namespace IommuKit.Scenarios;

/// <summary>
/// A <c>[start, last]</c> pair exactly as written in a step (<c>ioas-allow-iovas</c>, <c>ioas-reserve</c>). Unlike
/// <see cref="Addressing.IovaRange"/> it may be inverted (<c>last &lt; start</c>): the container, not the parser,
/// answers that with its errno.
/// </summary>
/// <param name="Start">The first address as written.</param>
/// <param name="Last">The last address (inclusive) as written.</param>
public readonly record struct ScenarioRange(ulong Start, ulong Last)
{
    /// <summary>Formats as <c>[0x1000, 0x1fff]</c>.</summary>
    public override string ToString() => $"[{ScenarioNumber.Format(Start)}, {ScenarioNumber.Format(Last)}]";
}
