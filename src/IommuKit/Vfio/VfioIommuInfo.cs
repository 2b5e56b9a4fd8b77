namespace IommuKit.Vfio;

/// <summary>
/// <c>struct vfio_iommu_type1_info</c> (24 bytes) and the capability chain the kernel copies after it, the argument
/// of <c>VFIO_IOMMU_GET_INFO</c>. Set <see cref="Argsz"/> and call <see cref="VfioContainer.GetInfo"/>.
/// </summary>
/// <remarks>
/// As in the kernel: with <see cref="Argsz"/> below <see cref="MinArgsz"/> the call fails and nothing is written.
/// When the chain does not fit, <see cref="Argsz"/> is raised to the size needed, <see cref="CapOffset"/> stays 0 and
/// <see cref="Caps"/> stays empty. <see cref="CapOffset"/> is written only when <see cref="Argsz"/> covers it (20 bytes).
/// </remarks>
public sealed class VfioIommuInfo
{
    /// <summary>The minimum argsz (offsetofend of <c>iova_pgsizes</c>).</summary>
    public const uint MinArgsz = 16;

    /// <summary>The size of <c>struct vfio_iommu_type1_info</c>; the chain starts here.</summary>
    public const uint StructSize = 24;

    /// <summary>The bytes of the struct that hold <c>cap_offset</c> (offsetofend of <c>cap_offset</c>).</summary>
    public const uint CapOffsetEnd = 20;

    /// <summary>Creates an argument of <paramref name="argsz"/> bytes.</summary>
    public VfioIommuInfo(uint argsz) => Argsz = argsz;

    /// <summary>In: the caller's buffer size. Out: the size needed when the chain did not fit.</summary>
    public uint Argsz { get; set; }

    /// <summary>Out: PGSIZES, and CAPS when a chain exists.</summary>
    public VfioIommuInfoFlags Flags { get; set; }

    /// <summary>Out: the container's page-size bitmap.</summary>
    public ulong IovaPgsizes { get; set; }

    /// <summary>Out: the offset of the first capability (24), or 0 when the chain was not copied.</summary>
    public uint CapOffset { get; set; }

    /// <summary>Out: the capability chain in order, when it was copied.</summary>
    public IReadOnlyList<VfioInfoCap> Caps { get; set; } = [];

    /// <summary>The capability with id <typeparamref name="T"/>, if copied.</summary>
    public T? Find<T>()
        where T : VfioInfoCap
    {
        foreach (VfioInfoCap cap in Caps)
        {
            if (cap is T t)
            {
                return t;
            }
        }

        return null;
    }
}
