namespace IommuKit.Vfio;

/// <summary>An error a <see cref="VfioListener"/> met, recorded as a value.</summary>
/// <param name="Kind">How QEMU would treat it.</param>
/// <param name="Message">The message, QEMU's wording where it has one (<c>Region ram0: vfio_container_dma_map(...) = -22</c>).</param>
/// <param name="Errno">The container's errno, or <see cref="Linux.Errno.Ok"/> when no call failed (unaligned region).</param>
public readonly record struct VfioListenerError(VfioListenerErrorKind Kind, string Message, Linux.Errno Errno)
{
    /// <summary>Formats as <c>fatal: message</c>.</summary>
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()}: {Message}";
}
