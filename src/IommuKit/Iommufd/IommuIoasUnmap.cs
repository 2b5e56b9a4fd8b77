namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_ioas_unmap</c> (<c>IOMMU_IOAS_UNMAP</c>, 0x86). <c>iova = 0, length = U64_MAX</c> unmaps everything.</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (24 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuIoasUnmap
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 24;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 24;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuIoasUnmap() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>ioas_id</c>.</summary>
    public uint IoasId { get; set; }

    /// <summary><c>iova</c>.</summary>
    public ulong Iova { get; set; }

    /// <summary><c>length</c>: IN the bytes to unmap, OUT the bytes unmapped (a u64: a full 2^64 total shows as 0).</summary>
    public ulong Length { get; set; }
}
