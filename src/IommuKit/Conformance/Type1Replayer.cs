using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Conformance.StepOutput;

namespace IommuKit.Conformance;

/// <summary>
/// Replays the type1 steps of a step file (<c>backend type1v1|type1v2</c>, <c>map</c>, <c>unmap</c>, <c>info</c>,
/// <c>ext</c>) against IommuKit's <see cref="VfioContainer"/> on the machine the golden kernel had: the VM's fixed
/// user memory as <see cref="HostMemory"/> regions and the IOMMU model's domain.
/// </summary>
/// <remarks>
/// intel (39 or 48 bits) is an <see cref="IommuDomain"/> with a VT-d page table. virtio and amd have 64-bit
/// apertures that IommuKit's page-table formats cannot hold; their domain keeps the geometry only (aperture,
/// reserved regions, page sizes, coherency), which is all type1 observes: pinning, the valid IOVA list and the
/// IOVA_RANGE capability are the container's.
/// </remarks>
public sealed class Type1Replayer
{
    private readonly IommuModel _model;
    private readonly VfioKernelRules _rules;
    private VfioContainer? _container;

    /// <summary>Creates a replayer for <paramref name="model"/> with the kernel profile <paramref name="rules"/>.</summary>
    public Type1Replayer(IommuModel model, VfioKernelRules rules)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rules);
        _model = model;
        _rules = rules;
    }

    /// <summary>Whether a backend is a type1 one.</summary>
    public static bool Supports(string backend) => backend is "type1v1" or "type1v2";

    /// <summary>IommuKit's answer for one step; null when the step is outside what the replayer models.</summary>
    public StepResult? Run(StepLine step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return step.Op switch
        {
            "backend" => Backend(step.Positional ?? ""),
            "map" => _container is null ? null : Map(_container, step),
            "unmap" => _container is null ? null : Unmap(_container, step),
            "info" => _container is null ? null : Info(_container, step),
            "ext" => _container is null ? null : Ok(("ext", Extensions(_container.CheckExtension))),
            _ => null, // early-set-iommu: VfioContainer has no group model
        };
    }

    private StepResult? Backend(string kind)
    {
        _container = null;
        if (!Supports(kind))
        {
            return null;
        }

        var physical = new PhysicalMemory();
        var c = new VfioContainer(VmHostMemory(physical), VfioContainer.DefaultDmaEntryLimit, _rules);
        string pre = Extensions(c.CheckExtension);
        Errno set = c.SetIommu(kind == "type1v2" ? VfioIommuType.Type1v2 : VfioIommuType.Type1);
        if (set != Errno.Ok)
        {
            return Fail(set, ("stage", "set-iommu"));
        }

        Errno attached = _model.HasPageTable
            ? c.AttachDomain(new IommuDomain(new FrameAllocator(physical), _model.ToDomainOptions()))
            : c.AttachDomain(new ApertureDomain(_model));
        if (attached != Errno.Ok)
        {
            return Fail(attached, ("stage", "set-iommu"));
        }

        _container = c;
        // group_flags (viable) and api (VFIO_API_VERSION) are harness constants: IommuKit has no group model.
        return Ok(("group_flags", "0x1"), ("api", "0"), ("ext_pre", pre), ("ext_post", Extensions(c.CheckExtension)));
    }

    private static StepResult Map(VfioContainer c, StepLine step)
    {
        var map = new VfioDmaMap(step.Number("iova"), step.Number("size"), step.Va(), (VfioDmaMapFlags)step.Flags(MapFlagNames, 3))
        {
            Argsz = (uint)step.Number("argsz", VfioDmaMap.MinArgsz),
        };
        return Result(c.MapDma(map));
    }

    private static StepResult Unmap(VfioContainer c, StepLine step)
    {
        VfioDmaUnmap u = UnmapArgs(step);
        Errno e = c.UnmapDma(ref u);
        return Result(e, ("size", Hex(u.Size)));
    }

    /// <summary>The <c>unmap</c> step's struct: vfiotest passes a zeroed 4 KiB block, so any vfio_bitmap is all zero.</summary>
    internal static VfioDmaUnmap UnmapArgs(StepLine step)
    {
        uint argsz = (uint)step.Number("argsz", VfioDmaUnmap.MinArgsz);
        return new VfioDmaUnmap(step.Number("iova"), step.Number("size"), (VfioDmaUnmapFlags)step.Flags(UnmapFlagNames, 0))
        {
            Argsz = argsz,
            Bitmap = argsz >= VfioDmaUnmap.MinArgsz + VfioBitmap.StructSize ? new VfioBitmap(0, 0, null) : null,
        };
    }

    private static StepResult Info(VfioContainer c, StepLine step)
    {
        var info = new VfioIommuInfo((uint)step.Number("argsz", 4096));
        Errno e = c.GetInfo(info);
        return e == Errno.Ok ? StepOutput.Info(info) : Fail(e);
    }
}
