using IommuKit.Linux;
using IommuKit.Scenarios.Yaml;

namespace IommuKit.Scenarios.Parsing;

/// <summary>Reads steps (and their expectations) into <see cref="ScenarioStep"/> records.</summary>
/// <remarks>
/// Structural checks only: what the modelled kernel defines an errno for (a zero size, an unaligned iova, an inverted
/// allowed range) is kept as written so that it reaches the container.
/// </remarks>
internal sealed class StepReader
{
    private static readonly string[] RegionKeys =
        ["name", "kind", "offset", "size", "priority", "parent", "target", "target-offset", "readonly", "enabled"];

    private readonly IReadOnlySet<string> _devices;

    public StepReader(IReadOnlySet<string> devices) => _devices = devices;

    public IReadOnlyList<ScenarioStep> ReadList(YamlNode node, string what)
    {
        YamlSequence list = Values.List(node, what);
        var steps = new ScenarioStep[list.Items.Count];
        for (int i = 0; i < steps.Length; i++)
        {
            steps[i] = ReadStep(list.Items[i]);
        }

        return steps;
    }

    public static RegionConfig ReadRegion(YamlNode node, string what, bool allowParent)
    {
        IReadOnlyCollection<string> keys = allowParent ? RegionKeys : RegionKeys.Where(k => k != "parent").ToArray();
        var f = new MapFields(Values.Map(node, what), what, keys);
        return ReadRegion(f);
    }

    private static RegionConfig ReadRegion(MapFields f)
    {
        string name = Values.Name(f.Required("name"), "region name");
        RegionKind kind = Values.Enum(f.Required("kind"), ScenarioNames.RegionKinds, "region kind");
        if (kind == RegionKind.Alias)
        {
            f.Required("target");
        }
        else
        {
            f.Forbid("target", "only an alias has a target");
            f.Forbid("target-offset", "only an alias has a target");
        }

        return new RegionConfig(
            name,
            kind,
            f.Optional("offset") is { } o ? Values.Address(o, "region offset") : 0,
            Values.Size(f.Required("size"), "region size"),
            f.Optional("priority") is { } p ? Values.Int32(p, "region priority", int.MinValue, int.MaxValue) : 0,
            f.Optional("parent") is { } parent ? Values.Name(parent, "region parent") : null,
            f.Optional("target") is { } t ? Values.Name(t, "alias target") : null,
            f.Optional("target-offset") is { } to ? Values.Address(to, "alias target-offset") : 0,
            f.Optional("readonly") is { } ro && Values.Bool(ro, "region readonly"),
            f.Optional("enabled") is not { } en || Values.Bool(en, "region enabled"))
        {
            Position = f.Position,
        };
    }

