using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace IommuKit;

/// <summary>
/// Throws caller-mistake exceptions out of line so hot methods stay small (the BCL's ThrowHelper pattern).
/// Messages name the offending value in hex and the limit that was crossed.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, string message) =>
        throw new ArgumentOutOfRangeException(paramName, message);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) =>
        throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static T ThrowInvalidOperation<T>(string message) =>
        throw new InvalidOperationException(message);

    /// <summary>Formats an address as <c>0x</c> followed by lower-case hex digits.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Formats a 128-bit size as <c>0x</c> followed by lower-case hex digits (2^64 prints as 0x10000000000000000).</summary>
    public static string Hex(UInt128 value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
