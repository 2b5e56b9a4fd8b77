using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Devices;
using IommuKit.Guest;
using IommuKit.Guest.Vtd;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Scenarios.Executors;

/// <summary>
/// Builds a scenario's <c>guest-iommu</c> (a <see cref="VtdIommu"/> and the guest's <see cref="GuestIommuDriver"/>)
/// and <c>devices</c> (one <see cref="DmaDevice"/> each), and runs the guest and DMA steps: <c>guest-map</c>,
/// <c>guest-unmap</c>, <c>guest-invalidate</c>, <c>guest-enable</c>, <c>guest-disable</c>, <c>replay</c>, <c>dma</c>,
/// <c>expect-iotlb</c>, <c>expect-stale</c>, <c>expect-faults</c>.
/// </summary>
/// <remarks>
/// <para><b>The guest.</b> <c>format: x86-sl-4level</c> gives aw-bits 48 (4-level tables); any other format aw-bits
/// 39 (3-level), the two widths QEMU's <c>intel-iommu</c> offers. The guest driver's table frames and invalidation
/// queue come from <see cref="GuestTablePool"/>, a pool of guest-physical frames below 2^39 that the model keeps apart
/// from the bytes DMA reaches (DMA lands in host memory through the container). The driver creates one domain;
/// devices behind the guest IOMMU are 00:03.0, 00:04.0, ... in file order (<c>devfn = slot &lt;&lt; 3</c>), all
/// attached to that domain; then DMA remapping is enabled.</para>
/// <para><b>The listener.</b> As QEMU's VFIO device registers its container listener on the device's DMA address
/// space: with <c>listener: vfio</c> and a device behind the guest IOMMU, the listener the memory-map executor built
/// watches the first such device's address space (the memory-map executor then leaves system memory alone); all
/// devices share one domain, so that one shadow serves them all. Its IOMMU sections register MAP|UNMAP notifiers,
/// which the unit refuses without caching mode (the setup fails, as QEMU's realize does). A device behind the
/// guest IOMMU presents its IOVA to the host stage (<see cref="HostIovaSource.GuestIova"/>: the container holds the
/// shadow); a device behind <c>none</c> uses the container directly.</para>
/// <para><b>Steps.</b> <c>guest-map</c>: the driver's map (largest leaves; with caching mode followed by
/// page-selective invalidations). Refusals as Linux's <c>intel_iommu_map</c>: unaligned or zero size EINVAL, past
/// the address width EFAULT, already mapped EEXIST, no table frame ENOMEM; at most <see cref="MaxGuestMapLeaves"/> leaves per step. <c>guest-unmap</c>: clears the PTEs
/// WITHOUT invalidating (the file invalidates with <c>guest-invalidate</c>; until then the guest IOTLB may serve
/// stale entries). <c>guest-invalidate page</c>: one PSI (EINVAL unless a naturally aligned power of two 4K..1G).
/// A step during which the VFIO listener met an error (a shadow map to a GPA that is not RAM, a container refusal)
/// answers that error's errno. <c>replay</c> replays every notifier of the device and reports <c>events</c>
/// (notifications delivered) and <c>pte-reads</c> (guest PTEs read). <c>dma</c> faults map
/// <see cref="DmaFaultReason"/> to <c>not-present</c> / <c>read-only</c> / <c>write-only</c> / <c>out-of-range</c>.
/// <c>expect-iotlb</c> reads the unit's guest IOTLBs (<c>guest</c>) or the host domain's (<c>host</c>);
/// <c>expect-stale</c> sums <see cref="DmaDevice.StaleAccesses"/>. <c>expect-faults</c> reads the unit's
/// <see cref="VtdIommu.Faults"/> (<c>guest</c>) or the host domain's <see cref="IommuDomain.Faults"/> (<c>host</c>):
/// <c>count</c> is <see cref="FaultLog.Count"/> (nothing drains the logs during a run, so every recorded fault since
/// the start; a full log records no more, as VT-d's PFO rule says, so the count stops at its capacity, 256) and
/// <c>last</c> the newest record's reason and IOVA, reported only when the log holds a record. A DMA whose host
/// translation succeeds onto unbacked host memory faults <c>not-present</c> without a log record (no IOMMU refused
/// it).</para>
/// </remarks>
public sealed class GuestScenarioExecutor : IScenarioStepExecutor
{
    /// <summary>
    /// Where the guest driver's table pages come from: 64 MiB of guest-physical frames ending at 2^39 (inside both
    /// address widths, above any scenario's RAM).
    /// </summary>
    public static readonly IovaRange GuestTablePool = IovaRange.FromFirstLast((1UL << 39) - (64UL << 20), (1UL << 39) - 1);