    private ScenarioStep ReadStep(YamlNode node)
    {
        YamlMap map = Values.Map(node, "a step");
        YamlNode? opNode = null;
        foreach ((YamlScalar key, YamlNode value) in map.Entries)
        {
            if (key.Value == "op")
            {
                opNode = value;
            }
        }

        if (opNode is null)
        {
            throw new ScenarioException(map.Position, "missing required key 'op' in a step");
        }

        string op = Values.Text(opNode, "op");
        string what = $"op '{ScenarioNumber.Shorten(op)}'";
        (ScenarioStep step, bool takesExpect) = op switch
        {
            ScenarioOps.Map => (ReadMap(Fields(map, what, "iova", "size", "vaddr", "flags")), true),
            ScenarioOps.Unmap => (ReadUnmap(Fields(map, what, "iova", "size", "flags")), true),
            ScenarioOps.GetInfo => (new GetInfoStep(), AcceptFields(map, what)),
            ScenarioOps.IoasMap => (ReadIoasMap(Fields(map, what, "length", "user-va", "iova", "flags")), true),
            ScenarioOps.IoasUnmap => (ReadIoasUnmap(Fields(map, what, "iova", "length")), true),
            ScenarioOps.IoasCopy => (ReadIoasCopy(Fields(map, what, "src-iova", "length", "dst-iova", "flags")), true),
            ScenarioOps.IoasIovaRanges => (ReadIoasIovaRanges(Fields(map, what, "capacity")), true),
            ScenarioOps.IoasAllowIovas => (ReadAllowIovas(Fields(map, what, "ranges")), true),
            ScenarioOps.IoasReserve => (ReadReserve(Fields(map, what, "start", "last")), true),
            ScenarioOps.IoasMapRange => (ReadIoasMapRange(Fields(map, what, "first", "last", "user-va", "flags")), true),
            ScenarioOps.IoasUnmapRange => (ReadIoasUnmapRange(Fields(map, what, "first", "last")), true),
            ScenarioOps.ExpectMappings => ReadExpectMappings(Fields(map, what, checker: true, "mappings")),
            ScenarioOps.RegionAdd => (new RegionAddStep(ReadRegion(Fields(map, what, RegionKeys))), true),
            ScenarioOps.RegionDel => (new RegionDelStep(Values.Name(Fields(map, what, "name").Required("name"), "region name")), true),
            ScenarioOps.RegionSet => (ReadRegionSet(Fields(map, what, "name", "enabled", "offset", "size", "readonly", "priority")), true),
            ScenarioOps.Transaction => (new TransactionStep(ReadList(Fields(map, what, "steps").Required("steps"), "transaction steps")), true),
            ScenarioOps.ExpectFlatview => ReadExpectFlatview(Fields(map, what, checker: true, "ranges")),
            ScenarioOps.ExpectListenerCalls => ReadExpectListenerCalls(Fields(map, what, checker: true, "calls")),
            ScenarioOps.GuestMap => (ReadGuestMap(Fields(map, what, "iova", "gpa", "size", "perm", "device")), true),
            ScenarioOps.GuestUnmap => (ReadGuestUnmap(Fields(map, what, "iova", "size", "device")), true),
            ScenarioOps.GuestInvalidate => (ReadGuestInvalidate(Fields(map, what, "scope", "iova", "size")), true),
            ScenarioOps.GuestEnable => (new GuestEnableStep(), AcceptFields(map, what)),
            ScenarioOps.GuestDisable => (new GuestDisableStep(), AcceptFields(map, what)),
            ScenarioOps.Replay => (new ReplayStep(Device(Fields(map, what, "device").Required("device"))), true),
            ScenarioOps.Dma => (ReadDma(Fields(map, what, "device", "iova", "length", "direction", "data")), true),
            ScenarioOps.ExpectIotlb => ReadExpectIotlb(Fields(map, what, checker: true, "stage", "hits", "misses")),
            ScenarioOps.ExpectStale => ReadExpectStale(Fields(map, what, checker: true, "count")),
            ScenarioOps.ExpectFaults => ReadExpectFaults(Fields(map, what, checker: true, "stage", "count", "last")),
            _ => throw new ScenarioException(opNode.Position,
                $"unknown op '{ScenarioNumber.Shorten(op)}'; expected one of: {string.Join(", ", ScenarioOps.All)}"),
        };

        YamlNode? expectNode = null;
        SourcePosition expectPosition = map.Position;
        foreach ((YamlScalar key, YamlNode value) in map.Entries)
        {
            if (key.Value == "expect")
            {
                expectNode = value;
                expectPosition = value.Position;
            }
        }

        if (!takesExpect && expectNode is not null && !(expectNode is YamlScalar { Value: "ok" }))
        {
            throw new ScenarioException(expectPosition, $"'{op}' checks state: its expect can only be ok");
        }

        StepExpectation expect = takesExpect ? ReadExpect(expectNode, op) : step.Expect;
        return step with { Position = map.Position, Expect = new StepExpectation(expect.Result, expect.Outputs, expect.Fault) { Position = expectPosition } };
    }

    private static MapFields Fields(YamlMap map, string what, params string[] keys) => Fields(map, what, checker: false, keys);

    private static MapFields Fields(YamlMap map, string what, bool checker, params string[] keys)
    {
        // The contract lets every step carry `expect` (default ok). A checker step (expect-*) compares state, so the
        // only expectation it can take is `ok`; anything else is refused where the value is read.
        _ = checker;
        return new MapFields(map, what, ["op", "expect", .. keys]);
    }

    private static bool AcceptFields(YamlMap map, string what)
    {
        _ = Fields(map, what);
        return true;
    }

