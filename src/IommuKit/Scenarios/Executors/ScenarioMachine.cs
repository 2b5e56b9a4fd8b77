using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Scenarios.Executors;

/// <summary>
/// The host side of a scenario's machine, built from its <c>iommu</c>, <c>host-memory</c> and <c>container</c>
/// sections: physical memory, the process's memory, the host IOMMU domain and the container. The container executor
/// stores it in the <see cref="ScenarioContext"/> (<c>context.Get&lt;ScenarioMachine&gt;()</c>) for the executors that
/// come after it (memory map / VFIO listener, guest vIOMMU, DMA).
/// </summary>
/// <remarks>
/// <para>Exactly one container exists: <see cref="Vfio"/> for <c>vfio-type1</c> / <c>vfio-type1v2</c>, or
/// <see cref="Iommufd"/> with its <see cref="Ioas"/> for <c>iommufd</c>, plus <see cref="Compat"/> for the
/// <c>iommufd-compat-*</c> kinds (whose IOAS is the compat IOAS). <see cref="Domain"/> is attached to it unless
/// <c>container.domain: false</c>.</para>
/// <para>Physical memory is shared: the process's pages (<see cref="Host"/>, from <see cref="HostMemory.PhysicalBase"/>)
/// and the page-table frames (<see cref="Frames"/>, from <see cref="FrameAllocator.DefaultPool"/>) do not overlap.</para>
/// </remarks>
public sealed class ScenarioMachine
{
    private ScenarioMachine(ContainerKind kind, PhysicalMemory physical, FrameAllocator frames, HostMemory host, IommuDomain? domain)
    {
        Kind = kind;
        Physical = physical;
        Frames = frames;
        Host = host;
        Domain = domain;
    }

    /// <summary>The container kind (<c>container.kind</c>).</summary>
    public ContainerKind Kind { get; }

    /// <summary>The machine's physical memory.</summary>
    public PhysicalMemory Physical { get; }

    /// <summary>The allocator of page-table frames (host domain tables; later executors may allocate from it too).</summary>
    public FrameAllocator Frames { get; }

    /// <summary>The calling process's memory (<c>host-memory</c>).</summary>
    public HostMemory Host { get; }

    /// <summary>The host IOMMU domain attached to the container; <see langword="null"/> with <c>domain: false</c>.</summary>
    public IommuDomain? Domain { get; }

    /// <summary>The VFIO type1 container, for <c>vfio-type1</c> and <c>vfio-type1v2</c>; else <see langword="null"/>.</summary>
    public VfioContainer? Vfio { get; private init; }

    /// <summary>The iommufd context, for the <c>iommufd*</c> kinds; else <see langword="null"/>.</summary>
    public Iommufd.Iommufd? Iommufd { get; private init; }

    /// <summary>The IOAS the <c>ioas-*</c> ops act on (the compat IOAS for <c>iommufd-compat-*</c>); else <see langword="null"/>.</summary>
    public Ioas? Ioas { get; private init; }

    /// <summary>The VFIO compat layer over <see cref="Iommufd"/>, for <c>iommufd-compat-*</c>; else <see langword="null"/>.</summary>
    public IommufdVfioCompat? Compat { get; private init; }

    /// <summary>True when the VFIO ops (<c>map</c>, <c>unmap</c>, <c>get-info</c>) have a container to act on.</summary>
    public bool HasVfioUapi => Vfio is not null || Compat is not null;

