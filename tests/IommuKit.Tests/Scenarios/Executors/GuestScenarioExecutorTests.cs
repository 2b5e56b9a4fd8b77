using IommuKit.Addressing;
using IommuKit.Devices;
using IommuKit.Guest;
using IommuKit.Linux;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using IommuKit.Scenarios;
using IommuKit.Scenarios.Executors;
using IommuKit.Vfio;

namespace IommuKit.Tests.Scenarios.Executors;

public class GuestScenarioExecutorTests
{
    private const string Guest = """
        container: { kind: vfio-type1v2 }
        machine:
          regions: [ { name: ram0, kind: ram, offset: 0, size: 1G } ]
          listener: vfio
        guest-iommu: { format: x86-sl-4level, caching-mode: true }
        devices:
          - { name: nic0, behind: guest-iommu }
          - { name: dev0, behind: none }
        """;

    private static ScenarioFileResult Run(string yaml) =>
        new ScenarioRunner(DefaultScenarioExecutors.Create()).RunText(yaml, "t.yaml");

    /// <summary>Runs <paramref name="setup"/> with one step (line 10 when the setup is <see cref="Guest"/>).</summary>
    private static StepResult Only(string setup, string step)
    {
        ScenarioFileResult file = Run(setup + "\nsteps:\n  - " + step + "\n");
        Assert.True(file.IsValid, file.Error?.Message);
        Assert.Null(file.SetupFailure);
        return Assert.Single(file.Steps);
    }

    private static (ScenarioContext Context, GuestScenarioExecutor Guest) Build(string yaml)
    {
        var context = new ScenarioContext(ScenarioParser.Parse(yaml + "\nsteps: []\n", "m.yaml"));
        new ContainerExecutor().Initialize(context);
        new MemoryMapExecutor().Initialize(context);
        var guest = new GuestScenarioExecutor();
        guest.Initialize(context);
        return (context, guest);
    }

    [Theory]
    [InlineData("{ op: guest-map, iova: 0x1000, gpa: 0, size: 4K, perm: rw }", "guest-map needs a guest-iommu")]
    [InlineData("{ op: guest-unmap, iova: 0x1000, size: 4K }", "guest-unmap needs a guest-iommu")]
    [InlineData("{ op: guest-invalidate, scope: global }", "guest-invalidate needs a guest-iommu")]
    [InlineData("{ op: guest-enable }", "guest-enable needs a guest-iommu")]
    [InlineData("{ op: guest-disable }", "guest-disable needs a guest-iommu")]
    [InlineData("{ op: expect-iotlb, stage: guest, hits: 0 }", "expect-iotlb stage guest needs a guest-iommu")]
    public void Guest_ops_without_a_guest_iommu_fail_at_the_steps_FILE_LINE_COLUMN(string step, string message)
    {
        StepResult result = Only("container: { kind: vfio-type1v2 }", step);

        Assert.False(result.Outcome.WasRun);
        Assert.Equal($"t.yaml:3:5: {message}", result.Failure);
    }

    [Theory]
    [InlineData("{ op: replay, device: dev0 }", "replay: device 'dev0' is not behind the guest IOMMU")]
    [InlineData("{ op: guest-map, iova: 0x1000, gpa: 0, size: 4K, perm: rw, device: dev0 }", "guest-map: device 'dev0' is not behind the guest IOMMU")]
    [InlineData("{ op: dma, device: nic0, iova: U64_MAX, length: 2, direction: read }", "dma of 0x2 bytes at 0xffffffffffffffff passes 2^64 - 1")]
    public void A_step_that_cannot_run_as_written_fails_at_its_FILE_LINE_COLUMN(string step, string message)
    {
        StepResult result = Only(Guest, step);

        Assert.False(result.Outcome.WasRun);
        Assert.Equal($"t.yaml:10:5: {message}", result.Failure);
    }