    private string Device(YamlNode node)
    {
        string name = Values.Name(node, "device");
        if (!_devices.Contains(name))
        {
            throw new ScenarioException(node.Position, $"unknown device '{ScenarioNumber.Shorten(name)}': declare it under devices");
        }

        return name;
    }

    private static MapStep ReadMap(MapFields f) => new(
        Values.Address(f.Required("iova"), "iova"),
        Values.Size(f.Required("size"), "size"),
        Values.Address(f.Required("vaddr"), "vaddr"),
        f.Optional("flags") is { } flags
            ? Values.Flags(flags, ScenarioNames.MapFlags, "map flags")
            : MapStepFlags.Read | MapStepFlags.Write);

    private static UnmapStep ReadUnmap(MapFields f)
    {
        UnmapStepFlags flags = f.Optional("flags") is { } fl
            ? Values.Flags(fl, ScenarioNames.UnmapFlags, "unmap flags")
            : UnmapStepFlags.None;

        // With UNMAP_FLAG_ALL the kernel requires iova == 0 and size == 0, so they may be left out.
        bool all = (flags & UnmapStepFlags.All) != 0;
        return new UnmapStep(
            all && !f.Has("iova") ? 0 : Values.Address(f.Required("iova"), "iova"),
            all && !f.Has("size") ? 0 : Values.Size(f.Required("size"), "size"),
            flags);
    }

    private static IoasMapStepFlags IoasFlags(MapFields f, bool fixedGiven) =>
        f.Optional("flags") is { } fl
            ? Values.Flags(fl, ScenarioNames.IoasMapFlags, $"{f.What} flags")
            : IoasMapStepFlags.Readable | IoasMapStepFlags.Writeable | (fixedGiven ? IoasMapStepFlags.FixedIova : IoasMapStepFlags.None);

    private static IoasMapStep ReadIoasMap(MapFields f) => new(
        Values.Size(f.Required("length"), "length"),
        Values.Address(f.Required("user-va"), "user-va"),
        f.Optional("iova") is { } i ? Values.Address(i, "iova") : null,
        IoasFlags(f, f.Has("iova")));

    private static IoasUnmapStep ReadIoasUnmap(MapFields f) => new(
        Values.Address(f.Required("iova"), "iova"),
        Values.Size(f.Required("length"), "length"));

    private static IoasCopyStep ReadIoasCopy(MapFields f) => new(
        Values.Address(f.Required("src-iova"), "src-iova"),
        Values.Size(f.Required("length"), "length"),
        f.Optional("dst-iova") is { } d ? Values.Address(d, "dst-iova") : null,
        IoasFlags(f, f.Has("dst-iova")));

    private static IoasIovaRangesStep ReadIoasIovaRanges(MapFields f) => new(
        f.Optional("capacity") is { } c ? (uint)Values.Int32(c, "capacity", 0, int.MaxValue) : null);

    private static IoasAllowIovasStep ReadAllowIovas(MapFields f) => new(
        Values.List(f.Required("ranges"), "ranges").Items.Select(r => Values.Pair(r, "allowed range")).ToArray());

    private static IoasReserveStep ReadReserve(MapFields f) => new(new ScenarioRange(
        Values.Address(f.Required("start"), "start"),
        Values.Address(f.Required("last"), "last")));

    private static IoasMapRangeStep ReadIoasMapRange(MapFields f) => new(
        new ScenarioRange(Values.Address(f.Required("first"), "first"), Values.Address(f.Required("last"), "last")),
        Values.Address(f.Required("user-va"), "user-va"),
        f.Optional("flags") is { } fl
            ? Values.Flags(fl, ScenarioNames.IoasMapFlags, $"{f.What} flags")
            : IoasMapStepFlags.Readable | IoasMapStepFlags.Writeable);

    private static IoasUnmapRangeStep ReadIoasUnmapRange(MapFields f) => new(
        new ScenarioRange(Values.Address(f.Required("first"), "first"), Values.Address(f.Required("last"), "last")));

