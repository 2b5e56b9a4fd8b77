namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_destroy</c> (<c>IOMMU_DESTROY</c>, 0x80).</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (8 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuDestroy
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 8;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 8;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuDestroy() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>id</c>: the object to destroy.</summary>
    public uint Id { get; set; }
}
