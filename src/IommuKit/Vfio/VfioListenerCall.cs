using System.Globalization;

namespace IommuKit.Vfio;

/// <summary>One container call made by a <see cref="VfioListener"/>, with the arguments passed and the answer.</summary>
/// <param name="Kind">The call.</param>
/// <param name="Iova">The iova argument.</param>
/// <param name="Size">The size argument: 1 .. 2^64-1 for the UAPI calls, exactly 2^64 only for a native full-range
/// call; for <see cref="VfioListenerCallKind.UnmapAll"/> what the kernel was passed (type1 0, iommufd U64_MAX).</param>
/// <param name="Vaddr">For a map: the process address; 0 otherwise.</param>
/// <param name="ReadOnly">For a map: true when mapped without write permission.</param>
/// <param name="Native">True for an IommuKit-native full-range call.</param>
/// <param name="Result">The container's answer.</param>
public readonly record struct VfioListenerCall(
    VfioListenerCallKind Kind, ulong Iova, UInt128 Size, ulong Vaddr, bool ReadOnly, bool Native, Linux.Errno Result)
{
    /// <summary>Formats as <c>map iova=0x0 size=0x1000 vaddr=0x7f0000000000 rw -> ok</c>.</summary>
    public override string ToString() => Kind switch
    {
        VfioListenerCallKind.Map => string.Create(CultureInfo.InvariantCulture,
            $"map iova={ThrowHelper.Hex(Iova)} size={ThrowHelper.Hex(Size)} vaddr={ThrowHelper.Hex(Vaddr)} {(ReadOnly ? "ro" : "rw")}{(Native ? " native" : "")} -> {Result}"),
        VfioListenerCallKind.Unmap => string.Create(CultureInfo.InvariantCulture,
            $"unmap iova={ThrowHelper.Hex(Iova)} size={ThrowHelper.Hex(Size)}{(Native ? " native" : "")} -> {Result}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"unmap-all iova={ThrowHelper.Hex(Iova)} size={ThrowHelper.Hex(Size)} -> {Result}"),
    };
}
