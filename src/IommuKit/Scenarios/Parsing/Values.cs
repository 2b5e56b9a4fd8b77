using System.Numerics;
using IommuKit.Addressing;
using IommuKit.Scenarios.Yaml;

namespace IommuKit.Scenarios.Parsing;

/// <summary>Converts YAML nodes to typed values, rejecting wrong shapes and out-of-range values with their position.</summary>
internal static class Values
{
    public static YamlMap Map(YamlNode node, string what) => node as YamlMap
        ?? throw new ScenarioException(node.Position, $"{what} must be a map, found {node.KindName}");

    public static YamlSequence List(YamlNode node, string what) => node as YamlSequence
        ?? throw new ScenarioException(node.Position, $"{what} must be a list, found {node.KindName}");

    public static YamlScalar Scalar(YamlNode node, string what)
    {
        if (node is not YamlScalar scalar || scalar.IsNull)
        {
            throw new ScenarioException(node.Position, $"{what} must be a single value, found {node.KindName}");
        }

        return scalar;
    }

    public static string Text(YamlNode node, string what) => Scalar(node, what).Value;

    /// <summary>A name: non-empty text.</summary>
    public static string Name(YamlNode node, string what)
    {
        string text = Text(node, what);
        if (text.Length == 0)
        {
            throw new ScenarioException(node.Position, $"{what} must not be empty");
        }

        return text;
    }

    public static ulong Address(YamlNode node, string what)
    {
        YamlScalar scalar = Scalar(node, what);
        if (!ScenarioNumber.TryParseAddress(scalar.Value, out ulong value, out string? error))
        {
            throw new ScenarioException(node.Position, $"{what}: {error}");
        }

        return value;
    }

    public static UInt128 Size(YamlNode node, string what)
    {
        YamlScalar scalar = Scalar(node, what);
        if (!ScenarioNumber.TryParseSize(scalar.Value, out UInt128 value, out string? error))
        {
            throw new ScenarioException(node.Position, $"{what}: {error}");
        }

        return value;
    }

    /// <summary>A signed 32-bit integer in <c>[min, max]</c> (decimal, optionally negative, or any unsigned form).</summary>
    public static int Int32(YamlNode node, string what, int min, int max)
    {
        YamlScalar scalar = Scalar(node, what);
        string text = scalar.Value;
        bool negative = text.StartsWith('-');
        if (!ScenarioNumber.TryParse(negative ? text.AsSpan(1) : text, out UInt128 magnitude, out string? error))
        {
            throw new ScenarioException(node.Position, $"{what}: {error}");
        }

        // |value| <= 2^31 is checked in 128 bits before narrowing, so the negation cannot overflow.
        long value = magnitude > (UInt128)int.MaxValue + 1 ? long.MaxValue : (long)magnitude;
        value = negative ? -value : value;
        if (value < min || value > max)
        {
            throw new ScenarioException(node.Position, $"{what} must be in [{min}, {max}], found '{ScenarioNumber.Shorten(text)}'");
        }

        return (int)value;
    }

    public static bool Bool(YamlNode node, string what)
    {
        string text = Text(node, what);
        return text switch
        {
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ => throw new ScenarioException(node.Position, $"{what} must be true or false, found '{ScenarioNumber.Shorten(text)}'"),
        };
    }

    public static T Enum<T>(YamlNode node, NameTable<T> table, string what)
        where T : struct, System.Enum
    {
        string text = Text(node, what);
        if (!table.TryParse(text, out T value))
        {
            throw new ScenarioException(node.Position, $"{what}: '{ScenarioNumber.Shorten(text)}' is not one of {table.Choices}");
        }

        return value;
    }

    /// <summary>A list of flag names, combined; a flag named twice is rejected.</summary>
    public static T Flags<T>(YamlNode node, NameTable<T> table, string what)
        where T : struct, System.Enum
    {
        YamlSequence list = List(node, what);
        int combined = 0;
        foreach (YamlNode item in list.Items)
        {
            int bit = Convert.ToInt32(Enum(item, table, what), System.Globalization.CultureInfo.InvariantCulture);
            if ((combined & bit) != 0)
            {
                throw new ScenarioException(item.Position, $"{what}: '{Text(item, what)}' is given twice");
            }

            combined |= bit;
        }

        return (T)System.Enum.ToObject(typeof(T), combined);
    }

    /// <summary>A <c>[a, b]</c> pair of 64-bit values, kept as written.</summary>
    public static ScenarioRange Pair(YamlNode node, string what)
    {
        YamlSequence list = List(node, what);
        if (list.Items.Count != 2)
        {
            throw new ScenarioException(node.Position, $"{what} must be a pair [start, last], found {list.Items.Count} items");
        }

        return new ScenarioRange(Address(list.Items[0], what + " start"), Address(list.Items[1], what + " last"));
    }

    /// <summary>A <c>[first, last]</c> pair with <c>first &lt;= last</c>.</summary>
    public static IovaRange InclusiveRange(YamlNode node, string what)
    {
        ScenarioRange pair = Pair(node, what);
        if (!IovaRange.TryFromFirstLast(pair.Start, pair.Last, out IovaRange range))
        {
            throw new ScenarioException(node.Position, $"{what}: last {ScenarioNumber.Format(pair.Last)} is below first {ScenarioNumber.Format(pair.Start)}");
        }

        return range;
    }

    /// <summary>A power-of-two page size below 2^64.</summary>
    public static ulong PageSize(YamlNode node, string what)
    {
        ulong size = Address(node, what);
        if (!BitOperations.IsPow2(size))
        {
            throw new ScenarioException(node.Position, $"{what}: {ScenarioNumber.Format(size)} is not a power of two");
        }

        return size;
    }

    /// <summary>
    /// Hex bytes: pairs of hex digits, first pair first, with an optional <c>0x</c> prefix and <c>_</c> or spaces
    /// between digits for readability (<c>dead_beef</c>).
    /// </summary>
    public static byte[] Bytes(YamlNode node, string what)
    {
        if (node is YamlScalar { IsNull: false, Value.Length: 0 })
        {
            return [];
        }

        string text = Text(node, what);
        ReadOnlySpan<char> digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text.AsSpan(2) : text;
        var hex = new System.Text.StringBuilder(digits.Length);
        foreach (char c in digits)
        {
            if (c is '_' or ' ')
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c))
            {
                throw new ScenarioException(node.Position, $"{what}: '{ScenarioNumber.Shorten(text)}' is not hex bytes");
            }

            hex.Append(c);
        }

        if (hex.Length % 2 != 0)
        {
            throw new ScenarioException(node.Position, $"{what}: '{ScenarioNumber.Shorten(text)}' has an odd number of hex digits");
        }

        return Convert.FromHexString(hex.ToString());
    }
}
