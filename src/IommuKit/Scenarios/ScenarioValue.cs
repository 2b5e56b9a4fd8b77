using System.Globalization;
using System.Text;

namespace IommuKit.Scenarios;

/// <summary>
/// A step output: a number, text, bytes, or a list or map of them. Executors report outputs as these values and the
/// runner compares them with the ones a file expects (<see cref="Matches"/>).
/// </summary>
/// <remarks>
/// Immutable. Numbers are <see cref="UInt128"/> so a size of 2^64 is an ordinary output. Formatting is the scenario
/// syntax: numbers of 10 and more in hex, lists <c>[a, b]</c>, maps <c>{k: v}</c>, bytes as hex digits.
/// </remarks>
public sealed class ScenarioValue : IEquatable<ScenarioValue>
{
    private static readonly IReadOnlyDictionary<string, ScenarioValue> NoEntries = new Dictionary<string, ScenarioValue>();

    private ScenarioValue(
        ScenarioValueKind kind,
        UInt128 number = default,
        string? text = null,
        ReadOnlyMemory<byte> bytes = default,
        IReadOnlyList<ScenarioValue>? items = null,
        IReadOnlyDictionary<string, ScenarioValue>? entries = null)
    {
        Kind = kind;
        NumberValue = number;
        TextValue = text ?? string.Empty;
        BytesValue = bytes;
        Items = items ?? [];
        Entries = entries ?? NoEntries;
    }

    /// <summary>The wildcard: matches any actual value.</summary>
    public static ScenarioValue Any { get; } = new(ScenarioValueKind.Any);

    /// <summary>The shape of the value.</summary>
    public ScenarioValueKind Kind { get; }

    /// <summary>The number, for <see cref="ScenarioValueKind.Number"/> (0 otherwise).</summary>
    public UInt128 NumberValue { get; }

    /// <summary>The text, for <see cref="ScenarioValueKind.Text"/> (empty otherwise).</summary>
    public string TextValue { get; }

    /// <summary>The bytes, for <see cref="ScenarioValueKind.Bytes"/> (empty otherwise).</summary>
    public ReadOnlyMemory<byte> BytesValue { get; }

    /// <summary>The items, for <see cref="ScenarioValueKind.List"/> (empty otherwise).</summary>
    public IReadOnlyList<ScenarioValue> Items { get; }

    /// <summary>The entries, for <see cref="ScenarioValueKind.Map"/> (empty otherwise).</summary>
    public IReadOnlyDictionary<string, ScenarioValue> Entries { get; }

    /// <summary>A number.</summary>
    public static ScenarioValue Number(UInt128 value) => new(ScenarioValueKind.Number, number: value);

    /// <summary>A text value (a name).</summary>
    public static ScenarioValue Text(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(ScenarioValueKind.Text, text: value);
    }

    /// <summary>A byte string (the bytes are copied).</summary>
    public static ScenarioValue Bytes(ReadOnlySpan<byte> value) => new(ScenarioValueKind.Bytes, bytes: value.ToArray());

    /// <summary>A list of values.</summary>
    public static ScenarioValue List(params IEnumerable<ScenarioValue> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return new(ScenarioValueKind.List, items: items.ToArray());
    }

    /// <summary>A map of named values.</summary>
    public static ScenarioValue Map(params IEnumerable<KeyValuePair<string, ScenarioValue>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return new(ScenarioValueKind.Map, entries: new Dictionary<string, ScenarioValue>(entries, StringComparer.Ordinal));
    }

    /// <summary>An inclusive range as the files write it: the list <c>[first, last]</c>.</summary>
    public static ScenarioValue Range(ulong first, ulong last) => List(Number(first), Number(last));

    /// <summary>A list of numbers.</summary>
    public static ScenarioValue Numbers(params IEnumerable<UInt128> values) => List(values.Select(Number));

    /// <summary>
    /// True when <paramref name="actual"/> satisfies this expected value: <see cref="Any"/> matches anything; numbers,
    /// text and bytes match when equal; lists match item by item with the same count; a map matches when every
    /// expected entry is present in <paramref name="actual"/> and matches (extra actual entries are ignored).
    /// </summary>
    public bool Matches(ScenarioValue actual)
    {
        ArgumentNullException.ThrowIfNull(actual);
        if (Kind == ScenarioValueKind.Any)
        {
            return true;
        }

        if (Kind != actual.Kind)
        {
            return false;
        }

        switch (Kind)
        {
            case ScenarioValueKind.Number:
                return NumberValue == actual.NumberValue;
            case ScenarioValueKind.Text:
                return TextValue == actual.TextValue;
            case ScenarioValueKind.Bytes:
                return BytesValue.Span.SequenceEqual(actual.BytesValue.Span);
            case ScenarioValueKind.List:
                if (Items.Count != actual.Items.Count)
                {
                    return false;
                }

                for (int i = 0; i < Items.Count; i++)
                {
                    if (!Items[i].Matches(actual.Items[i]))
                    {
                        return false;
                    }
                }

                return true;
            default:
                foreach ((string key, ScenarioValue expected) in Entries)
                {
                    if (!actual.Entries.TryGetValue(key, out ScenarioValue? value) || !expected.Matches(value))
                    {
                        return false;
                    }
                }

                return true;
        }
    }

    /// <summary>Structural equality (<see cref="Any"/> equals only itself).</summary>
    public bool Equals(ScenarioValue? other) =>
        other is not null && Kind == other.Kind && (Kind == ScenarioValueKind.Any || (Matches(other) && other.Matches(this)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ScenarioValue);

    /// <inheritdoc />
    public override int GetHashCode() => Kind switch
    {
        ScenarioValueKind.Number => NumberValue.GetHashCode(),
        ScenarioValueKind.Text => StringComparer.Ordinal.GetHashCode(TextValue),
        ScenarioValueKind.List => HashCode.Combine(Kind, Items.Count),
        ScenarioValueKind.Map => HashCode.Combine(Kind, Entries.Count),
        _ => Kind.GetHashCode(),
    };

    /// <summary>Formats in scenario syntax: <c>0x1000</c>, <c>[0x0, 0xfff]</c>, <c>{op: map, iova: 0x0}</c>, <c>deadbeef</c>, <c>*</c>.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder();
        Append(builder);
        return builder.ToString();
    }

    private void Append(StringBuilder builder)
    {
        switch (Kind)
        {
            case ScenarioValueKind.Number:
                builder.Append(NumberValue < 10
                    ? NumberValue.ToString(CultureInfo.InvariantCulture)
                    : ScenarioNumber.Format(NumberValue));
                break;
            case ScenarioValueKind.Text:
                builder.Append(TextValue);
                break;
            case ScenarioValueKind.Bytes:
                builder.Append(BytesValue.Length == 0 ? "\"\"" : Convert.ToHexStringLower(BytesValue.Span));
                break;
            case ScenarioValueKind.List:
                builder.Append('[');
                for (int i = 0; i < Items.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(", ");
                    }

                    Items[i].Append(builder);
                }

                builder.Append(']');
                break;
            case ScenarioValueKind.Map:
                builder.Append('{');
                bool first = true;
                foreach ((string key, ScenarioValue value) in Entries)
                {
                    builder.Append(first ? string.Empty : ", ").Append(key).Append(": ");
                    value.Append(builder);
                    first = false;
                }

                builder.Append('}');
                break;
            default:
                builder.Append('*');
                break;
        }
    }
}
