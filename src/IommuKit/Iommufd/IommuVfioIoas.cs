namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_vfio_ioas</c> (<c>IOMMU_VFIO_IOAS</c>, 0x88): gets, sets or clears the IOAS the VFIO compatibility ioctls use.</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (12 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuVfioIoas
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 12;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 12;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuVfioIoas() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>ioas_id</c>: IN for SET, OUT for GET.</summary>
    public uint IoasId { get; set; }

    /// <summary><c>op</c>: <see cref="OpGet"/>, <see cref="OpSet"/> or <see cref="OpClear"/>.</summary>
    public ushort Op { get; set; }

    /// <summary><c>__reserved</c>: must be 0 (EOPNOTSUPP otherwise).</summary>
    public ushort Reserved { get; set; }

    /// <summary><c>IOMMU_VFIO_IOAS_GET</c>.</summary>
    public const ushort OpGet = 0;

    /// <summary><c>IOMMU_VFIO_IOAS_SET</c>.</summary>
    public const ushort OpSet = 1;

    /// <summary><c>IOMMU_VFIO_IOAS_CLEAR</c>.</summary>
    public const ushort OpClear = 2;
}
