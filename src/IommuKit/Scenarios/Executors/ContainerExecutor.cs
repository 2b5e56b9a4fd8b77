using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Scenarios.Executors;

/// <summary>
/// Builds the host side of the machine (<c>iommu</c>, <c>host-memory</c>, <c>container</c>; see
/// <see cref="ScenarioMachine"/>) and runs the container ops: the VFIO type1 ioctls (<c>map</c>, <c>unmap</c>,
/// <c>get-info</c>, on a type1 container or through iommufd's compat layer), the iommufd IOAS ioctls (<c>ioas-*</c>),
/// the IOAS's native range calls and <c>expect-mappings</c>.
/// </summary>
/// <remarks>
/// <para>Each op fills the UAPI struct from the step's fields and reports the struct's output fields as the kernel
/// leaves them (a u64 <c>size</c> / <c>length</c> of 2^64 bytes reads 0, as userspace sees it). A value the UAPI field
/// cannot carry (<c>size: 2^64</c> in a u64) cannot be sent: the step fails with a message, not an errno. An op the
/// container kind has no ioctl for (<c>ioas-map</c> on a type1 container, <c>map</c> on a plain <c>iommufd</c>)
/// likewise.</para>
/// <para>Trace events (with <c>--trace</c>), QEMU trace-event style, one per call:
/// <c>vfio_dma_map iova=0x10000 size=0x10000 vaddr=0x7f0000010000 flags=rw -&gt; 0</c>, <c>vfio_dma_unmap</c>,
/// <c>vfio_iommu_get_info</c>, <c>iommufd_ioas_map</c>, <c>iommufd_ioas_unmap</c>, <c>iommufd_ioas_copy</c>, ....</para>
/// </remarks>
public sealed class ContainerExecutor : IScenarioStepExecutor
{
    /// <summary>The capacity used for <c>ioas-iova-ranges</c> when the step gives none: large enough for any IOAS.</summary>
    private const uint DefaultRangesCapacity = 1 << 20;

    private ScenarioMachine? _machine;

    /// <inheritdoc />
    public IReadOnlyCollection<string> Ops { get; } =
    [
        ScenarioOps.Map, ScenarioOps.Unmap, ScenarioOps.GetInfo,
        ScenarioOps.IoasMap, ScenarioOps.IoasUnmap, ScenarioOps.IoasCopy, ScenarioOps.IoasIovaRanges,
        ScenarioOps.IoasAllowIovas, ScenarioOps.IoasReserve, ScenarioOps.IoasMapRange, ScenarioOps.IoasUnmapRange,
        ScenarioOps.ExpectMappings,
    ];

    /// <inheritdoc />
    public IReadOnlyCollection<string> Sections { get; } = ["iommu", "host-memory", "container"];

    /// <summary>The machine built by <see cref="Initialize"/>.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Initialize"/> has not run.</exception>
    public ScenarioMachine Machine => _machine ?? ThrowHelper.ThrowInvalidOperation<ScenarioMachine>("the machine is built by Initialize");

    /// <inheritdoc />
    public void Initialize(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _machine = ScenarioMachine.Build(context.Document);
        context.Set(_machine);
    }

    /// <inheritdoc />
    public StepOutcome Execute(ScenarioStep step, ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(context);
        ScenarioMachine machine = Machine;
        IScenarioTrace trace = context.Trace;
        return step switch
        {
            MapStep s => Map(s, machine, trace),
            UnmapStep s => Unmap(s, machine, trace),
            GetInfoStep s => GetInfo(s, machine, trace),
            IoasMapStep s => IoasMap(s, IoasOf(s, machine), trace),
            IoasUnmapStep s => IoasUnmap(s, IoasOf(s, machine), trace),
            IoasCopyStep s => IoasCopy(s, IoasOf(s, machine), trace),
            IoasIovaRangesStep s => IoasIovaRanges(s, IoasOf(s, machine), trace),
            IoasAllowIovasStep s => IoasAllowIovas(s, IoasOf(s, machine), trace),
            IoasReserveStep s => IoasReserve(s, IoasOf(s, machine), trace),
            IoasMapRangeStep s => IoasMapRange(s, IoasOf(s, machine), trace),
            IoasUnmapRangeStep s => IoasUnmapRange(s, IoasOf(s, machine), trace),
            ExpectMappingsStep => ExpectMappings(machine),
            _ => throw new ScenarioException(step.Position, $"{nameof(ContainerExecutor)} does not run op '{step.Op}'"),
        };
    }

