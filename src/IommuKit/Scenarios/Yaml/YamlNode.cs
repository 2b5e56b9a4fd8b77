namespace IommuKit.Scenarios.Yaml;

/// <summary>A node of a scenario file's YAML tree, with the position of its first character.</summary>
/// <remarks>
/// The scenario parser reads YamlDotNet's event stream into these small nodes instead of its representation model so
/// that duplicate keys, anchors and nesting depth are checked with a position before anything is interpreted.
/// </remarks>
internal abstract class YamlNode
{
    protected YamlNode(SourcePosition position) => Position = position;

    public SourcePosition Position { get; }

    /// <summary>The YAML kind as a message names it: <c>a map</c>, <c>a list</c>, <c>a scalar</c>.</summary>
    public abstract string KindName { get; }
}

/// <summary>A scalar (a plain or quoted string) of the YAML tree.</summary>
internal sealed class YamlScalar : YamlNode
{
    public YamlScalar(SourcePosition position, string value, bool isPlain)
        : base(position)
    {
        Value = value;
        IsPlain = isPlain;
    }

    public string Value { get; }

    /// <summary>True for an unquoted scalar.</summary>
    public bool IsPlain { get; }

    /// <summary>True for a plain empty scalar, <c>~</c> or <c>null</c> (a key written without a value).</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string KindName => IsNull ? "an empty value" : $"the scalar '{ScenarioNumber.Shorten(Value)}'";
}

/// <summary>A map of the YAML tree; keys are scalars, unique, in file order.</summary>
internal sealed class YamlMap : YamlNode
{
    public YamlMap(SourcePosition position, IReadOnlyList<KeyValuePair<YamlScalar, YamlNode>> entries)
        : base(position) => Entries = entries;

    public IReadOnlyList<KeyValuePair<YamlScalar, YamlNode>> Entries { get; }

    public override string KindName => "a map";
}

/// <summary>A sequence of the YAML tree.</summary>
internal sealed class YamlSequence : YamlNode
{
    public YamlSequence(SourcePosition position, IReadOnlyList<YamlNode> items)
        : base(position) => Items = items;

    public IReadOnlyList<YamlNode> Items { get; }

    public override string KindName => "a list";
}
