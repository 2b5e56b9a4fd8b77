namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_ioas_allow_iovas</c> (<c>IOMMU_IOAS_ALLOW_IOVAS</c>, 0x82). <see cref="AllowedIovas"/> stands for the user array pointed to by <c>allowed_iovas</c>.</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (24 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuIoasAllowIovas
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 24;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 24;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuIoasAllowIovas() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>ioas_id</c>.</summary>
    public uint IoasId { get; set; }

    /// <summary><c>num_iovas</c>: the number of entries of <see cref="AllowedIovas"/> to read.</summary>
    public uint NumIovas { get; set; }

    /// <summary><c>__reserved</c>: must be 0 (EOPNOTSUPP otherwise).</summary>
    public uint Reserved { get; set; }

    /// <summary>The user array of ranges; reading past its end (or a null array with <see cref="NumIovas"/> &gt; 0) gives EFAULT.</summary>
    public IommuIovaRange[]? AllowedIovas { get; set; }
}
