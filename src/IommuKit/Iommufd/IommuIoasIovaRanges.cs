namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_ioas_iova_ranges</c> (<c>IOMMU_IOAS_IOVA_RANGES</c>, 0x84). <see cref="AllowedIovas"/> stands for the user array pointed to by <c>allowed_iovas</c>.</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (32 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuIoasIovaRanges
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 32;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 32;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuIoasIovaRanges() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>ioas_id</c>.</summary>
    public uint IoasId { get; set; }

    /// <summary><c>num_iovas</c>: IN the capacity of <see cref="AllowedIovas"/>, OUT the total number of ranges.</summary>
    public uint NumIovas { get; set; }

    /// <summary><c>__reserved</c>: must be 0 (EOPNOTSUPP otherwise).</summary>
    public uint Reserved { get; set; }

    /// <summary>The user array the kernel fills (the first <see cref="NumIovas"/> entries); writing past its end gives EFAULT.</summary>
    public IommuIovaRange[]? AllowedIovas { get; set; }

    /// <summary><c>out_iova_alignment</c>: the IOVA alignment every map must respect (output).</summary>
    public ulong OutIovaAlignment { get; set; }
}
