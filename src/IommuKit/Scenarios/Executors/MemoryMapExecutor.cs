using System.Globalization;
using IommuKit.Addressing;
using IommuKit.MemoryMap;
using IommuKit.Vfio;

namespace IommuKit.Scenarios.Executors;

/// <summary>
/// Builds a scenario's <c>machine:</c> (the memory map: system memory root, the regions, and with
/// <c>listener: vfio</c> a <see cref="VfioListener"/> on the container) and runs the memory-map steps:
/// <c>region-add</c>, <c>region-del</c>, <c>region-set</c>, <c>transaction</c>, <c>expect-flatview</c>,
/// <c>expect-listener-calls</c>.
/// </summary>
/// <remarks>
/// <para>Regions are created in file order (alias targets first), then added to their parents in file order. Every
/// <c>iommu</c> region gets a <see cref="MemoryMapIommuHandler"/> with no translations. The listener is registered
/// last, as QEMU's VFIO device does at realize: its first map error fails the setup, naming the region.</para>
/// <para>The container is the one the container executor built (<see cref="ScenarioMachine"/>), or an
/// <see cref="IVfioListenerBackend"/> a test put in the context.</para>
/// <para>Trace events: the memory map's <c>memory_region_add</c>/<c>del</c>/<c>set</c> and every listener decision and
/// container call (<see cref="VfioListener.Trace"/>).</para>
/// </remarks>
public sealed class MemoryMapExecutor : IScenarioStepExecutor
{
    private readonly Dictionary<string, MemoryRegion> _regions = new(StringComparer.Ordinal);
    private MemoryMap.MemoryMap _map = new();
    private MemoryRegion? _root;
    private AddressSpace? _space;
    private VfioListener? _listener;

    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } =
    [
        ScenarioOps.RegionAdd, ScenarioOps.RegionDel, ScenarioOps.RegionSet, ScenarioOps.Transaction,
        ScenarioOps.ExpectFlatview, ScenarioOps.ExpectListenerCalls,
    ];

    /// <inheritdoc />
    public IReadOnlyCollection<string> Sections { get; } = ["machine"];

    /// <summary>The memory map built.</summary>
    public MemoryMap.MemoryMap Map => _map;

    /// <summary>System memory (the address space the listener watches).</summary>
    public AddressSpace? SystemMemory => _space;

    /// <summary>The VFIO listener, when <c>listener: vfio</c>.</summary>
    public VfioListener? Listener => _listener;

    /// <summary>Builds the memory map of <paramref name="document"/> without a listener (what <c>iommukit mtree</c> shows).</summary>
    /// <exception cref="ScenarioException">A region cannot be built as written.</exception>
    public static MemoryMapExecutor BuildMap(ScenarioDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var executor = new MemoryMapExecutor();
        executor.BuildRegions(document);
        return executor;
    }

    /// <summary>
    /// Applies the region steps of <paramref name="steps"/> (<c>region-add</c>, <c>region-del</c>, <c>region-set</c>,
    /// <c>transaction</c>; other ops are ignored) to a map built by <see cref="BuildMap"/>, without a listener or
    /// runner (what <c>iommukit mtree --after-steps</c> shows). Expectations are not checked.
    /// </summary>
    /// <exception cref="ScenarioException">A step names an unknown region or cannot be applied.</exception>
    public void ApplyRegionSteps(IEnumerable<ScenarioStep> steps, ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(context);
        foreach (ScenarioStep step in steps)
        {
            switch (step)
            {
                case RegionAddStep or RegionDelStep or RegionSetStep:
                    Execute(step, context);
                    break;
                case TransactionStep tx:
                    using (_map.Transaction())
                    {
                        ApplyRegionSteps(tx.Steps, context);
                    }

                    break;
            }
        }
    }

    /// <inheritdoc />
    public void Initialize(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ScenarioDocument document = context.Document;
        BuildRegions(document);
        context.Set(_map);
        context.Set(this);
        if (document.Machine is not { Listener: ListenerKind.Vfio })
        {
            return;
        }

        IVfioListenerBackend backend = BuildBackend(context);
        _listener = new VfioListener(backend, _space);
        if (context.Trace.IsEnabled)
        {
            IScenarioTrace trace = context.Trace;
            _listener.Trace = trace.Event;
        }

        context.Set(_listener);
        if (GuestScenarioExecutor.ListenerWatchesGuestDevice(document))
        {
            return; // as QEMU's VFIO device: the guest executor registers it on the device's DMA address space
        }

        _space!.RegisterListener(_listener);
        if (_listener.SetupError is { } error)
        {
            SourcePosition at = document.Sections.TryGetValue("machine", out SourcePosition p) ? p : document.Position;
            throw new ScenarioException(at, $"memory listener initialization failed: {error.Message}");
        }
    }

    /// <inheritdoc />
    public StepOutcome Execute(ScenarioStep step, ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(context);
        return step switch
        {
            RegionAddStep add => RegionAdd(add, context),
            RegionDelStep del => RegionDel(del, context),
            RegionSetStep set => RegionSet(set, context),
            TransactionStep tx => Transaction(tx, context),
            ExpectFlatviewStep => StepOutcome.Ok.With(ScenarioOutputs.FlatRangesName, ScenarioOutputs.FlatRanges(
                _space!.FlatView.Ranges.Select(r => (r.Range.First, r.Range.Last, r.Region.Name)))),
            ExpectListenerCallsStep check => ListenerCalls(check),
            _ => StepOutcome.NotSupported($"op '{step.Op}'"),
        };
    }

    private StepOutcome ListenerCalls(ExpectListenerCallsStep check)
    {
        if (_listener is null)
        {
            throw new ScenarioException(check.Position, "expect-listener-calls needs 'machine.listener: vfio'");
        }

        IReadOnlyList<VfioListenerCall> calls = _listener.TakeCalls();
        return StepOutcome.Ok.With(ScenarioOutputs.ListenerCallsName, ScenarioOutputs.ListenerCalls(calls.Select(c => (
            c.Kind switch
            {
                VfioListenerCallKind.Map => ListenerCallKind.Map,
                VfioListenerCallKind.Unmap => ListenerCallKind.Unmap,
                _ => ListenerCallKind.UnmapAll,
            },
            c.Iova,
            c.Size))));
    }

    private StepOutcome RegionAdd(RegionAddStep step, ScenarioContext context)
    {
        RegionConfig config = step.Region;
        if (_regions.ContainsKey(config.Name))
        {
            throw new ScenarioException(step.Position, $"region '{config.Name}' already exists");
        }

        int errorsBefore = ErrorCount;
        MemoryRegion mr = CreateAt(config, _regions);
        MemoryRegion parent = Parent(config, step.Position);
        Trace(context, "memory_region_add_subregion", $"parent={parent.Name} name={mr.Name} kind={ScenarioNames.Of(config.Kind)} offset={ThrowHelper.Hex(config.Offset)} size={Size(config.Size)} priority={config.Priority}");
        parent.AddSubregionOverlap(config.Offset, mr, config.Priority);
        _regions[config.Name] = mr;
        return Result(errorsBefore);
    }

    private StepOutcome RegionDel(RegionDelStep step, ScenarioContext context)
    {
        MemoryRegion mr = Find(step.Name, step.Position);
        if (mr.Container is not { } parent)
        {
            throw new ScenarioException(step.Position, $"region '{step.Name}' is not in the map");
        }

        int errorsBefore = ErrorCount;
        Trace(context, "memory_region_del_subregion", $"parent={parent.Name} name={mr.Name}");
        parent.RemoveSubregion(mr);
        return Result(errorsBefore);
    }

    private StepOutcome RegionSet(RegionSetStep step, ScenarioContext context)
    {
        MemoryRegion mr = Find(step.Name, step.Position);
        int errorsBefore = ErrorCount;
        Trace(context, "memory_region_set", string.Create(CultureInfo.InvariantCulture,
            $"name={mr.Name}{(step.Enabled is { } e ? $" enabled={e}" : "")}{(step.Offset is { } o ? $" offset={ThrowHelper.Hex(o)}" : "")}{(step.Size is { } s ? $" size={Size(s)}" : "")}{(step.ReadOnly is { } r ? $" readonly={r}" : "")}{(step.Priority is { } p ? $" priority={p}" : "")}"));
        // Several properties at once are one update, as one QEMU transaction.
        using (_map.Transaction())
        {
            if (step.Size is { } size)
            {
                if (size > IovaRange.SpaceSize)
                {
                    throw new ScenarioException(step.Position, $"size {ThrowHelper.Hex(size)} exceeds 2^64");
                }

                mr.SetSize(size);
            }

            if (step.Priority is { } priority)
            {
                mr.SetPriority(priority);
            }

            if (step.Offset is { } offset)
            {
                mr.SetAddress(offset);
            }

            if (step.ReadOnly is { } readOnly)
            {
                mr.SetReadOnly(readOnly);
            }

            if (step.Enabled is { } enabled)
            {
                mr.SetEnabled(enabled);
            }
        }

        return Result(errorsBefore);
    }

    private StepOutcome Transaction(TransactionStep step, ScenarioContext context)
    {
        Trace(context, "memory_region_transaction_begin", $"steps={step.Steps.Count}");
        int errorsBefore = ErrorCount;
        _map.BeginTransaction();
        try
        {
            foreach (ScenarioStep nested in step.Steps)
            {
                context.RunNested(nested);
            }
        }
        finally
        {
            Trace(context, "memory_region_transaction_commit", string.Empty);
            _map.CommitTransaction();
        }

        return Result(errorsBefore);
    }

    private static string Size(UInt128 size) => size == IovaRange.SpaceSize ? "2^64" : ThrowHelper.Hex(size);

    private int ErrorCount => _listener?.Errors.Count ?? 0;

    /// <summary>
    /// ok, unless the listener met a fatal error since <paramref name="errorsBefore"/> (a run-time map failure: QEMU
    /// aborts with "DMA mapping failed, unable to continue"): then that call's errno, so a file can expect it.
    /// </summary>
    private StepOutcome Result(int errorsBefore)
    {
        if (_listener is null)
        {
            return StepOutcome.Ok;
        }

        for (int i = errorsBefore; i < _listener.Errors.Count; i++)
        {
            if (_listener.Errors[i].Kind == VfioListenerErrorKind.Fatal)
            {
                return StepOutcome.FromErrno(_listener.Errors[i].Errno);
            }
        }

        return StepOutcome.Ok;
    }

    private static void Trace(ScenarioContext context, string name, string arguments)
    {
        if (context.Trace.IsEnabled)
        {
            context.Trace.Event(name, arguments);
        }
    }

    private MemoryRegion Find(string name, SourcePosition at) =>
        _regions.TryGetValue(name, out MemoryRegion? mr) ? mr : throw new ScenarioException(at, $"unknown region '{name}'");

    private MemoryRegion Parent(RegionConfig config, SourcePosition at)
    {
        if (config.Parent is null)
        {
            return _root!;
        }

        MemoryRegion parent = Find(config.Parent, at);
        if (parent.IsAlias)
        {
            throw new ScenarioException(at, $"region '{config.Name}': subregions cannot be added to alias '{parent.Name}'");
        }

        return parent;
    }

    private void BuildRegions(ScenarioDocument document)
    {
        _map = new MemoryMap.MemoryMap();
        _root = _map.CreateContainer("system", IovaRange.SpaceSize);
        IReadOnlyList<RegionConfig> regions = document.Machine?.Regions ?? [];
        // Aliases need their target object: create non-aliases first, then aliases until every one is made.
        foreach (RegionConfig config in regions.Where(r => r.Kind != RegionKind.Alias))
        {
            _regions[config.Name] = CreateAt(config, _regions);
        }

        var pending = regions.Where(r => r.Kind == RegionKind.Alias).ToList();
        while (pending.Count > 0)
        {
            RegionConfig? ready = pending.FirstOrDefault(r => _regions.ContainsKey(r.Target!));
            if (ready is null)
            {
                throw new ScenarioException(pending[0].Position, $"alias '{pending[0].Name}': its targets form a cycle");
            }

            _regions[ready.Name] = CreateAt(ready, _regions);
            pending.Remove(ready);
        }

        foreach (RegionConfig config in regions)
        {
            MemoryRegion parent = Parent(config, config.Position);
            try
            {
                parent.AddSubregionOverlap(config.Offset, _regions[config.Name], config.Priority);
            }
            catch (ArgumentException e)
            {
                throw new ScenarioException(config.Position, $"region '{config.Name}': {e.Message}");
            }
        }

        _space = _map.CreateAddressSpace("memory", _root);
    }

    private MemoryRegion CreateAt(RegionConfig config, Dictionary<string, MemoryRegion> regions)
    {
        try
        {
            return Create(_map, config, regions);
        }
        catch (ArgumentException e)
        {
            throw new ScenarioException(config.Position, $"region '{config.Name}': {e.Message}");
        }
    }

    private static MemoryRegion Create(MemoryMap.MemoryMap map, RegionConfig config, Dictionary<string, MemoryRegion> regions)
    {
        // Sizes are exact here (the file writes 2^64 for the whole space).
        MemoryRegion mr = config.Kind switch
        {
            RegionKind.Ram => map.CreateRam(config.Name, config.Size),
            RegionKind.Rom => map.CreateRom(config.Name, config.Size),
            RegionKind.RamDevice => map.CreateRamDevice(config.Name, config.Size),
            RegionKind.RomDevice => map.CreateRomDevice(config.Name, config.Size),
            RegionKind.Mmio => map.CreateIo(config.Name, config.Size, null),
            RegionKind.Iommu => map.CreateIommu(config.Name, config.Size, new MemoryMapIommuHandler()),
            RegionKind.Container => map.CreateContainer(config.Name, config.Size),
            _ => map.CreateAlias(config.Name, regions[config.Target!], config.TargetOffset, config.Size),
        };
        if (config.ReadOnly)
        {
            mr.SetReadOnly(true);
        }

        if (!config.Enabled)
        {
            mr.SetEnabled(false);
        }

        return mr;
    }

    /// <summary>
    /// The adapter over the container the container executor built (<see cref="ScenarioMachine"/>): type1 for
    /// <c>vfio-type1*</c>; the IOAS with the native full-range calls for <c>iommufd</c>; the compat IOAS without them
    /// (QEMU's legacy backend would drive it through the VFIO ioctls, whose 2^64 answer is unmap-all) for
    /// <c>iommufd-compat-*</c>.
    /// </summary>
    private static IVfioListenerBackend BuildBackend(ScenarioContext context)
    {
        if (context.TryGet(out IVfioListenerBackend? given))
        {
            return given;
        }

        ScenarioMachine machine = context.Get<ScenarioMachine>();
        if (machine.Vfio is { } container)
        {
            return new VfioListenerType1Backend(container);
        }

        return new VfioListenerIommufdBackend(machine.Iommufd!, machine.Ioas!.Id, nativeFullRange: machine.Compat is null);
    }
}
