using IommuKit.Linux;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

/// <summary>
/// A tiny container for runner tests: map records non-overlapping ranges (EINVAL for size 0, EEXIST on overlap),
/// unmap removes the mappings inside the range and reports their size, expect-mappings reports the records.
/// </summary>
internal sealed class FakeContainerExecutor : IScenarioStepExecutor
{
    private readonly SortedDictionary<ulong, (ulong Last, ulong Vaddr)> _mappings = [];

    public IReadOnlyCollection<string> Ops { get; } = [ScenarioOps.Map, ScenarioOps.Unmap, ScenarioOps.ExpectMappings, ScenarioOps.GetInfo];

    public IReadOnlyCollection<string> Sections { get; } = ["iommu", "container", "host-memory"];

    public int Initialized { get; private set; }

    public void Initialize(ScenarioContext context)
    {
        Initialized++;
        context.Set(this);
    }

    public StepOutcome Execute(ScenarioStep step, ScenarioContext context)
    {
        switch (step)
        {
            case MapStep map:
                if (map.Size == 0 || map.Size > ulong.MaxValue - map.Iova + (UInt128)1)
                {
                    return StepOutcome.FromErrno(Errno.EINVAL);
                }

                ulong last = (ulong)(map.Iova + map.Size - 1);
                if (_mappings.Any(m => m.Key <= last && m.Value.Last >= map.Iova))
                {
                    return StepOutcome.FromErrno(Errno.EEXIST);
                }

                _mappings[map.Iova] = (last, map.Vaddr);
                if (context.Trace.IsEnabled)
                {
                    context.Trace.Event("vfio_dma_map", $"iova=0x{map.Iova:x} size=0x{map.Size:x} vaddr=0x{map.Vaddr:x}");
                }

                return StepOutcome.Ok;

            case UnmapStep unmap:
                UInt128 end = unmap.Iova + unmap.Size;
                var inside = _mappings.Where(m => m.Key >= unmap.Iova && m.Value.Last < end).ToList();
                UInt128 size = 0;
                foreach (KeyValuePair<ulong, (ulong Last, ulong Vaddr)> m in inside)
                {
                    _mappings.Remove(m.Key);
                    size += (UInt128)(m.Value.Last - m.Key) + 1;
                    context.Trace.Event("vfio_dma_unmap", $"iova=0x{m.Key:x} size=0x{(UInt128)(m.Value.Last - m.Key) + 1:x}");
                }

                return StepOutcome.Ok.With("size", size);

            case ExpectMappingsStep:
                return StepOutcome.Ok.With(
                    ScenarioOutputs.MappingsName,
                    ScenarioOutputs.Mappings(_mappings.Select(m => (m.Key, m.Value.Last, m.Value.Vaddr))));

            default:
                return StepOutcome.Ok
                    .With("page-sizes", ScenarioOutputs.PageSizeList(0x4020_1000))
                    .With("dma-avail", 65535);
        }
    }
}

/// <summary>A memory map stand-in: transaction runs its nested steps between begin/commit trace events.</summary>
internal sealed class FakeMemoryExecutor : IScenarioStepExecutor
{
    public IReadOnlyCollection<string> Ops { get; } = [ScenarioOps.Transaction, ScenarioOps.RegionDel, ScenarioOps.RegionAdd];

    public IReadOnlyCollection<string> Sections { get; } = ["machine"];

    public void Initialize(ScenarioContext context) => _ = context.Get<FakeContainerExecutor>();

    public StepOutcome Execute(ScenarioStep step, ScenarioContext context)
    {
        switch (step)
        {
            case TransactionStep transaction:
                context.Trace.Event("memory_region_transaction_begin", string.Empty);
                foreach (ScenarioStep nested in transaction.Steps)
                {
                    context.RunNested(nested);
                }

                context.Trace.Event("memory_region_transaction_commit", string.Empty);
                return StepOutcome.Ok;
            case RegionDelStep del when del.Name == "missing":
                throw new ScenarioException(del.Position, "no region named 'missing'");
            default:
                return StepOutcome.Ok;
        }
    }
}

/// <summary>Guest stand-in: dma faults below 0x1000 (not-present, guest stage); guest-enable throws; replay returns null.</summary>
internal sealed class FakeGuestExecutor : IScenarioStepExecutor
{
    public IReadOnlyCollection<string> Ops { get; } = [ScenarioOps.Dma, ScenarioOps.GuestEnable, ScenarioOps.Replay];

    public IReadOnlyCollection<string> Sections { get; } = ["guest-iommu", "devices"];

    public void Initialize(ScenarioContext context)
    {
    }

    public StepOutcome Execute(ScenarioStep step, ScenarioContext context) => step switch
    {
        DmaStep { Iova: < 0x1000 } => StepOutcome.Faulted(new ScenarioFault(ScenarioFaultKind.NotPresent, TranslationStage.Guest)),
        DmaStep { Direction: DmaDirection.Read } dma => StepOutcome.Ok.With("data", ScenarioValue.Bytes(new byte[dma.Length])),
        DmaStep => StepOutcome.Ok,
        GuestEnableStep => throw new InvalidOperationException("boom at 0x1000"),
        _ => null!,
    };
}

/// <summary>An executor whose setup fails.</summary>
internal sealed class FailingSetupExecutor : IScenarioStepExecutor
{
    public IReadOnlyCollection<string> Ops { get; } = [ScenarioOps.GuestDisable];

    public IReadOnlyCollection<string> Sections { get; } = [];

    public void Initialize(ScenarioContext context) =>
        throw new ScenarioException(context.Document.Position, "this machine cannot be built");

    public StepOutcome Execute(ScenarioStep step, ScenarioContext context) => StepOutcome.Ok;
}

internal static class FakeRegistry
{
    public static ScenarioExecutorRegistry Create() => new ScenarioExecutorRegistry()
        .Add(() => new FakeContainerExecutor())
        .Add(() => new FakeMemoryExecutor())
        .Add(() => new FakeGuestExecutor());
}