    private static RegionSetStep ReadRegionSet(MapFields f) => new(
        Values.Name(f.Required("name"), "region name"),
        f.Optional("enabled") is { } e ? Values.Bool(e, "enabled") : null,
        f.Optional("offset") is { } o ? Values.Address(o, "offset") : null,
        f.Optional("size") is { } s ? Values.Size(s, "size") : null,
        f.Optional("readonly") is { } r ? Values.Bool(r, "readonly") : null,
        f.Optional("priority") is { } p ? Values.Int32(p, "priority", int.MinValue, int.MaxValue) : null);

    private GuestMapStep ReadGuestMap(MapFields f) => new(
        Values.Address(f.Required("iova"), "iova"),
        Values.Address(f.Required("gpa"), "gpa"),
        Values.Size(f.Required("size"), "size"),
        Values.Enum(f.Required("perm"), ScenarioNames.Permissions, "perm"),
        f.Optional("device") is { } d ? Device(d) : null);

    private GuestUnmapStep ReadGuestUnmap(MapFields f) => new(
        Values.Address(f.Required("iova"), "iova"),
        Values.Size(f.Required("size"), "size"),
        f.Optional("device") is { } d ? Device(d) : null);

    private static GuestInvalidateStep ReadGuestInvalidate(MapFields f)
    {
        InvalidationScope scope = Values.Enum(f.Required("scope"), ScenarioNames.Scopes, "scope");
        if (scope != InvalidationScope.Page)
        {
            f.Forbid("iova", "only scope: page names a range");
            f.Forbid("size", "only scope: page names a range");
            return new GuestInvalidateStep(scope, null, null);
        }

        return new GuestInvalidateStep(scope, Values.Address(f.Required("iova"), "iova"), Values.Size(f.Required("size"), "size"));
    }

    private DmaStep ReadDma(MapFields f)
    {
        string device = Device(f.Required("device"));
        ulong iova = Values.Address(f.Required("iova"), "iova");
        YamlNode lengthNode = f.Required("length");
        ulong length = Values.Address(lengthNode, "length");
        if (length > DmaStep.MaxLength)
        {
            throw new ScenarioException(lengthNode.Position,
                $"length {ScenarioNumber.Format(length)} is above the {ScenarioNumber.Format(DmaStep.MaxLength)} a dma step may move");
        }

        DmaDirection direction = Values.Enum(f.Required("direction"), ScenarioNames.Directions, "direction");
        ReadOnlyMemory<byte>? data = null;
        if (f.Optional("data") is { } dataNode)
        {
            if (direction == DmaDirection.Read)
            {
                throw new ScenarioException(f.KeyPosition("data"), "'data' is what a write stores; for a read, expect it: expect: { result: ok, data: ... }");
            }

            byte[] bytes = Values.Bytes(dataNode, "data");
            if ((ulong)bytes.Length != length)
            {
                throw new ScenarioException(dataNode.Position, $"data holds {bytes.Length} bytes but length is {length}");
            }

            data = bytes;
        }

        return new DmaStep(device, iova, length, direction, data);
    }

    private static (ScenarioStep, bool) ReadExpectMappings(MapFields f)
    {
        var mappings = new List<ExpectedMapping>();
        var expected = new List<ScenarioValue>();
        foreach (YamlNode item in Values.List(f.Required("mappings"), "mappings").Items)
        {
            YamlSequence entry = Values.List(item, "a mapping");
            if (entry.Items.Count is not (2 or 3))
            {
                throw new ScenarioException(item.Position, $"a mapping is [iova, last] or [iova, last, vaddr], found {entry.Items.Count} items");
            }

            ulong iova = Values.Address(entry.Items[0], "mapping iova");
            ulong last = Values.Address(entry.Items[1], "mapping last");
            ulong? vaddr = entry.Items.Count == 3 ? Values.Address(entry.Items[2], "mapping vaddr") : null;
            mappings.Add(new ExpectedMapping(iova, last, vaddr));
            expected.Add(ScenarioValue.List(
                ScenarioValue.Number(iova),
                ScenarioValue.Number(last),
                vaddr is { } v ? ScenarioValue.Number(v) : ScenarioValue.Any));
        }

        return Checker(new ExpectMappingsStep(mappings), (ScenarioOutputs.MappingsName, ScenarioValue.List(expected)));
    }

