namespace IommuKit.Scenarios;

/// <summary>The shape of a <see cref="ScenarioValue"/>.</summary>
public enum ScenarioValueKind
{
    /// <summary>An unsigned integer up to 2^128-1.</summary>
    Number,

    /// <summary>A name or other text.</summary>
    Text,

    /// <summary>A byte string (<c>data</c> of a DMA), written as hex.</summary>
    Bytes,

    /// <summary>An ordered list of values.</summary>
    List,

    /// <summary>Named values, compared by name.</summary>
    Map,

    /// <summary>In an expectation only: matches any actual value (a left-out <c>vaddr</c>).</summary>
    Any,
}
