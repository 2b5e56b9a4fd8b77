namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_ioas_map</c> (<c>IOMMU_IOAS_MAP</c>, 0x85).</summary>
/// <remarks>Fields mirror the UAPI struct; <see cref="Size"/> starts at the kernel's size (40 bytes). Outputs are written back only when the call succeeds unless the command documents otherwise.</remarks>
public struct IommuIoasMap
{
    /// <summary>The kernel's size of this struct in bytes.</summary>
    public const uint KernelSize = 40;

    /// <summary>The smallest accepted <see cref="Size"/> (the end of the last mandatory field).</summary>
    public const uint MinSize = 40;

    /// <summary>Creates the struct with <see cref="Size"/> = <see cref="KernelSize"/> and every other field 0.</summary>
    public IommuIoasMap() => Size = KernelSize;

    /// <summary><c>size</c>: the struct size userspace passes. Below <see cref="MinSize"/> gives EINVAL.</summary>
    public uint Size { get; set; }

    /// <summary>Models non-zero bytes past <see cref="KernelSize"/> when <see cref="Size"/> is larger (E2BIG).</summary>
    public bool TrailingNonZero { get; set; }

    /// <summary><c>flags</c>: <see cref="IoasMapFlags"/>.</summary>
    public IoasMapFlags Flags { get; set; }

    /// <summary><c>ioas_id</c>.</summary>
    public uint IoasId { get; set; }

    /// <summary><c>__reserved</c>: must be 0 (EOPNOTSUPP otherwise).</summary>
    public uint Reserved { get; set; }

    /// <summary><c>user_va</c>: the first byte of the process memory to map.</summary>
    public ulong UserVa { get; set; }

    /// <summary><c>length</c> in bytes.</summary>
    public ulong Length { get; set; }

    /// <summary><c>iova</c>: input with <see cref="IoasMapFlags.FixedIova"/>, else the allocated IOVA (output).</summary>
    public ulong Iova { get; set; }
}
