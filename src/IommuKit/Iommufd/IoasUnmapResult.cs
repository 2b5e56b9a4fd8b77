using IommuKit.Linux;

namespace IommuKit.Iommufd;

/// <summary>The outcome of <see cref="Ioas.Unmap(IommuKit.Addressing.IovaRange)"/>: an errno and the bytes unmapped.</summary>
/// <param name="Errno"><see cref="Errno.Ok"/> or the failure.</param>
/// <param name="Bytes">Bytes unmapped, 0 .. 2^64 (never wraps; the UAPI's u64 <c>length</c> shows 2^64 as 0).</param>
public readonly record struct IoasUnmapResult(Errno Errno, UInt128 Bytes)
{
    /// <summary>True on success.</summary>
    public bool IsOk => Errno == Errno.Ok;
}