    private static (ScenarioStep, bool) ReadExpectFlatview(MapFields f)
    {
        var ranges = new List<ExpectedFlatRange>();
        foreach (YamlNode item in Values.List(f.Required("ranges"), "ranges").Items)
        {
            YamlSequence entry = Values.List(item, "a flat range");
            if (entry.Items.Count != 3)
            {
                throw new ScenarioException(item.Position, $"a flat range is [first, last, region-name], found {entry.Items.Count} items");
            }

            ranges.Add(new ExpectedFlatRange(
                Values.Address(entry.Items[0], "flat range first"),
                Values.Address(entry.Items[1], "flat range last"),
                Values.Name(entry.Items[2], "flat range region")));
        }

        ScenarioValue expected = ScenarioOutputs.FlatRanges(ranges.Select(r => (r.First, r.Last, r.Region)));
        return Checker(new ExpectFlatviewStep(ranges), (ScenarioOutputs.FlatRangesName, expected));
    }

    private static (ScenarioStep, bool) ReadExpectListenerCalls(MapFields f)
    {
        var calls = new List<ExpectedListenerCall>();
        var expected = new List<ScenarioValue>();
        foreach (YamlNode item in Values.List(f.Required("calls"), "calls").Items)
        {
            var call = new MapFields(Values.Map(item, "a listener call"), "a listener call", ["op", "iova", "size"]);
            ListenerCallKind kind = Values.Enum(call.Required("op"), ScenarioNames.ListenerCalls, "listener call op");
            bool optional = kind == ListenerCallKind.UnmapAll;
            ulong? iova = optional && !call.Has("iova") ? null : Values.Address(call.Required("iova"), "listener call iova");
            UInt128? size = optional && !call.Has("size") ? null : Values.Size(call.Required("size"), "listener call size");
            calls.Add(new ExpectedListenerCall(kind, iova, size));
            expected.Add(ScenarioOutputs.ListenerCall(
                kind,
                iova is { } i ? ScenarioValue.Number(i) : ScenarioValue.Any,
                size is { } s ? ScenarioValue.Number(s) : ScenarioValue.Any));
        }

        return Checker(new ExpectListenerCallsStep(calls), (ScenarioOutputs.ListenerCallsName, ScenarioValue.List(expected)));
    }

    private static (ScenarioStep, bool) ReadExpectIotlb(MapFields f)
    {
        TranslationStage stage = Values.Enum(f.Required("stage"), ScenarioNames.Stages, "stage");
        ulong? hits = f.Optional("hits") is { } h ? Values.Address(h, "hits") : null;
        ulong? misses = f.Optional("misses") is { } m ? Values.Address(m, "misses") : null;
        var outputs = new List<(string, ScenarioValue)>();
        if (hits is { } hv)
        {
            outputs.Add((ScenarioOutputs.HitsName, ScenarioValue.Number(hv)));
        }

        if (misses is { } mv)
        {
            outputs.Add((ScenarioOutputs.MissesName, ScenarioValue.Number(mv)));
        }

        return Checker(new ExpectIotlbStep(stage, hits, misses), [.. outputs]);
    }

    private static (ScenarioStep, bool) ReadExpectStale(MapFields f)
    {
        ulong count = Values.Address(f.Required("count"), "count");
        return Checker(new ExpectStaleStep(count), (ScenarioOutputs.StaleCountName, ScenarioValue.Number(count)));
    }

    private static (ScenarioStep, bool) ReadExpectFaults(MapFields f)
    {
        TranslationStage stage = Values.Enum(f.Required("stage"), ScenarioNames.Stages, "stage");
        ulong count = Values.Address(f.Required("count"), "count");
        var outputs = new List<(string, ScenarioValue)> { (ScenarioOutputs.FaultCountName, ScenarioValue.Number(count)) };
        ScenarioFaultKind? fault = null;
        ulong? iova = null;
        if (f.Optional("last") is { } lastNode)
        {
            const string What = "last of op 'expect-faults'";
            var last = new MapFields(Values.Map(lastNode, What), What, ["fault", "iova"]);
            if (!last.Has("fault") && !last.Has("iova"))
            {
                throw new ScenarioException(lastNode.Position, $"{What} needs 'fault', 'iova' or both");
            }

            fault = last.Optional("fault") is { } k ? Values.Enum(k, ScenarioNames.FaultKinds, "fault") : null;
            iova = last.Optional("iova") is { } i ? Values.Address(i, "last iova") : null;
            outputs.Add((ScenarioOutputs.LastFaultName, ScenarioOutputs.LastFault(
                fault is { } fv ? ScenarioValue.Text(ScenarioNames.Of(fv)) : ScenarioValue.Any,
                iova is { } iv ? ScenarioValue.Number(iv) : ScenarioValue.Any)));
        }

        return Checker(new ExpectFaultsStep(stage, count, fault, iova), [.. outputs]);
    }

