namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_ioas_alloc</c> (<c>IOMMU_IOAS_ALLOC</c>, 0x81).</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (12 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuIoasAlloc
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 12;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 12;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuIoasAlloc() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>flags</c>: must be 0 (EOPNOTSUPP otherwise).</summary>
    public uint Flags { get; set; }

    /// <summary><c>out_ioas_id</c>: the new IOAS id (output).</summary>
    public uint OutIoasId { get; set; }
}
