namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_option</c> (<c>IOMMU_OPTION</c>, 0x87).</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (24 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuOption
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 24;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 24;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuOption() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>option_id</c>: <see cref="RlimitMode"/> or <see cref="HugePages"/>.</summary>
    public uint OptionId { get; set; }

    /// <summary><c>op</c>: <see cref="OpSet"/> or <see cref="OpGet"/>.</summary>
    public ushort Op { get; set; }

    /// <summary><c>__reserved</c>: must be 0 (EOPNOTSUPP otherwise).</summary>
    public ushort Reserved { get; set; }

    /// <summary><c>object_id</c>: the IOAS for <see cref="HugePages"/>, 0 for <see cref="RlimitMode"/>.</summary>
    public uint ObjectId { get; set; }

    /// <summary><c>val64</c>: IN for SET, OUT for GET.</summary>
    public ulong Val64 { get; set; }

    /// <summary><c>IOMMU_OPTION_RLIMIT_MODE</c> (global accounting mode).</summary>
    public const uint RlimitMode = 0;

    /// <summary><c>IOMMU_OPTION_HUGE_PAGES</c> (per IOAS, default 1).</summary>
    public const uint HugePages = 1;

    /// <summary><c>IOMMU_OPTION_OP_SET</c>.</summary>
    public const ushort OpSet = 0;

    /// <summary><c>IOMMU_OPTION_OP_GET</c>.</summary>
    public const ushort OpGet = 1;
}
