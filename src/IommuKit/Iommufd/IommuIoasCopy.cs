namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_ioas_copy</c> (<c>IOMMU_IOAS_COPY</c>, 0x83).</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (40 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuIoasCopy
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 40;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 40;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuIoasCopy() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>flags</c>: <see cref="IoasMapFlags"/>.</summary>
    public IoasMapFlags Flags { get; set; }

    /// <summary><c>dst_ioas_id</c>.</summary>
    public uint DstIoasId { get; set; }

    /// <summary><c>src_ioas_id</c>.</summary>
    public uint SrcIoasId { get; set; }

    /// <summary><c>length</c> in bytes.</summary>
    public ulong Length { get; set; }

    /// <summary><c>dst_iova</c>: input with <see cref="IoasMapFlags.FixedIova"/>, else the allocated IOVA (output).</summary>
    public ulong DstIova { get; set; }

    /// <summary><c>src_iova</c>.</summary>
    public ulong SrcIova { get; set; }
}