    private static (ScenarioStep, bool) Checker(ScenarioStep step, params (string Name, ScenarioValue Value)[] outputs) =>
        (step with { Expect = new StepExpectation(Errno.Ok, outputs.ToDictionary(o => o.Name, o => o.Value, StringComparer.Ordinal)) }, false);

    private static StepExpectation ReadExpect(YamlNode? node, string op)
    {
        if (node is null)
        {
            return StepExpectation.Ok;
        }

        if (node is YamlScalar scalar)
        {
            return new StepExpectation(Result(scalar));
        }

        IReadOnlyDictionary<string, OutputKind> outputKinds = ScenarioOps.OutputsOf(op);
        string[] allowed = ["result", .. outputKinds.Keys, .. op == ScenarioOps.Dma ? new[] { "fault", "stage" } : []];
        var f = new MapFields(Values.Map(node, "expect"), $"expect of op '{op}'", allowed);
        if (f.Optional("fault") is { } faultNode)
        {
            f.Forbid("result", "a faulting DMA has no result");
            f.Forbid("data", "a faulting DMA has no data");
            ScenarioFaultKind kind = Values.Enum(faultNode, ScenarioNames.FaultKinds, "fault");
            TranslationStage? stage = f.Optional("stage") is { } s ? Values.Enum(s, ScenarioNames.Stages, "stage") : null;
            return new StepExpectation(Errno.Ok, fault: new ScenarioFault(kind, stage));
        }

        f.Forbid("stage", "stage goes with fault");
        Errno result = f.Optional("result") is { } r ? Result(Values.Scalar(r, "result")) : Errno.Ok;
        var outputs = new Dictionary<string, ScenarioValue>(StringComparer.Ordinal);
        foreach ((string name, OutputKind kind) in outputKinds)
        {
            if (f.Optional(name) is { } value)
            {
                outputs[name] = Output(value, kind, name);
            }
        }

        return new StepExpectation(result, outputs);
    }

    private static Errno Result(YamlScalar scalar)
    {
        if (scalar.IsNull || !ScenarioNames.TryParseErrno(scalar.Value, out Errno errno))
        {
            throw new ScenarioException(scalar.Position,
                $"'{ScenarioNumber.Shorten(scalar.Value)}' is not a result: write ok or an errno name such as EINVAL, EEXIST, ENOSPC, ENOENT");
        }

        return errno;
    }

    private static ScenarioValue Output(YamlNode node, OutputKind kind, string name)
    {
        switch (kind)
        {
            case OutputKind.Number:
                return ScenarioValue.Number(Values.Address(node, name));
            case OutputKind.Size:
                return ScenarioValue.Number(Values.Size(node, name));
            case OutputKind.Bytes:
                return ScenarioValue.Bytes(Values.Bytes(node, name));
            case OutputKind.RangeList:
                return ScenarioValue.List(Values.List(node, name).Items.Select(i =>
                {
                    ScenarioRange pair = Values.Pair(i, name);
                    return ScenarioValue.Range(pair.Start, pair.Last);
                }));
            default:
                if (node is YamlScalar)
                {
                    return ScenarioOutputs.PageSizeList(Values.Address(node, name));
                }

                ulong bitmap = 0;
                foreach (YamlNode item in Values.List(node, name).Items)
                {
                    ulong size = Values.PageSize(item, name);
                    if ((bitmap & size) != 0)
                    {
                        throw new ScenarioException(item.Position, $"{name}: {ScenarioNumber.Format(size)} is given twice");
                    }

                    bitmap |= size;
                }

                return ScenarioOutputs.PageSizeList(bitmap);
        }
    }
}