    /// <summary>
    /// Builds the machine of <paramref name="document"/>: physical memory, host memory (default <c>[0, 2^47-1]</c> rw),
    /// the domain from <c>iommu</c> unless <c>container.domain: false</c>, and the container of <c>container.kind</c>
    /// with the domain attached.
    /// </summary>
    /// <exception cref="ScenarioException">The configuration cannot be built (a kernel profile on a non-type1 container, a limit
    /// that does not fit the module parameter, a domain the container refuses).</exception>
    public static ScenarioMachine Build(ScenarioDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        ContainerConfig config = document.Container;
        SourcePosition containerAt = document.Sections.TryGetValue("container", out SourcePosition p) ? p : document.Position;
        bool type1 = config.Kind is ContainerKind.VfioType1 or ContainerKind.VfioType1v2;
        if (config.Kernel != KernelVersion.Newest && !type1)
        {
            throw new ScenarioException(containerAt,
                $"container.kernel {ScenarioNames.Of(config.Kernel)}: kernel profiles apply to vfio-type1 containers only (iommufd is modelled with the newest rules)");
        }

        VfioKernelRules rules = VfioKernelRules.FromName(ScenarioNames.Of(config.Kernel)) ?? VfioKernelRules.Newest;

        var physical = new PhysicalMemory();
        var frames = new FrameAllocator(physical);
        var host = new HostMemory(physical, document.HostMemory.Select(ToHostRegion));
        IommuDomain? domain = config.Domain ? new IommuDomain(frames, DomainOptions(document.Iommu)) : null;

        switch (config.Kind)
        {
            case ContainerKind.VfioType1:
            case ContainerKind.VfioType1v2:
                {
                    // dma_entry_limit is an unsigned int module parameter.
                    if (config.DmaEntryLimit > uint.MaxValue)
                    {
                        throw new ScenarioException(containerAt,
                            $"container.dma-entry-limit {ScenarioNumber.Format(config.DmaEntryLimit)} does not fit the u32 module parameter");
                    }

                    var container = new VfioContainer(host, (uint)config.DmaEntryLimit, rules);
                    Require(container.SetIommu(config.Kind == ContainerKind.VfioType1 ? VfioIommuType.Type1 : VfioIommuType.Type1v2), containerAt, "VFIO_SET_IOMMU");
                    if (domain is not null)
                    {
                        Require(container.AttachDomain(domain), containerAt, "attaching the IOMMU domain");
                    }

                    return new ScenarioMachine(config.Kind, physical, frames, host, domain) { Vfio = container };
                }

            default:
                {
                    var fd = new Iommufd.Iommufd(host);
                    bool compat = config.Kind != ContainerKind.Iommufd;
                    Ioas ioas = compat ? fd.GetOrCreateCompatIoas() : fd.CreateIoas();
                    if (domain is not null)
                    {
                        Require(fd.AttachDomain(ioas.Id, domain, out _), containerAt, "attaching the IOMMU domain to the IOAS");
                    }

                    IommufdVfioCompat? layer = null;
                    if (compat)
                    {
                        layer = new IommufdVfioCompat(fd);
                        VfioIommuType type = config.Kind == ContainerKind.IommufdCompatType1 ? VfioIommuType.Type1 : VfioIommuType.Type1v2;
                        Require(layer.SetIommu(type), containerAt, "VFIO_SET_IOMMU on the compat IOAS");
                    }

                    return new ScenarioMachine(config.Kind, physical, frames, host, domain) { Iommufd = fd, Ioas = ioas, Compat = layer };
                }
        }
    }

    /// <summary>The domain options of an <c>iommu</c> section: format, page sizes, aperture (default: the format's width), reserved ranges, IOTLB.</summary>
    public static IommuDomainOptions DomainOptions(IommuConfig iommu)
    {
        ArgumentNullException.ThrowIfNull(iommu);
        return new IommuDomainOptions
        {
            Format = iommu.Format switch
            {
                IommuFormat.X86Sl5Level => PageTableFormat.X86SecondLevel5Level,
                IommuFormat.ArmLpae48 => PageTableFormat.ArmLpae48,
                _ => PageTableFormat.X86SecondLevel4Level,
            },
            PageSizes = iommu.PageSizes,
            Aperture = iommu.Aperture,
            Reserved = iommu.Reserved,
            Iotlb = new IotlbGeometry(iommu.Iotlb.Entries, iommu.Iotlb.Ways),
        };
    }

    private static Memory.HostMemoryRegion ToHostRegion(HostMemoryRegion region)
    {
        HostMemoryPermissions perm = HostMemoryPermissions.None;
        if ((region.Perm & AccessPermissions.Read) != 0)
        {
            perm |= HostMemoryPermissions.Read;
        }

        if ((region.Perm & AccessPermissions.Write) != 0)
        {
            perm |= HostMemoryPermissions.Write;
        }

        // The parser guarantees 1 <= Size and Vaddr + Size <= 2^64.
        return new Memory.HostMemoryRegion(IovaRange.FromStartSize(region.Vaddr, region.Size), perm);
    }

    private static void Require(Errno errno, SourcePosition at, string what)
    {
        if (errno != Errno.Ok)
        {
            throw new ScenarioException(at, $"{what} failed with {ScenarioNames.Of(errno)}");
        }
    }
}