    private static StepOutcome Map(MapStep step, ScenarioMachine machine, IScenarioTrace trace)
    {
        ulong size = U64(step.Size, "size", "VFIO_IOMMU_MAP_DMA", step);
        var flags = VfioDmaMapFlags.None;
        flags |= (step.Flags & MapStepFlags.Read) != 0 ? VfioDmaMapFlags.Read : VfioDmaMapFlags.None;
        flags |= (step.Flags & MapStepFlags.Write) != 0 ? VfioDmaMapFlags.Write : VfioDmaMapFlags.None;
        flags |= (step.Flags & MapStepFlags.Vaddr) != 0 ? VfioDmaMapFlags.Vaddr : VfioDmaMapFlags.None;
        var map = new VfioDmaMap(step.Iova, size, step.Vaddr, flags);
        Errno rc = machine.Vfio?.MapDma(map) ?? Compat(step, machine).MapDma(map);
        if (trace.IsEnabled)
        {
            trace.Event("vfio_dma_map", $"iova={Hex(step.Iova)} size={Hex(size)} vaddr={Hex(step.Vaddr)} flags={MapFlagsText(step.Flags)} -> {Rc(rc)}");
        }

        return StepOutcome.FromErrno(rc);
    }

    private static StepOutcome Unmap(UnmapStep step, ScenarioMachine machine, IScenarioTrace trace)
    {
        ulong size = U64(step.Size, "size", "VFIO_IOMMU_UNMAP_DMA", step);
        var flags = VfioDmaUnmapFlags.None;
        flags |= (step.Flags & UnmapStepFlags.All) != 0 ? VfioDmaUnmapFlags.All : VfioDmaUnmapFlags.None;
        flags |= (step.Flags & UnmapStepFlags.Vaddr) != 0 ? VfioDmaUnmapFlags.Vaddr : VfioDmaUnmapFlags.None;
        flags |= (step.Flags & UnmapStepFlags.GetDirtyBitmap) != 0 ? VfioDmaUnmapFlags.GetDirtyBitmap : VfioDmaUnmapFlags.None;
        var unmap = new VfioDmaUnmap(step.Iova, size, flags);
        Errno rc = machine.Vfio is { } vfio ? vfio.UnmapDma(ref unmap) : Compat(step, machine).UnmapDma(ref unmap);
        if (trace.IsEnabled)
        {
            trace.Event("vfio_dma_unmap", $"iova={Hex(step.Iova)} size={Hex(size)} flags={UnmapFlagsText(step.Flags)} -> {Rc(rc)}{(rc == Errno.Ok ? " unmapped=" + Hex(unmap.Size) : string.Empty)}");
        }

        // The in/out size field as the caller reads it back: type1 writes it on success only, compat always.
        return rc == Errno.Ok || machine.Vfio is null ? StepOutcome.FromErrno(rc).With("size", unmap.Size) : StepOutcome.FromErrno(rc);
    }

