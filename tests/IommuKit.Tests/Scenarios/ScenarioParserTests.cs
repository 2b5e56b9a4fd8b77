using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ScenarioParserTests
{
    private static ScenarioDocument Parse(string text) => ScenarioParser.Parse(text, "t.yaml");

    [Fact]
    public void Contract_example_parses_to_typed_steps_with_positions_and_expectations()
    {
        ScenarioDocument doc = Parse("""
            container: { kind: vfio-type1v2 }
            steps:
              - { op: map, iova: 0x10000, size: 0x10000, vaddr: 0x7f00_0001_0000, flags: [read, write] }
              - { op: unmap, iova: 0x10000, size: 0x1000, expect: EINVAL }     # v2 never bisects
              - { op: unmap, iova: 0, size: 1M, expect: { result: ok, size: 0x10000 } }
            """);

        Assert.Equal(ContainerKind.VfioType1v2, doc.Container.Kind);
        Assert.Equal(3, doc.Steps.Count);
        MapStep map = Assert.IsType<MapStep>(doc.Steps[0]);
        Assert.Equal(new MapStep(0x10000, 0x10000, 0x7f00_0001_0000, MapStepFlags.Read | MapStepFlags.Write) { Position = map.Position, Expect = map.Expect }, map);
        Assert.Equal(new SourcePosition("t.yaml", 3, 5), map.Position);
        Assert.Equal(Errno.Ok, map.Expect.Result);

        UnmapStep bisect = Assert.IsType<UnmapStep>(doc.Steps[1]);
        Assert.Equal(Errno.EINVAL, bisect.Expect.Result);
        Assert.Equal(new SourcePosition("t.yaml", 4, 55), bisect.Expect.Position);

        UnmapStep all = Assert.IsType<UnmapStep>(doc.Steps[2]);
        Assert.Equal((UInt128)(1 << 20), all.Size);
        Assert.Equal(ScenarioValue.Number(0x10000), all.Expect.Outputs["size"]);
        Assert.Equal("{result: ok, size: 0x10000}", all.Expect.ToString());
    }

    [Fact]
    public void Every_top_level_section_is_read_into_the_model()
    {
        ScenarioDocument doc = Parse("""
            name: everything
            description: all sections
            iommu:
              format: arm-lpae-48
              page-sizes: [4K, 2M]
              aperture: [0, 0xffff_ffff_ffff]
              reserved: [[0xfee0_0000, 0xfeef_ffff]]
              iotlb: { entries: 64, ways: 4 }
            container: { kind: iommufd, dma-entry-limit: 10, domain: false, kernel: 6.1 }
            host-memory:
              - { vaddr: 0x7f00_0000_0000, size: 1G, perm: r }
            machine:
              regions:
                - { name: ram0, kind: ram, offset: 0, size: 2G }
                - { name: mmio0, kind: mmio, offset: 0xfe00_0000, size: 16M, priority: -1 }
                - { name: hi, kind: alias, target: ram0, target-offset: 1G, offset: 4G, size: 1G }
                - { name: dmar, kind: iommu, offset: 0, size: 2^64, parent: ram0 }
              listener: vfio
            guest-iommu: { format: x86-sl-5level, caching-mode: false }
            devices:
              - { name: nic0, behind: guest-iommu }
              - { name: disk, behind: none }
              - { name: gpu }
            steps: []
            """);

        Assert.Equal("everything", doc.Name);
        Assert.Equal("all sections", doc.Description);
        Assert.Equal(IommuFormat.ArmLpae48, doc.Iommu.Format);
        Assert.Equal(PageSizes.Of(PageSizes.Size4K, PageSizes.Size2M), doc.Iommu.PageSizes);
        Assert.Equal(IovaRange.FromFirstLast(0, 0xffff_ffff_ffff), doc.Iommu.Aperture);
        Assert.Equal([IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff)], doc.Iommu.Reserved);
        Assert.Equal(new IotlbConfig(64, 4), doc.Iommu.Iotlb);
        Assert.Equal(new ContainerConfig(ContainerKind.Iommufd, 10, false, KernelVersion.V6_1), doc.Container);
        Assert.Equal([new HostMemoryRegion(0x7f00_0000_0000, 1UL << 30, AccessPermissions.Read)], doc.HostMemory);
        MachineConfig machine = Assert.IsType<MachineConfig>(doc.Machine);
        Assert.Equal(ListenerKind.Vfio, machine.Listener);
        Assert.Equal(4, machine.Regions.Count);
        Assert.Equal(-1, machine.Regions[1].Priority);
        Assert.Equal("ram0", machine.Regions[2].Target);
        Assert.Equal(1UL << 30, machine.Regions[2].TargetOffset);
        Assert.Equal(ScenarioNumber.TwoTo64, machine.Regions[3].Size);
        Assert.Equal("ram0", machine.Regions[3].Parent);
        Assert.True(machine.Regions[0].Enabled);
        Assert.Equal(new GuestIommuConfig(IommuFormat.X86Sl5Level, false), doc.GuestIommu);
        Assert.Equal(DeviceAttachment.GuestIommu, doc.Devices[0].Behind);
        Assert.Equal(DeviceAttachment.None, doc.Devices[1].Behind);
        Assert.Equal(DeviceAttachment.GuestIommu, doc.Devices[2].Behind); // default with a guest IOMMU
        Assert.Equal(ScenarioDocument.MachineSections.Order(), doc.Sections.Keys.Order());
        Assert.Equal(new SourcePosition("t.yaml", 3, 1), doc.Sections["iommu"]);
    }

    [Fact]
    public void Absent_sections_take_the_contract_defaults()
    {
        ScenarioDocument doc = Parse("steps: []");
        Assert.Same(IommuConfig.Default, doc.Iommu);
        Assert.Equal(ContainerConfig.Default, doc.Container);
        Assert.Equal(ContainerKind.VfioType1v2, doc.Container.Kind);
        Assert.Equal(65535UL, doc.Container.DmaEntryLimit);
        Assert.Equal([new HostMemoryRegion(0, (UInt128)1 << 47, AccessPermissions.ReadWrite)], doc.HostMemory);
        Assert.Null(doc.Machine);
        Assert.Null(doc.GuestIommu);
        Assert.Empty(doc.Devices);
        Assert.Empty(doc.Sections);
    }

    [Fact]
    public void Container_ops_read_every_field_and_default_flags()
    {
        ScenarioDocument doc = Parse("""
            steps:
              - { op: map, iova: 0, size: 0, vaddr: 0 }
              - { op: map, iova: 0, size: 4K, vaddr: 0, flags: [] }
              - { op: unmap, flags: [all] }
              - { op: unmap, iova: 1, size: 2^64, flags: [vaddr, get-dirty-bitmap] }
              - { op: get-info, expect: { page-sizes: [4K, 2M, 1G], iova-ranges: [[0, 0xfedf_ffff]], dma-avail: 65535 } }
              - { op: ioas-map, length: 2M, user-va: 0x1000 }
              - { op: ioas-map, length: 2M, user-va: 0x1000, iova: 0x20_0000, expect: { iova: 0x20_0000 } }
              - { op: ioas-map, length: 4K, user-va: 0, iova: 0, flags: [readable] }
              - { op: ioas-unmap, iova: 0, length: U64_MAX, expect: { length: 0x1000 } }
              - { op: ioas-copy, src-iova: 0, length: 4K, dst-iova: 0x1000, expect: { dst-iova: 0x1000 } }
              - { op: ioas-iova-ranges, capacity: 1, expect: { result: EMSGSIZE, count: 2 } }
              - { op: ioas-allow-iovas, ranges: [[0x2000, 0x1000], [0, U64_MAX]] }
              - { op: ioas-reserve, start: 0xfee0_0000, last: 0xfeef_ffff }
              - { op: expect-mappings, mappings: [[0, 0xfff, 0x7f00_0000_0000], [0x2000, 0x2fff]] }
            """);

        // A zero size reaches the container (the kernel answers EINVAL), the parser does not reject it.
        Assert.Equal(new MapStep(0, 0, 0, MapStepFlags.Read | MapStepFlags.Write), Without(doc.Steps[0]));
        Assert.Equal(MapStepFlags.None, ((MapStep)doc.Steps[1]).Flags);
        Assert.Equal(new UnmapStep(0, 0, UnmapStepFlags.All), Without(doc.Steps[2]));
        Assert.Equal(new UnmapStep(1, ScenarioNumber.TwoTo64, UnmapStepFlags.Vaddr | UnmapStepFlags.GetDirtyBitmap), Without(doc.Steps[3]));
        StepExpectation info = doc.Steps[4].Expect;
        Assert.Equal("[0x1000, 0x200000, 0x40000000]", info.Outputs["page-sizes"].ToString());
        Assert.Equal("[[0, 0xfedfffff]]", info.Outputs["iova-ranges"].ToString());
        Assert.Equal(IoasMapStepFlags.Readable | IoasMapStepFlags.Writeable, ((IoasMapStep)doc.Steps[5]).Flags);
        Assert.Null(((IoasMapStep)doc.Steps[5]).Iova);
        Assert.Equal(IoasMapStepFlags.Readable | IoasMapStepFlags.Writeable | IoasMapStepFlags.FixedIova, ((IoasMapStep)doc.Steps[6]).Flags);
        Assert.Equal(IoasMapStepFlags.Readable, ((IoasMapStep)doc.Steps[7]).Flags);
        Assert.Equal(new IoasUnmapStep(0, ulong.MaxValue), Without(doc.Steps[8]));
        Assert.Equal(new IoasCopyStep(0, 4096, 0x1000, IoasMapStepFlags.Readable | IoasMapStepFlags.Writeable | IoasMapStepFlags.FixedIova), Without(doc.Steps[9]));
        Assert.Equal(Errno.EMSGSIZE, doc.Steps[10].Expect.Result);
        Assert.Equal(1U, ((IoasIovaRangesStep)doc.Steps[10]).Capacity);
        // An inverted allowed range is kept for the kernel to reject.
        Assert.Equal(new ScenarioRange(0x2000, 0x1000), ((IoasAllowIovasStep)doc.Steps[11]).Ranges[0]);
        Assert.Equal(new ScenarioRange(0xfee0_0000, 0xfeef_ffff), ((IoasReserveStep)doc.Steps[12]).Range);
        ExpectMappingsStep mappings = Assert.IsType<ExpectMappingsStep>(doc.Steps[13]);
        Assert.Equal([new ExpectedMapping(0, 0xfff, 0x7f00_0000_0000), new ExpectedMapping(0x2000, 0x2fff, null)], mappings.Mappings);
        Assert.Equal("[[0, 0xfff, 0x7f0000000000], [0x2000, 0x2fff, *]]", mappings.Expect.Outputs["mappings"].ToString());
    }

    [Fact]
    public void Memory_map_and_guest_ops_read_every_field()
    {
        ScenarioDocument doc = Parse("""
            guest-iommu: { format: x86-sl-4level, caching-mode: true }
            devices: [ { name: nic0 } ]
            steps:
              - { op: region-add, name: r, kind: ram, offset: 0, size: 4K, parent: ram0, readonly: true, enabled: false }
              - { op: region-del, name: r }
              - { op: region-set, name: r, enabled: true, offset: 0x1000, size: 2^64, readonly: false, priority: 3 }
              - op: transaction
                steps:
                  - { op: region-del, name: a }
                  - { op: transaction, steps: [ { op: region-del, name: b } ] }
              - { op: expect-flatview, ranges: [[0, 0xfff, ram0]] }
              - { op: expect-listener-calls, calls: [ { op: map, iova: 0, size: 2^64 }, { op: unmap-all } ] }
              - { op: guest-map, iova: 0x1000, gpa: 0x2000, size: 4K, perm: rw, device: nic0 }
              - { op: guest-unmap, iova: 0x1000, size: 4K }
              - { op: guest-invalidate, scope: page, iova: 0x1000, size: 3K }
              - { op: guest-invalidate, scope: global }
              - { op: guest-enable }
              - { op: guest-disable }
              - { op: replay, device: nic0, expect: { events: 2 } }
              - { op: dma, device: nic0, iova: 0x1000, length: 4, direction: write, data: dead_beef }
              - { op: dma, device: nic0, iova: 0x1000, length: 2, direction: read, expect: { data: "0xbeef" } }
              - { op: dma, device: nic0, iova: 0, length: 1, direction: read, expect: { fault: not-present, stage: guest } }
              - { op: expect-iotlb, stage: host, hits: 1 }
              - { op: expect-stale, count: 0 }
            """);

        RegionAddStep add = Assert.IsType<RegionAddStep>(doc.Steps[0]);
        Assert.Equal(new RegionConfig("r", RegionKind.Ram, 0, 4096, 0, "ram0", null, 0, true, false) { Position = add.Region.Position }, add.Region);
        Assert.Equal(new RegionSetStep("r", true, 0x1000, ScenarioNumber.TwoTo64, false, 3), Without(doc.Steps[2]));
        TransactionStep transaction = Assert.IsType<TransactionStep>(doc.Steps[3]);
        Assert.IsType<TransactionStep>(transaction.Steps[1]);
        Assert.Equal(new SourcePosition("t.yaml", 9, 9), transaction.Steps[0].Position);
        Assert.Equal([new ExpectedFlatRange(0, 0xfff, "ram0")], ((ExpectFlatviewStep)doc.Steps[4]).Ranges);
        ExpectListenerCallsStep calls = Assert.IsType<ExpectListenerCallsStep>(doc.Steps[5]);
        Assert.Equal([new ExpectedListenerCall(ListenerCallKind.Map, 0, ScenarioNumber.TwoTo64), new ExpectedListenerCall(ListenerCallKind.UnmapAll, null, null)], calls.Calls);
        Assert.Equal("[{op: map, iova: 0, size: 0x10000000000000000}, {op: unmap-all, iova: *, size: *}]", calls.Expect.Outputs["calls"].ToString());
        Assert.Equal(new GuestMapStep(0x1000, 0x2000, 4096, AccessPermissions.ReadWrite, "nic0"), Without(doc.Steps[6]));
        Assert.Equal(new GuestUnmapStep(0x1000, 4096, null), Without(doc.Steps[7]));
        // A page invalidation of 3K is for the guest IOMMU to reject with EINVAL, not for the parser.
        Assert.Equal(new GuestInvalidateStep(InvalidationScope.Page, 0x1000, 3072), Without(doc.Steps[8]));
        Assert.Equal(new GuestInvalidateStep(InvalidationScope.Global, null, null), Without(doc.Steps[9]));
        Assert.IsType<GuestEnableStep>(doc.Steps[10]);
        Assert.IsType<GuestDisableStep>(doc.Steps[11]);
        Assert.Equal(ScenarioValue.Number(2), doc.Steps[12].Expect.Outputs["events"]);
        DmaStep write = Assert.IsType<DmaStep>(doc.Steps[13]);
        Assert.Equal(new byte[] { 0xde, 0xad, 0xbe, 0xef }, write.Data!.Value.ToArray());
        Assert.Equal(ScenarioValue.Bytes([0xbe, 0xef]), doc.Steps[14].Expect.Outputs["data"]);
        Assert.Equal(new ScenarioFault(ScenarioFaultKind.NotPresent, TranslationStage.Guest), doc.Steps[15].Expect.Fault);
        Assert.Equal(new ExpectIotlbStep(TranslationStage.Host, 1, null), Without(doc.Steps[16]));
        Assert.Equal(["hits"], doc.Steps[16].Expect.Outputs.Keys);
        Assert.Equal(ScenarioValue.Number(0), doc.Steps[17].Expect.Outputs["count"]);
    }

    [Fact]
    public void Page_sizes_output_may_be_a_bitmap_number()
    {
        ScenarioDocument doc = Parse("steps: [ { op: get-info, expect: { page-sizes: 0x4020_1000 } } ]");
        Assert.Equal(ScenarioOutputs.PageSizeList(0x4020_1000), doc.Steps[0].Expect.Outputs["page-sizes"]);
    }

    [Fact]
    public void Comments_only_and_quoted_numbers_are_read_as_written()
    {
        ScenarioDocument doc = Parse("""
            # a comment
            steps:
              - { op: map, iova: "0x1000", size: '4K', vaddr: 0 } # quoted numbers are numbers
            """);
        Assert.Equal(0x1000UL, ((MapStep)doc.Steps[0]).Iova);
    }

    private static ScenarioStep Without(ScenarioStep step) => step with { Position = default, Expect = StepExpectation.Ok };
}