    /// <summary>The PCI slot of the first device behind the guest IOMMU (00:03.0).</summary>
    public const int FirstSlot = 3;

    /// <summary>The output of <c>replay</c> counting guest PTEs read (an addition to the contract's <c>events</c>).</summary>
    public const string PteReadsName = "pte-reads";

    /// <summary>
    /// The most leaves one <c>guest-map</c> may write (16M of 4K pages; 4096 leaves of 2M or 1G): each leaf is one
    /// notification and one container map, so a file cannot make the runner do unbounded work (like <c>dma</c>'s 1M).
    /// </summary>
    public const long MaxGuestMapLeaves = 4096;

    /// <summary>The output of <c>replay</c> counting notifications delivered.</summary>
    public const string EventsName = "events";

    private readonly Dictionary<string, DmaDevice> _devices = new(StringComparer.Ordinal);
    private VfioListener? _listener;

    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } =
    [
        ScenarioOps.GuestMap, ScenarioOps.GuestUnmap, ScenarioOps.GuestInvalidate, ScenarioOps.GuestEnable, ScenarioOps.GuestDisable,
        ScenarioOps.Replay, ScenarioOps.Dma, ScenarioOps.ExpectIotlb, ScenarioOps.ExpectStale, ScenarioOps.ExpectFaults,
    ];

    /// <inheritdoc />
    public IReadOnlyCollection<string> Sections { get; } = ["guest-iommu", "devices"];

    /// <summary>The host machine (container, domain, memories); null before <see cref="Initialize"/>.</summary>
    public ScenarioMachine? Machine { get; private set; }

    /// <summary>The VT-d unit; null when the file has no <c>guest-iommu</c>.</summary>
    public VtdIommu? Unit { get; private set; }

    /// <summary>The guest's VT-d driver; null when the file has no <c>guest-iommu</c>.</summary>
    public GuestIommuDriver? Driver { get; private set; }

    /// <summary>The one guest domain every device is attached to; null when the file has no <c>guest-iommu</c>.</summary>
    public GuestDomain? Domain { get; private set; }

    /// <summary>The devices, by name.</summary>
    public IReadOnlyDictionary<string, DmaDevice> Devices => _devices;

    /// <summary>True when <c>machine.listener: vfio</c> is to watch a guest device's address space instead of system memory.</summary>
    public static bool ListenerWatchesGuestDevice(ScenarioDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return document.GuestIommu is not null && document.Devices.Any(d => d.Behind == DeviceAttachment.GuestIommu);
    }

    /// <inheritdoc />
    public void Initialize(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ScenarioDocument document = context.Document;
        Machine = context.TryGet(out ScenarioMachine? machine) ? machine : null;
        context.Set(this);
        if (document.GuestIommu is null && document.Devices.Count == 0)
        {
            return;
        }

        SourcePosition devicesAt = document.Sections.TryGetValue("devices", out SourcePosition d) ? d : document.Position;
        if (Machine?.Domain is not { } hostDomain)
        {
            if (document.Devices.Count != 0)
            {
                throw new ScenarioException(devicesAt, "devices need a host IOMMU domain (container.domain: false has none)");
            }

            hostDomain = null;
        }

        if (document.GuestIommu is { } guest)
        {
            BuildGuest(context, guest);
        }

        IHostDmaPath? hostPath = hostDomain is null ? null : new IommuDomainDmaPath(hostDomain, Machine!.Physical);
        IDmaDirtyTracker? dirty = Machine?.Vfio is { } container ? new ContainerDirtyTracker(container) : null;
        int slot = FirstSlot;
        VtdDeviceSpace? firstGuestDevice = null;
        foreach (DeviceConfig config in document.Devices)
        {
            DmaDevice device;
            if (config.Behind == DeviceAttachment.GuestIommu)
            {
                if (slot > 31)
                {
                    throw new ScenarioException(config.Position, $"device '{config.Name}': at most {32 - FirstSlot} devices fit behind the guest IOMMU on bus 0");
                }

                VtdDeviceSpace space = Unit!.GetDevice(0, slot << 3);
                Driver!.AttachDevice(Domain!, 0, slot << 3);
                firstGuestDevice ??= space;
                slot++;
                device = new DmaDevice(config.Name, hostPath!, space, HostIovaSource.GuestIova);
            }
            else
            {
                device = new DmaDevice(config.Name, hostPath!);
            }

            device.DirtyTracker = dirty;
            _devices.Add(config.Name, device);
        }

        if (Driver is not null)
        {
            Driver.EnableTranslation();
            Trace(context, "vtd_init", string.Create(CultureInfo.InvariantCulture,
                $"aw={Driver.Unit.AddressWidth} caching_mode={Driver.Unit.CachingMode} devices={_devices.Count}"));
        }

        if (firstGuestDevice is not null && context.TryGet(out VfioListener? listener))
        {
            _listener = listener;
            firstGuestDevice.AddressSpace.RegisterListener(listener);
            if (listener.SetupError is { } error)
            {
                SourcePosition at = document.Sections.TryGetValue("guest-iommu", out SourcePosition g) ? g : document.Position;
                throw new ScenarioException(at, $"memory listener initialization on {firstGuestDevice.AddressSpace.Name} failed: {error.Message}");
            }
        }
        else if (context.TryGet(out VfioListener? systemListener))
        {
            _listener = systemListener;
        }
    }

    /// <inheritdoc />
    public StepOutcome Execute(ScenarioStep step, ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(context);
        return step switch
        {
            GuestMapStep map => WithListenerErrors(() => GuestMap(map, context)),
            GuestUnmapStep unmap => WithListenerErrors(() => GuestUnmap(unmap, context)),
            GuestInvalidateStep inv => WithListenerErrors(() => GuestInvalidate(inv, context)),
            GuestEnableStep => WithListenerErrors(() => SetTranslation(step, context, enabled: true)),
            GuestDisableStep => WithListenerErrors(() => SetTranslation(step, context, enabled: false)),
            ReplayStep replay => WithListenerErrors(() => Replay(replay, context)),
            DmaStep dma => Dma(dma, context),
            ExpectIotlbStep iotlb => ExpectIotlb(iotlb),
            ExpectStaleStep => StepOutcome.Ok.With(ScenarioOutputs.StaleCountName, (UInt128)_devices.Values.Sum(x => x.StaleAccesses)),
            ExpectFaultsStep faults => ExpectFaults(faults),
            _ => StepOutcome.NotSupported($"op '{step.Op}'"),
        };
    }

    /// <summary>
    /// The page table of <paramref name="stage"/> after a run: <c>guest</c>, the guest domain's second-level table in
    /// guest RAM (every device behind the guest IOMMU is attached to it); <c>host</c>, the table of the container's
    /// IOMMU domain. <paramref name="device"/>, when given, must name a device, behind the guest IOMMU for
    /// <c>guest</c>. False with the reason when there is no such table.
    /// </summary>
    public bool TryGetPageTable(TranslationStage stage, string? device, [NotNullWhen(true)] out IoPageTable? table, [NotNullWhen(false)] out string? error)
    {
        table = null;
        if (device is not null && !_devices.ContainsKey(device))
        {
            error = $"no device '{device}' (devices: {(_devices.Count == 0 ? "none" : string.Join(", ", _devices.Keys))})";
            return false;
        }

        if (stage == TranslationStage.Guest)
        {
            if (device is not null && _devices[device].Guest is null)
            {
                error = $"device '{device}' is behind none: it has no guest stage";
                return false;
            }

            if (Domain is null)
            {
                error = "the file has no guest-iommu: there is no guest stage";
                return false;
            }

            table = Domain.Table;
            error = null;
            return true;
        }

        if (Machine?.Domain is not { } hostDomain)
        {
            error = "the container has no IOMMU domain (container.domain: false)";
            return false;
        }

        table = hostDomain.PageTable;
        error = null;
        return true;
    }

    /// <summary>The guest-stage fault kind of <paramref name="reason"/>, as a scenario names it.</summary>
    public static ScenarioFaultKind FaultKind(DmaFaultReason reason) => reason switch
    {
        DmaFaultReason.WriteToReadOnly => ScenarioFaultKind.ReadOnly,
        DmaFaultReason.ReadOfWriteOnly => ScenarioFaultKind.WriteOnly,
        DmaFaultReason.BeyondWidth => ScenarioFaultKind.OutOfRange,
        _ => ScenarioFaultKind.NotPresent,
    };

    /// <summary>The errno Linux's <c>intel_iommu_map</c> (through <c>iommu_map</c>) returns for <paramref name="status"/>.</summary>
    public static Errno MapErrno(PageTableStatus status) => status switch
    {
        PageTableStatus.Ok => Errno.Ok,
        PageTableStatus.AlreadyMapped => Errno.EEXIST,
        PageTableStatus.BeyondWidth => Errno.EFAULT,
        PageTableStatus.OutOfFrames => Errno.ENOMEM,
        _ => Errno.EINVAL,
    };

    private void BuildGuest(ScenarioContext context, GuestIommuConfig guest)
    {
        MemoryMapExecutor mapExecutor = context.TryGet(out MemoryMapExecutor? m)
            ? m
            : throw new ScenarioException(context.Document.Position, "guest-iommu needs the memory map executor");
        var guestRam = new PhysicalMemory();
        var frames = new FrameAllocator(guestRam, GuestTablePool);
        Unit = new VtdIommu(mapExecutor.Map, mapExecutor.SystemMemory!.Root, guestRam, new VtdOptions
        {
            AddressWidth = guest.Format == IommuFormat.X86Sl4Level ? 48 : 39,
            CachingMode = guest.CachingMode,
        });
        Driver = new GuestIommuDriver(Unit, frames);
        Domain = Driver.CreateDomain();
        context.Set(Unit);
        context.Set(Driver);
    }

    private StepOutcome GuestMap(GuestMapStep step, ScenarioContext context)
    {
        GuestDomain domain = RequireDomain(step, step.Device);
        Trace(context, "vtd_guest_map", $"iova={ThrowHelper.Hex(step.Iova)} gpa={ThrowHelper.Hex(step.Gpa)} size={ThrowHelper.Hex(step.Size)} perm={ScenarioNames.Of(step.Perm)}");
        if (step.Size == 0 || !IovaRange.TryFromStartSize(step.Iova, step.Size, out IovaRange range))
        {
            return StepOutcome.FromErrno(Errno.EINVAL);
        }

        if (LeafCount(range, step.Gpa, MaxGuestMapLeaves) > MaxGuestMapLeaves)
        {
            throw new ScenarioException(step.Position, string.Create(CultureInfo.InvariantCulture,
                $"guest-map of {range} to {ThrowHelper.Hex(step.Gpa)} needs more than {MaxGuestMapLeaves} leaves; a step may write at most {MaxGuestMapLeaves} (each is one notification and one container map)"));
        }

        return StepOutcome.FromErrno(MapErrno(Driver!.Map(domain, range, step.Gpa, ToPermissions(step.Perm))));
    }

    /// <summary>
    /// The leaves (4K, 2M, 1G, the largest that alignment of both addresses allows) mapping <paramref name="range"/>
    /// to <paramref name="gpa"/> takes, counted up to <paramref name="limit"/> + 1.
    /// </summary>
    internal static long LeafCount(IovaRange range, ulong gpa, long limit)
    {
        long count = 0;
        ulong cur = range.First;
        ulong pa = gpa;
        while (count <= limit)
        {
            ulong leaf = PageSizes.Size4K;
            foreach (ulong size in (ReadOnlySpan<ulong>)[PageSizes.Size1G, PageSizes.Size2M])
            {
                // cur + size - 1 <= Last: compared as Last - cur >= size - 1 (cur <= Last), no overflow.
                if (((cur | pa) & (size - 1)) == 0 && range.Last - cur >= size - 1)
                {
                    leaf = size;
                    break;
                }
            }

            count++;
            if (range.Last - cur < leaf)
            {
                break; // this leaf reaches (or passes, for an unaligned tail) the end
            }

            cur += leaf; // cur + leaf <= Last: no wrap
            pa = unchecked(pa + leaf);
        }

        return count;
    }

    private StepOutcome GuestUnmap(GuestUnmapStep step, ScenarioContext context)
    {
        GuestDomain domain = RequireDomain(step, step.Device);
        Trace(context, "vtd_guest_unmap", $"iova={ThrowHelper.Hex(step.Iova)} size={ThrowHelper.Hex(step.Size)}");
        if (step.Size == 0 || !IovaRange.TryFromStartSize(step.Iova, step.Size, out IovaRange range))
        {
            return StepOutcome.FromErrno(Errno.EINVAL);
        }

        UnmapResult result = Driver!.Unmap(domain, range, invalidate: false);
        return StepOutcome.FromErrno(result.Status == PageTableStatus.Ok ? Errno.Ok : MapErrno(result.Status));
    }

    private StepOutcome GuestInvalidate(GuestInvalidateStep step, ScenarioContext context)
    {
        GuestDomain domain = RequireDomain(step, null);
        switch (step.Scope)
        {
            case InvalidationScope.Global:
                Trace(context, "vtd_inv_desc_iotlb_global", string.Empty);
                return QueueResult(Driver!.InvalidateGlobal());
            case InvalidationScope.Domain:
                Trace(context, "vtd_inv_desc_iotlb_domain", $"domain=0x{domain.DomainId:x}");
                return QueueResult(Driver!.InvalidateDomain(domain.DomainId));
            default:
                if (step.Iova is not { } iova || step.Size is not { } size)
                {
                    throw new ScenarioException(step.Position, "guest-invalidate with scope page needs 'iova' and 'size'");
                }

                Trace(context, "vtd_inv_desc_iotlb_pages", $"domain=0x{domain.DomainId:x} addr={ThrowHelper.Hex(iova)} size={ThrowHelper.Hex(size)}");
                Errno rc = Driver!.InvalidatePage(domain.DomainId, iova, size);
                if (rc != Errno.Ok && Driver.Unit.QueueError)
                {
                    Driver.Unit.ClearQueueError();
                }

                return StepOutcome.FromErrno(rc);
        }
    }

    /// <summary>EINVAL when the unit refused the descriptor; the queue error is cleared so later steps run (the guest's IQE handler).</summary>
    private StepOutcome QueueResult(VtdInvalidationResult result)
    {
        if (!result.Error)
        {
            return StepOutcome.Ok;
        }

        Driver!.Unit.ClearQueueError();
        return StepOutcome.FromErrno(Errno.EINVAL);
    }

    private StepOutcome SetTranslation(ScenarioStep step, ScenarioContext context, bool enabled)
    {
        RequireDomain(step, null);
        Trace(context, "vtd_dmar_enable", enabled ? "on" : "off");
        if (enabled)
        {
            Driver!.EnableTranslation();
        }
        else
        {
            Driver!.DisableTranslation();
        }

        return StepOutcome.Ok;
    }

    private StepOutcome Replay(ReplayStep step, ScenarioContext context)
    {
        RequireDomain(step, null);
        DmaDevice device = Device(step, step.Device);
        if (device.Guest is not { } space)
        {
            throw new ScenarioException(step.Position, $"replay: device '{step.Device}' is not behind the guest IOMMU");
        }

        long readsBefore = Unit!.PteReads;
        long delivered = 0;
        foreach (IommuNotifier n in space.Notifiers.Notifiers.ToArray())
        {
            long before = n.Delivered;
            space.Replay(n);
            delivered += n.Delivered - before;
        }

        long reads = Unit.PteReads - readsBefore;
        Trace(context, "vtd_replay", string.Create(CultureInfo.InvariantCulture,
            $"device={space.DeviceName} notifiers={space.Notifiers.Notifiers.Count} events={delivered} pte_reads={reads}"));
        return StepOutcome.Ok.With(EventsName, (UInt128)delivered).With(PteReadsName, (UInt128)reads);
    }

    private StepOutcome Dma(DmaStep step, ScenarioContext context)
    {
        DmaDevice device = Device(step, step.Device);
        if (step.Length != 0 && step.Length - 1 > ulong.MaxValue - step.Iova)
        {
            throw new ScenarioException(step.Position, $"dma of {ThrowHelper.Hex(step.Length)} bytes at {ThrowHelper.Hex(step.Iova)} passes 2^64 - 1");
        }

        // Length <= DmaStep.MaxLength (1M): an int.
        int length = (int)step.Length;
        DmaResult result;
        byte[]? read = null;
        if (step.Direction == DmaDirection.Read)
        {
            read = new byte[length];
            result = device.Read(step.Iova, read);
        }
        else
        {
            ReadOnlyMemory<byte> data = step.Data ?? new byte[length];
            result = device.Write(step.Iova, data.Span);
        }

        Trace(context, "iommukit_dma", string.Create(CultureInfo.InvariantCulture,
            $"device={device.Name} {(step.Direction == DmaDirection.Read ? "read" : "write")} iova={ThrowHelper.Hex(step.Iova)} length={ThrowHelper.Hex(step.Length)} -> {result}"));
        if (!result.IsOk)
        {
            return StepOutcome.Faulted(new ScenarioFault(FaultKind(result.Fault.Reason),
                result.Stage == DmaStage.Guest ? TranslationStage.Guest : TranslationStage.Host));
        }

        return read is null ? StepOutcome.Ok : StepOutcome.Ok.With("data", ScenarioValue.Bytes(read));
    }

    private StepOutcome ExpectIotlb(ExpectIotlbStep step)
    {
        IotlbStats stats;
        if (step.Stage == TranslationStage.Guest)
        {
            if (Unit is null)
            {
                throw new ScenarioException(step.Position, "expect-iotlb stage guest needs a guest-iommu");
            }

            stats = Unit.IotlbStats;
        }
        else
        {
            if (Machine?.Domain is not { } domain)
            {
                throw new ScenarioException(step.Position, "expect-iotlb stage host needs a host IOMMU domain");
            }

            stats = domain.Iotlb.Stats;
        }

        return StepOutcome.Ok.With(ScenarioOutputs.HitsName, (UInt128)stats.Hits).With(ScenarioOutputs.MissesName, (UInt128)stats.Misses);
    }

    private StepOutcome ExpectFaults(ExpectFaultsStep step)
    {
        FaultLog log;
        if (step.Stage == TranslationStage.Guest)
        {
            log = Unit?.Faults ?? throw new ScenarioException(step.Position, "expect-faults stage guest needs a guest-iommu");
        }
        else
        {
            log = Machine?.Domain?.Faults ?? throw new ScenarioException(step.Position, "expect-faults stage host needs a host IOMMU domain");
        }

        StepOutcome outcome = StepOutcome.Ok.With(ScenarioOutputs.FaultCountName, (UInt128)log.Count);
        if (log.Count == 0)
        {
            return outcome;
        }

        DmaFault last = log[log.Count - 1];
        return outcome.With(ScenarioOutputs.LastFaultName, ScenarioOutputs.LastFault(FaultKind(last.Reason), last.Iova));
    }

    /// <summary>Runs <paramref name="run"/>; when the VFIO listener recorded an error meanwhile, that error's errno is the answer.</summary>
    private StepOutcome WithListenerErrors(Func<StepOutcome> run)
    {
        int before = _listener?.Errors.Count ?? 0;
        StepOutcome outcome = run();
        if (_listener is null || outcome.Result != Errno.Ok)
        {
            return outcome;
        }

        for (int i = before; i < _listener.Errors.Count; i++)
        {
            if (_listener.Errors[i].Errno != Errno.Ok)
            {
                return StepOutcome.FromErrno(_listener.Errors[i].Errno);
            }
        }

        return outcome;
    }

    private GuestDomain RequireDomain(ScenarioStep step, string? device)
    {
        if (Domain is null)
        {
            throw new ScenarioException(step.Position, $"{step.Op} needs a guest-iommu");
        }

        if (device is not null && Device(step, device).Guest is null)
        {
            throw new ScenarioException(step.Position, $"{step.Op}: device '{device}' is not behind the guest IOMMU");
        }

        return Domain;
    }

    private DmaDevice Device(ScenarioStep step, string name) =>
        _devices.TryGetValue(name, out DmaDevice? device) ? device : throw new ScenarioException(step.Position, $"unknown device '{name}'");

    private static Permissions ToPermissions(AccessPermissions perm) =>
        ((perm & AccessPermissions.Read) != 0 ? Permissions.Read : Permissions.None)
        | ((perm & AccessPermissions.Write) != 0 ? Permissions.Write : Permissions.None);

    private static void Trace(ScenarioContext context, string name, string arguments)
    {
        if (context.Trace.IsEnabled)
        {
            context.Trace.Event(name, arguments);
        }
    }

    /// <summary>Forwards DMA writes to the type1 container's dirty tracking.</summary>
    private sealed class ContainerDirtyTracker(VfioContainer container) : IDmaDirtyTracker
    {
        public void MarkDirty(ulong iova, ulong length) => container.MarkDirty(iova, length);
    }
}