    private static StepOutcome GetInfo(GetInfoStep step, ScenarioMachine machine, IScenarioTrace trace)
    {
        // A buffer that holds any capability chain the container builds.
        var info = new VfioIommuInfo(64 * 1024);
        Errno rc = machine.Vfio?.GetInfo(info) ?? Compat(step, machine).GetInfo(info);
        IReadOnlyList<IovaRange> ranges = info.Find<VfioInfoCapIovaRange>()?.Ranges ?? [];
        if (trace.IsEnabled)
        {
            trace.Event("vfio_iommu_get_info", $"pgsizes={Hex(info.IovaPgsizes)} ranges={ranges.Count} -> {Rc(rc)}");
        }

        if (rc != Errno.Ok)
        {
            return StepOutcome.FromErrno(rc);
        }

        StepOutcome outcome = StepOutcome.Ok
            .With("page-sizes", ScenarioOutputs.PageSizeList(info.IovaPgsizes))
            .With("iova-ranges", ScenarioOutputs.Ranges(ranges));
        return info.Find<VfioInfoCapDmaAvail>() is { } avail ? outcome.With("dma-avail", avail.Avail) : outcome;
    }

    private static StepOutcome IoasMap(IoasMapStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        var cmd = new IommuIoasMap
        {
            IoasId = target.Ioas.Id,
            Flags = IoasFlags(step.Flags),
            UserVa = step.UserVa,
            Length = U64(step.Length, "length", "IOMMU_IOAS_MAP", step),
            Iova = step.Iova ?? 0,
        };
        Errno rc = target.Fd.IoasMap(ref cmd);
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_map", $"ioas={cmd.IoasId} iova={Hex(cmd.Iova)} length={Hex(cmd.Length)} user_va={Hex(cmd.UserVa)} flags={IoasFlagsText(step.Flags)} -> {Rc(rc)}");
        }