    // 4096 4K leaves (iova and gpa never both 2M aligned) is the most one step may write; one more page is refused.
    [Theory]
    [InlineData("16M", true)]
    [InlineData("0x100_1000", false)]
    public void A_guest_map_may_write_at_most_4096_leaves(string size, bool ok)
    {
        StepResult result = Only(Guest, $"{{ op: guest-map, iova: 0, gpa: 0x1000, size: {size}, perm: rw }}");

        Assert.Equal(ok, result.Passed);
        if (!ok)
        {
            Assert.StartsWith("t.yaml:10:5: guest-map of [0x0, 0x1000fff] to 0x1000 needs more than 4096 leaves", result.Failure, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0x0UL, 0x0UL, 0x4000_0000UL, 1L)]                  // one 1G leaf
    [InlineData(0x20_0000UL, 0x40_0000UL, 0x40_0000UL, 2L)]        // two 2M leaves
    [InlineData(0x1000UL, 0x1000UL, 0x20_0000UL, 512L)]            // 511 4K up to 2M, then... only 4K left: 511 + 1
    [InlineData(0x0UL, 0x1000UL, 0x40_0000UL, 1024L)]              // gpa never 2M aligned with iova: all 4K
    public void Leaf_count_takes_the_largest_leaf_alignment_of_both_addresses_allows(ulong iova, ulong gpa, ulong size, long leaves)
    {
        Assert.Equal(leaves, GuestScenarioExecutor.LeafCount(IovaRange.FromStartSize(iova, size), gpa, 100_000));
    }

    [Fact]
    public void Devices_without_a_host_domain_fail_setup_at_the_devices_key()
    {
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2, domain: false }
            guest-iommu: { caching-mode: true }
            devices:
              - { name: nic0 }
            steps:
              - { op: guest-enable }
            """);

        Assert.Equal("t.yaml:3:1: devices need a host IOMMU domain (container.domain: false has none)", file.SetupFailure);
    }

    // QEMU's vtd_iommu_notify_flag_changed refuses a MAP notifier without caching mode: VFIO's realize fails.
    [Fact]
    public void A_vfio_listener_behind_a_unit_without_caching_mode_fails_setup_requires_caching_mode()
    {
        ScenarioFileResult file = Run(Guest.Replace("caching-mode: true", "caching-mode: false", StringComparison.Ordinal) + "\nsteps: []\n");

        Assert.NotNull(file.SetupFailure);
        Assert.StartsWith("t.yaml:5:1: memory listener initialization on vtd-03.0 failed:", file.SetupFailure, StringComparison.Ordinal);
        Assert.Contains("device 00.03.0 requires caching mode", file.SetupFailure, StringComparison.Ordinal);
    }

    // QEMU's vtd_find_add_as: a 2^64 IOMMU region under the 1M interrupt window (priority 1) renders as two IOMMU
    // sections; the VFIO listener registers one notifier per section, [0, 0xfedfffff] and [0xfef00000, U64_MAX].
    [Fact]
    public void The_listener_watches_the_device_space_where_the_interrupt_window_splits_the_iommu_region_in_two()
    {
        (ScenarioContext context, GuestScenarioExecutor guest) = Build(Guest);
        DmaDevice nic0 = guest.Devices["nic0"];
        FlatRange[] ranges = [.. nic0.Guest!.AddressSpace.FlatView.Ranges];

        Assert.Equal(0x3 << 3, nic0.Guest.DevFn);
        Assert.Equal(
            [(0x0UL, 0xfedf_ffffUL, "vtd-03.0-dmar"), (0xfee0_0000UL, 0xfeef_ffffUL, "vtd-ir"), (0xfef0_0000UL, ulong.MaxValue, "vtd-03.0-dmar")],
            ranges.Select(r => (r.Range.First, r.Range.Last, r.Region.Name)));
        VfioListener listener = context.Get<VfioListener>();
        Assert.Equal([(0xfef0_0000UL, ulong.MaxValue), (0x0UL, 0xfedf_ffffUL)], nic0.Guest.Notifiers.Notifiers.Select(n => (n.Start, n.End)));
        Assert.Equal(2, listener.Notifiers.Count);
        Assert.Empty(listener.Errors);
        Assert.Null(guest.Devices["dev0"].Guest);
        Assert.DoesNotContain(listener, context.Get<MemoryMapExecutor>().SystemMemory!.Listeners);
    }

    [Fact]
    public void Without_a_device_behind_the_guest_iommu_the_listener_watches_system_memory()
    {
        (ScenarioContext context, _) = Build(Guest.Replace("behind: guest-iommu", "behind: none", StringComparison.Ordinal));

        Assert.Contains(context.Get<VfioListener>(), context.Get<MemoryMapExecutor>().SystemMemory!.Listeners);
    }

    [Fact]
    public void Guest_disable_shows_the_device_system_memory_and_enable_the_two_iommu_sections_again()
    {
        (ScenarioContext context, GuestScenarioExecutor guest) = Build(Guest);
        AddressSpace space = guest.Devices["nic0"].Guest!.AddressSpace;

        guest.Driver!.DisableTranslation();
        Assert.Equal([(0x0UL, 0x3fff_ffffUL, "ram0")], space.FlatView.Ranges.Select(r => (r.Range.First, r.Range.Last, r.Region.Name)));
        Assert.Empty(guest.Devices["nic0"].Guest!.Notifiers.Notifiers);

        guest.Driver.EnableTranslation();
        Assert.Equal(3, space.FlatView.Ranges.Count);
        Assert.Equal(2, context.Get<VfioListener>().Notifiers.Count);
    }

    // VFIO dirty tracking: a device's DMA writes reach the container's dirty bitmap (type1 MarkDirty), in host IOVAs.
    [Fact]
    public void A_dma_write_marks_the_pages_dirty_in_the_container()
    {
        (ScenarioContext context, GuestScenarioExecutor guest) = Build(Guest);
        VfioContainer container = guest.Machine!.Vfio!;
        Assert.Equal(PageTableStatus.Ok, guest.Driver!.Map(guest.Domain!, IovaRange.FromStartSize(0x10_0000, 0x4000), 0x20_0000, Permissions.ReadWrite));
        container.AllMappedPagesDirty = false;
        var start = new VfioDirtyPages(VfioDirtyPagesFlags.Start);
        Assert.Equal(Errno.Ok, container.DirtyPages(ref start));

        Assert.True(guest.Devices["nic0"].Write(0x10_1ffc, new byte[8]).IsOk);

        var bitmap = VfioBitmap.Allocate(0x1000, 8);
        var get = new VfioDirtyPages(0x10_0000, 0x4000, bitmap);
        Assert.Equal(Errno.Ok, container.DirtyPages(ref get));
        Assert.Equal([false, true, true, false], Enumerable.Range(0, 4).Select(i => bitmap.IsSet((ulong)i)));
        Assert.NotNull(context.Get<GuestIommuDriver>());
    }
}
