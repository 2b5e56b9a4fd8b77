using IommuKit.Linux;

namespace IommuKit.MemoryMap;

/// <summary>
/// The outcome of registering an <see cref="IommuNotifier"/>: OK, or the errno and message a vIOMMU refused it with
/// (QEMU's <c>notify_flag_changed</c> error, for example ENOTSUP "device 00:03.0 requires caching mode").
/// </summary>
/// <param name="Error"><see cref="Errno.Ok"/> on success.</param>
/// <param name="Message">Why it was refused; null on success.</param>
public readonly record struct IommuRegistrationResult(Errno Error, string? Message)
{
    /// <summary>Success.</summary>
    public static IommuRegistrationResult Ok => default;

    /// <summary>True on success.</summary>
    public bool IsOk => Error == Errno.Ok;

    /// <summary>A refusal.</summary>
    public static IommuRegistrationResult Fail(Errno error, string message) => new(error, message);
}