        return rc == Errno.Ok ? StepOutcome.Ok.With("iova", cmd.Iova) : StepOutcome.FromErrno(rc);
    }

    private static StepOutcome IoasUnmap(IoasUnmapStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        ulong length = U64(step.Length, "length", "IOMMU_IOAS_UNMAP", step);
        var cmd = new IommuIoasUnmap { IoasId = target.Ioas.Id, Iova = step.Iova, Length = length };
        Errno rc = target.Fd.IoasUnmap(ref cmd);
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_unmap", $"ioas={cmd.IoasId} iova={Hex(step.Iova)} length={Hex(length)} -> {Rc(rc)}{(rc == Errno.Ok ? " unmapped=" + Hex(cmd.Length) : string.Empty)}");
        }

        return rc == Errno.Ok ? StepOutcome.Ok.With("length", cmd.Length) : StepOutcome.FromErrno(rc);
    }

    private static StepOutcome IoasCopy(IoasCopyStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        var cmd = new IommuIoasCopy
        {
            SrcIoasId = target.Ioas.Id,
            DstIoasId = target.Ioas.Id,
            Flags = IoasFlags(step.Flags),
            SrcIova = step.SrcIova,
            Length = U64(step.Length, "length", "IOMMU_IOAS_COPY", step),
            DstIova = step.DstIova ?? 0,
        };
        Errno rc = target.Fd.IoasCopy(ref cmd);
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_copy", $"ioas={cmd.SrcIoasId} src_iova={Hex(cmd.SrcIova)} length={Hex(cmd.Length)} dst_iova={Hex(cmd.DstIova)} flags={IoasFlagsText(step.Flags)} -> {Rc(rc)}");
        }

        return rc == Errno.Ok ? StepOutcome.Ok.With("dst-iova", cmd.DstIova) : StepOutcome.FromErrno(rc);
    }

    private static StepOutcome IoasIovaRanges(IoasIovaRangesStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        uint capacity = step.Capacity ?? DefaultRangesCapacity;

        // The kernel writes min(capacity, total) entries: size the user array to that, so that a large capacity from
        // a file does not allocate a large array (the IOAS's own count is the total the ioctl reports).
        int room = (int)Math.Min(capacity, (uint)target.Ioas.IovaRanges.Count);
        var cmd = new IommuIoasIovaRanges { IoasId = target.Ioas.Id, NumIovas = capacity, AllowedIovas = new IommuIovaRange[room] };
        Errno rc = target.Fd.IoasIovaRanges(ref cmd);
        int written = (int)Math.Min(capacity, cmd.NumIovas);
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_iova_ranges", $"ioas={cmd.IoasId} capacity={capacity} -> {Rc(rc)} num_iovas={cmd.NumIovas} alignment={Hex(cmd.OutIovaAlignment)}");
        }

        // The kernel copies the struct back on success and on EMSGSIZE (num_iovas = the total, so a caller can retry).
        if (rc is not (Errno.Ok or Errno.EMSGSIZE))
        {
            return StepOutcome.FromErrno(rc);
        }

        IEnumerable<IovaRange> ranges = cmd.AllowedIovas!.Take(written).Select(r => IovaRange.FromFirstLast(r.Start, r.Last));
        return StepOutcome.FromErrno(rc)
            .With("ranges", ScenarioOutputs.Ranges(ranges))
            .With("alignment", cmd.OutIovaAlignment)
            .With("count", cmd.NumIovas);
    }

    private static StepOutcome IoasAllowIovas(IoasAllowIovasStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        IommuIovaRange[] ranges = step.Ranges.Select(r => new IommuIovaRange(r.Start, r.Last)).ToArray();
        var cmd = new IommuIoasAllowIovas { IoasId = target.Ioas.Id, NumIovas = (uint)ranges.Length, AllowedIovas = ranges };
        Errno rc = target.Fd.IoasAllowIovas(ref cmd);
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_allow_iovas", $"ioas={cmd.IoasId} ranges=[{string.Join(", ", step.Ranges)}] -> {Rc(rc)}");
        }

        return StepOutcome.FromErrno(rc);
    }

    private static StepOutcome IoasReserve(IoasReserveStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        // Reserved regions come from drivers, never inverted: an inverted one in a file is refused like a bad ioctl argument.
        Errno rc = IovaRange.TryFromFirstLast(step.Range.Start, step.Range.Last, out IovaRange range)
            ? target.Fd.IoasReserve(target.Ioas.Id, range)
            : Errno.EINVAL;
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_reserve", $"ioas={target.Ioas.Id} range={step.Range} -> {Rc(rc)}");
        }

        return StepOutcome.FromErrno(rc);
    }

    private static StepOutcome IoasMapRange(IoasMapRangeStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        var permissions = Permissions.None;
        permissions |= (step.Flags & IoasMapStepFlags.Readable) != 0 ? Permissions.Read : Permissions.None;
        permissions |= (step.Flags & IoasMapStepFlags.Writeable) != 0 ? Permissions.Write : Permissions.None;
        Errno rc = IovaRange.TryFromFirstLast(step.Range.Start, step.Range.Last, out IovaRange range)
            ? target.Ioas.Map(range, step.UserVa, permissions)
            : Errno.EINVAL;
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_map_range", $"ioas={target.Ioas.Id} range={step.Range} user_va={Hex(step.UserVa)} flags={IoasFlagsText(step.Flags)} -> {Rc(rc)}");
        }

        return StepOutcome.FromErrno(rc);
    }

    private static StepOutcome IoasUnmapRange(IoasUnmapRangeStep step, (Iommufd.Iommufd Fd, Ioas Ioas) target, IScenarioTrace trace)
    {
        IoasUnmapResult result = IovaRange.TryFromFirstLast(step.Range.Start, step.Range.Last, out IovaRange range)
            ? target.Ioas.Unmap(range)
            : new IoasUnmapResult(Errno.EINVAL, 0);
        if (trace.IsEnabled)
        {
            trace.Event("iommufd_ioas_unmap_range", $"ioas={target.Ioas.Id} range={step.Range} -> {Rc(result.Errno)}{(result.IsOk ? " unmapped=" + Hex(result.Bytes) : string.Empty)}");
        }

        return result.IsOk ? StepOutcome.Ok.With("size", result.Bytes) : StepOutcome.FromErrno(result.Errno);
    }

    private static StepOutcome ExpectMappings(ScenarioMachine machine)
    {
        IEnumerable<(ulong, ulong, ulong)> records = machine.Vfio is { } vfio
            ? vfio.Mappings.Select(m => (m.Iova.First, m.Iova.Last, m.Vaddr))
            : machine.Ioas!.Mappings.Select(m => (m.Iova.First, m.Iova.Last, m.UserVa));
        return StepOutcome.Ok.With(ScenarioOutputs.MappingsName, ScenarioOutputs.Mappings(records));
    }

    private static IommufdVfioCompat Compat(ScenarioStep step, ScenarioMachine machine) =>
        machine.Compat ?? throw new ScenarioException(step.Position,
            $"op '{step.Op}' is a VFIO type1 ioctl: container.kind {ScenarioNames.Of(machine.Kind)} has none (use vfio-type1v2 or iommufd-compat-type1v2)");

    private static (Iommufd.Iommufd Fd, Ioas Ioas) IoasOf(ScenarioStep step, ScenarioMachine machine) =>
        machine is { Iommufd: { } fd, Ioas: { } ioas }
            ? (fd, ioas)
            : throw new ScenarioException(step.Position,
                $"op '{step.Op}' is an iommufd IOAS ioctl: container.kind {ScenarioNames.Of(machine.Kind)} has no IOAS (use iommufd)");

    /// <summary>The u64 UAPI field <paramref name="field"/> of <paramref name="ioctl"/>; a size of 2^64 cannot be written in it.</summary>
    private static ulong U64(UInt128 value, string field, string ioctl, ScenarioStep step) =>
        value <= ulong.MaxValue
            ? (ulong)value
            : throw new ScenarioException(step.Position,
                $"{field} {ScenarioNumber.Format(value)} cannot be sent: the {field} field of {ioctl} is a u64 (at most U64_MAX)");

    private static IoasMapFlags IoasFlags(IoasMapStepFlags flags)
    {
        var result = IoasMapFlags.None;
        result |= (flags & IoasMapStepFlags.FixedIova) != 0 ? IoasMapFlags.FixedIova : IoasMapFlags.None;
        result |= (flags & IoasMapStepFlags.Readable) != 0 ? IoasMapFlags.Readable : IoasMapFlags.None;
        result |= (flags & IoasMapStepFlags.Writeable) != 0 ? IoasMapFlags.Writeable : IoasMapFlags.None;
        return result;
    }

    private static string Hex(UInt128 value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Rc(Errno rc) => rc == Errno.Ok ? "0" : ScenarioNames.Of(rc);

    private static string MapFlagsText(MapStepFlags flags) =>
        flags == MapStepFlags.None
            ? "none"
            : ((flags & MapStepFlags.Read) != 0 ? "r" : string.Empty)
                + ((flags & MapStepFlags.Write) != 0 ? "w" : string.Empty)
                + ((flags & MapStepFlags.Vaddr) != 0 ? (flags == MapStepFlags.Vaddr ? "vaddr" : "|vaddr") : string.Empty);

    private static string UnmapFlagsText(UnmapStepFlags flags) =>
        FlagsText((ulong)flags, [((ulong)UnmapStepFlags.All, "all"), ((ulong)UnmapStepFlags.Vaddr, "vaddr"), ((ulong)UnmapStepFlags.GetDirtyBitmap, "dirty")]);

    private static string IoasFlagsText(IoasMapStepFlags flags) =>
        FlagsText((ulong)flags, [((ulong)IoasMapStepFlags.FixedIova, "fixed"), ((ulong)IoasMapStepFlags.Readable, "r"), ((ulong)IoasMapStepFlags.Writeable, "w")]);

    // The names of the set bits in table order, joined with '|'; "none" when no named bit is set.
    private static string FlagsText(ulong flags, ReadOnlySpan<(ulong Bit, string Name)> names)
    {
        var parts = new List<string>(names.Length);
        foreach ((ulong bit, string name) in names)
        {
            if ((flags & bit) != 0)
            {
                parts.Add(name);
            }
        }

        return parts.Count == 0 ? "none" : string.Join('|', parts);
    }
}
