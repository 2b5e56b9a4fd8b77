using System.Globalization;

namespace IommuKit.Scenarios;

/// <summary>
/// The integer syntax of scenario files: decimal (<c>4096</c>, <c>1_000</c>), hex with optional underscores
/// (<c>0xffff_ffff_ffff_f000</c>), a decimal with a binary suffix (<c>4K</c>, <c>2M</c>, <c>1G</c>, <c>1T</c>:
/// 2^10..2^40 multiples), a power of two (<c>2^64</c>) and <c>U64_MAX</c> (2^64-1).
/// </summary>
/// <remarks>
/// Numbers are parsed into <see cref="UInt128"/> so that a size of exactly 2^64 is an ordinary value; the field
/// decides the limit (<see cref="TryParseAddress"/>: 64 bits, <see cref="TryParseSize"/>: at most 2^64). Underscores
/// may only separate digits. Suffixes are upper-case and apply to decimal numbers only. Negative numbers and
/// fractions (<c>1.5G</c>) are rejected.
/// </remarks>
public static class ScenarioNumber
{
    /// <summary>2^64, the largest size a field may hold.</summary>
    public static readonly UInt128 TwoTo64 = (UInt128)1 << 64;

    private const string Forms = "decimal, 0x hex, 4K/2M/1G/1T, 2^N or U64_MAX";

    /// <summary>Parses any scenario integer that fits in 128 bits.</summary>
    /// <param name="text">The scalar text.</param>
    /// <param name="value">The value, when the result is true.</param>
    /// <param name="error">Why the text is not a number, when the result is false.</param>
    public static bool TryParse(ReadOnlySpan<char> text, out UInt128 value, out string? error)
    {
        value = 0;
        error = null;
        if (text.IsEmpty)
        {
            error = "expected a number, found an empty value";
            return false;
        }

        if (text.SequenceEqual("U64_MAX"))
        {
            value = ulong.MaxValue;
            return true;
        }

        if (text[0] == '-')
        {
            error = $"'{Shorten(text)}' is negative: numbers here are unsigned";
            return false;
        }

        int caret = text.IndexOf('^');
        if (caret >= 0)
        {
            return TryParsePower(text, caret, out value, out error);
        }

        if (text.Length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        {
            return TryParseDigits(text, text[2..], 16, out value, out error);
        }

        int shift = text[^1] switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            _ => 0,
        };
        ReadOnlySpan<char> digits = shift == 0 ? text : text[..^1];
        if (!TryParseDigits(text, digits, 10, out value, out error))
        {
            return false;
        }

        // value << shift fits in 128 bits exactly when value < 2^(128 - shift).
        if (shift != 0 && value > (UInt128.MaxValue >> shift))
        {
            error = $"'{Shorten(text)}' does not fit in 128 bits";
            value = 0;
            return false;
        }

        value <<= shift;
        return true;
    }

    /// <summary>Parses a size: at most 2^64 (a size of exactly 2^64 is the whole 64-bit space).</summary>
    public static bool TryParseSize(ReadOnlySpan<char> text, out UInt128 value, out string? error)
    {
        if (!TryParse(text, out value, out error))
        {
            return false;
        }

        if (value > TwoTo64)
        {
            error = $"'{Shorten(text)}' exceeds 2^64, the largest size";
            value = 0;
            return false;
        }

        return true;
    }

    /// <summary>Parses an address or any other 64-bit value: at most 2^64-1.</summary>
    public static bool TryParseAddress(ReadOnlySpan<char> text, out ulong value, out string? error)
    {
        value = 0;
        if (!TryParse(text, out UInt128 wide, out error))
        {
            return false;
        }

        if (wide > ulong.MaxValue)
        {
            error = $"'{Shorten(text)}' does not fit in 64 bits";
            return false;
        }

        value = (ulong)wide;
        return true;
    }

    /// <summary>Formats a number as lower-case hex with a <c>0x</c> prefix (2^64 prints as <c>0x10000000000000000</c>).</summary>
    public static string Format(UInt128 value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static bool TryParsePower(ReadOnlySpan<char> text, int caret, out UInt128 value, out string? error)
    {
        value = 0;
        error = null;
        if (!text[..caret].SequenceEqual("2"))
        {
            error = $"'{Shorten(text)}' is not a number ({Forms}): only powers of two are written with '^'";
            return false;
        }

        ReadOnlySpan<char> exponentText = text[(caret + 1)..];
        if (!TryParseDigits(text, exponentText, 10, out UInt128 exponent, out error))
        {
            return false;
        }

        if (exponent > 127)
        {
            error = $"'{Shorten(text)}' does not fit in 128 bits";
            return false;
        }

        value = (UInt128)1 << (int)exponent;
        return true;
    }

    private static bool TryParseDigits(ReadOnlySpan<char> whole, ReadOnlySpan<char> digits, int radix, out UInt128 value, out string? error)
    {
        value = 0;
        error = null;
        if (digits.IsEmpty || digits[0] == '_' || digits[^1] == '_')
        {
            error = $"'{Shorten(whole)}' is not a number ({Forms})";
            return false;
        }

        // Overflow guard: value * radix + digit <= 2^128 - 1 holds exactly when value <= (2^128 - 1 - digit) / radix.
        for (int i = 0; i < digits.Length; i++)
        {
            char c = digits[i];
            if (c == '_')
            {
                if (digits[i - 1] == '_')
                {
                    error = $"'{Shorten(whole)}' is not a number ({Forms}): underscores only separate digits";
                    return false;
                }

                continue;
            }

            int digit = DigitValue(c);
            if (digit < 0 || digit >= radix)
            {
                error = $"'{Shorten(whole)}' is not a number ({Forms})";
                value = 0;
                return false;
            }

            if (value > (UInt128.MaxValue - (uint)digit) / (uint)radix)
            {
                error = $"'{Shorten(whole)}' does not fit in 128 bits";
                value = 0;
                return false;
            }

            value = (value * (uint)radix) + (uint)digit;
        }

        return true;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Quotes at most 40 characters of hostile input in a message.</summary>
    internal static string Shorten(ReadOnlySpan<char> text) =>
        text.Length <= 40 ? text.ToString() : string.Concat(text[..37], "...");
}
