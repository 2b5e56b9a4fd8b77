using IommuKit.Addressing;
using IommuKit.Scenarios;
using IommuKit.Scenarios.Executors;

namespace IommuKit.Tests.Scenarios.Executors;

public class ContainerExecutorTests
{
    private static ScenarioFileResult Run(string yaml, bool trace = false) =>
        new ScenarioRunner(DefaultScenarioExecutors.Create(), trace).RunText(yaml, "t.yaml");

    private static StepResult Only(string setup, string step, bool trace = false)
    {
        ScenarioFileResult file = Run(setup + "\nsteps:\n  - " + step + "\n", trace);
        Assert.True(file.IsValid, file.Error?.Message);
        Assert.Null(file.SetupFailure);
        return Assert.Single(file.Steps);
    }

    private static ScenarioMachine Machine(string yaml)
    {
        var context = new ScenarioContext(ScenarioParser.Parse(yaml + "\nsteps: []\n", "m.yaml"));
        new ContainerExecutor().Initialize(context);
        return context.Get<ScenarioMachine>();
    }

    // VFIO_IOMMU_UNMAP_DMA's size is a u64: a scenario size of 2^64 cannot be written into it, so it is not an errno
    // the kernel returns but a step that cannot be sent.
    [Fact]
    public void Unmap_size_2_pow_64_cannot_be_sent_in_the_u64_field_and_fails_the_step()
    {
        StepResult step = Only("container: { kind: vfio-type1v2 }", "{ op: unmap, iova: 0, size: 2^64, expect: EOVERFLOW }");

        Assert.False(step.Passed);
        Assert.False(step.Outcome.WasRun);
        Assert.Contains("size 0x10000000000000000 cannot be sent", step.Failure, StringComparison.Ordinal);
        Assert.Contains("VFIO_IOMMU_UNMAP_DMA is a u64", step.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ op: map, iova: 0, size: 2^64, vaddr: 0 }", "VFIO_IOMMU_MAP_DMA")]
    [InlineData("{ op: ioas-map, iova: 0, length: 2^64, user-va: 0 }", "IOMMU_IOAS_MAP")]
    [InlineData("{ op: ioas-unmap, iova: 0, length: 2^64 }", "IOMMU_IOAS_UNMAP")]
    [InlineData("{ op: ioas-copy, src-iova: 0, length: 2^64, dst-iova: 0 }", "IOMMU_IOAS_COPY")]
    public void A_2_pow_64_length_in_any_u64_UAPI_field_fails_the_step(string op, string ioctl)
    {
        string kind = op.Contains("ioas", StringComparison.Ordinal) ? "iommufd" : "vfio-type1v2";
        StepResult step = Only($"container: {{ kind: {kind}, domain: false }}", op);

        Assert.False(step.Outcome.WasRun);
        Assert.Contains(ioctl, step.Failure, StringComparison.Ordinal);
    }

    // U64_MAX itself fits: the kernel answers it (EOVERFLOW for a wrapping map, success-0 for an empty unmap range).
    [Fact]
    public void Unmap_size_U64_MAX_fits_and_reaches_the_kernel_rules()
    {
        StepResult step = Only("container: { kind: vfio-type1v2, domain: false }", "{ op: unmap, iova: 0x1000, size: U64_MAX, expect: EINVAL }");

        Assert.True(step.Passed, step.Failure);
    }

    [Fact]
    public void Expect_mappings_mismatch_fails_with_both_lists_in_the_message()
    {
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2, domain: false }
            steps:
              - { op: map, iova: 0x10000, size: 0x10000, vaddr: 0x10_0000 }
              - { op: expect-mappings, mappings: [[0x10000, 0x1ffff, 0x20_0000]] }
            """);

        StepResult check = file.Steps[1];
        Assert.False(check.Passed);
        Assert.Equal(
            "mappings: expected [[0x10000, 0x1ffff, 0x200000]], got [[0x10000, 0x1ffff, 0x100000]]",
            check.Failure);
        Assert.Equal(1, file.Failed);
    }

    [Fact]
    public void Expect_mappings_reports_the_records_ascending_whatever_the_map_order()
    {
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2, domain: false }
            steps:
              - { op: map, iova: 0x30000, size: 4K, vaddr: 0x3000 }
              - { op: map, iova: 0x10000, size: 4K, vaddr: 0x1000 }
              - { op: map, iova: 0xffff_ffff_ffff_f000, size: 4K, vaddr: 0x2000 }
              - { op: expect-mappings, mappings: [[0x10000, 0x10fff, 0x1000], [0x30000, 0x30fff, 0x3000], [0xffff_ffff_ffff_f000, U64_MAX, 0x2000]] }
            """);

        Assert.All(file.Steps, s => Assert.True(s.Passed, s.Failure));
    }

    [Fact]
    public void Trace_has_one_qemu_style_event_per_container_call()
    {
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2, domain: false }
            steps:
              - { op: map, iova: 0x10000, size: 0x10000, vaddr: 0x7f00_0001_0000, flags: [read, write] }
              - { op: unmap, iova: 0x10000, size: 0x1000, expect: EINVAL }
              - { op: unmap, iova: 0, size: 1M, expect: { result: ok, size: 0x10000 } }
              - { op: expect-mappings, mappings: [] }
            """, trace: true);

        Assert.Equal(
            [
                "vfio_dma_map iova=0x10000 size=0x10000 vaddr=0x7f0000010000 flags=rw -> 0",
                "vfio_dma_unmap iova=0x10000 size=0x1000 flags=none -> EINVAL",
                "vfio_dma_unmap iova=0x0 size=0x100000 flags=none -> 0 unmapped=0x10000",
            ],
            file.Trace.Select(e => e.ToString()));
        Assert.Equal(["1", "2", "3"], file.Trace.Select(e => e.StepPath));
        Assert.Empty(file.Steps[3].Trace);
    }

    [Fact]
    public void Trace_names_iommufd_ioctls()
    {
        StepResult step = Only("container: { kind: iommufd, domain: false }",
            "{ op: ioas-map, iova: 0x1000, length: 4K, user-va: 0x2000, expect: { result: ok, iova: 0x1000 } }", trace: true);

        Assert.True(step.Passed, step.Failure);
        Assert.Equal("iommufd_ioas_map ioas=1 iova=0x1000 length=0x1000 user_va=0x2000 flags=fixed|r|w -> 0", Assert.Single(step.Trace).ToString());
    }

    [Fact]
    public void No_trace_events_without_trace()
    {
        ScenarioFileResult file = Run("steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0 }\n");

        Assert.True(file.Steps[0].Passed, file.Steps[0].Failure);
        Assert.Empty(file.Trace);
    }

    [Theory]
    [InlineData("iommufd", "{ op: map, iova: 0, size: 4K, vaddr: 0 }", "op 'map' is a VFIO type1 ioctl: container.kind iommufd has none")]
    [InlineData("iommufd", "{ op: get-info }", "op 'get-info' is a VFIO type1 ioctl")]
    [InlineData("vfio-type1v2", "{ op: ioas-map, length: 4K, user-va: 0 }", "op 'ioas-map' is an iommufd IOAS ioctl: container.kind vfio-type1v2 has no IOAS")]
    [InlineData("vfio-type1", "{ op: ioas-iova-ranges }", "op 'ioas-iova-ranges' is an iommufd IOAS ioctl")]
    public void An_op_the_container_kind_has_no_ioctl_for_fails_with_a_clear_message(string kind, string op, string message)
    {
        StepResult step = Only($"container: {{ kind: {kind} }}", op);

        Assert.False(step.Outcome.WasRun);
        Assert.Contains(message, step.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("6.12", "EINVAL")]
    [InlineData("6.1", "EINVAL")]
    [InlineData("newest", "EOVERFLOW")]
    public void Kernel_profile_selects_the_wrap_errno_of_that_linux(string kernel, string errno)
    {
        // linux-vfio-iommufd.md §1.3 step 4: pre-v6.18-rc4 kernels answer a wrapping MAP with EINVAL, newer ones EOVERFLOW.
        ScenarioFileResult file = Run($"container: {{ kind: vfio-type1v2, kernel: {kernel} }}\nsteps:\n" +
            $"  - {{ op: map, iova: 0xffff_ffff_ffff_f000, size: 0x2000, vaddr: 0x10_0000, expect: {errno} }}\n");

        Assert.Null(file.SetupFailure);
        Assert.Equal(0, file.Failed);
        Assert.Equal(1, file.Passed);
    }

    [Fact]
    public void Kernel_profile_on_an_iommufd_container_fails_setup_with_its_position()
    {
        ScenarioFileResult file = Run("container: { kind: iommufd, kernel: 6.12 }\nsteps:\n  - { op: ioas-iova-ranges }\n");

        Assert.NotNull(file.SetupFailure);
        Assert.Contains("container.kernel 6.12: kernel profiles apply to vfio-type1 containers only", file.SetupFailure, StringComparison.Ordinal);
        Assert.StartsWith("t.yaml:1:1:", file.SetupFailure, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernel_newest_builds()
    {
        StepResult step = Only("container: { kind: vfio-type1v2, kernel: newest }", "{ op: get-info, expect: { result: ok, dma-avail: 65535 } }");

        Assert.True(step.Passed, step.Failure);
    }

    [Fact]
    public void Dma_entry_limit_is_the_containers_dma_avail()
    {
        ScenarioMachine machine = Machine("container: { kind: vfio-type1, dma-entry-limit: 7 }");

        Assert.Equal(7u, machine.Vfio!.DmaAvail);
        Assert.Equal(IommuKit.Vfio.VfioIommuType.Type1, machine.Vfio.IommuType);
    }

    [Fact]
    public void Default_machine_is_type1v2_with_the_default_domain_and_all_of_the_user_space_backed()
    {
        ScenarioMachine machine = Machine("name: defaults");

        Assert.Equal(ContainerKind.VfioType1v2, machine.Kind);
        Assert.True(machine.Vfio!.IsV2);
        IommuKit.Iommu.IommuDomain domain = machine.Domain!;
        Assert.Same(domain, Assert.Single(machine.Vfio.Domains));
        Assert.Equal(IovaRange.FromFirstLast(0, 0xffff_ffff_ffff), domain.Aperture);
        Assert.Equal([IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff)], domain.Reserved);
        Assert.Equal(PageSizes.X86, domain.PageSizes);
        Assert.Equal(IovaRange.FromFirstLast(0, (1UL << 47) - 1), Assert.Single(machine.Host.Regions).Va);
        Assert.Null(machine.Iommufd);
        Assert.Null(machine.Compat);
    }

    [Fact]
    public void Iommu_section_sets_format_page_sizes_aperture_reserved_and_iotlb()
    {
        ScenarioMachine machine = Machine("""
            iommu:
              format: x86-sl-5level
              page-sizes: [4K, 2M]
              aperture: [0x1000, 0xffff_ffff]
              reserved: []
              iotlb: { entries: 64, ways: 4 }
            """);

        IommuKit.Iommu.IommuDomain domain = machine.Domain!;
        Assert.Equal(PageSizes.Of(PageSizes.Size4K, PageSizes.Size2M), domain.PageSizes);
        Assert.Equal(IovaRange.FromFirstLast(0x1000, 0xffff_ffff), domain.Aperture);
        Assert.Empty(domain.Reserved);
        Assert.Equal(new IommuKit.Iommu.IotlbGeometry(64, 4), domain.Iotlb.Geometry);
    }

    [Fact]
    public void Domain_false_builds_no_domain()
    {
        ScenarioMachine machine = Machine("container: { kind: vfio-type1v2, domain: false }");

        Assert.Null(machine.Domain);
        Assert.Empty(machine.Vfio!.Domains);
    }

    [Fact]
    public void Iommufd_kind_attaches_the_domain_to_a_plain_IOAS_and_has_no_compat_layer()
    {
        ScenarioMachine machine = Machine("container: { kind: iommufd }");

        Assert.NotNull(machine.Ioas);
        Assert.Null(machine.Compat);
        Assert.Null(machine.Iommufd!.CompatIoas);
        Assert.Equal(1, machine.Ioas.DomainCount);
        Assert.Equal(PageSizes.Size4K, machine.Ioas.IovaAlignment);
        Assert.False(machine.HasVfioUapi);
    }

    [Theory]
    [InlineData("iommufd-compat-type1", IommuKit.Vfio.VfioIommuType.Type1, false)]
    [InlineData("iommufd-compat-type1v2", IommuKit.Vfio.VfioIommuType.Type1v2, true)]
    public void Compat_kinds_set_the_type_on_the_compat_IOAS(string kind, IommuKit.Vfio.VfioIommuType type, bool hugePages)
    {
        ScenarioMachine machine = Machine($"container: {{ kind: {kind} }}");

        Assert.Equal(type, machine.Compat!.IommuType);
        Assert.Same(machine.Iommufd!.CompatIoas, machine.Ioas);
        Assert.Equal(hugePages, machine.Ioas!.HugePages);
        Assert.True(machine.HasVfioUapi);
    }

    // The compat kinds drive one IOAS through both UAPIs: a VFIO map is an IOAS area, an IOAS map a VFIO mapping.
    [Fact]
    public void Compat_map_and_ioas_ops_act_on_the_same_IOAS()
    {
        ScenarioFileResult file = Run("""
            container: { kind: iommufd-compat-type1v2, domain: false }
            steps:
              - { op: map, iova: 0x10000, size: 4K, vaddr: 0x5000 }
              - { op: ioas-map, iova: 0x20000, length: 4K, user-va: 0x6000 }
              - { op: expect-mappings, mappings: [[0x10000, 0x10fff, 0x5000], [0x20000, 0x20fff, 0x6000]] }
              - { op: unmap, iova: 0, size: 0, flags: [all], expect: { result: ok, size: 0x2000 } }
            """);

        Assert.All(file.Steps, s => Assert.True(s.Passed, s.Failure));
    }

    // IOMMU_IOAS_IOVA_RANGES copies num_iovas back on EMSGSIZE: capacity 0 reports the total and no range.
    [Fact]
    public void Iova_ranges_with_capacity_0_is_EMSGSIZE_with_the_total_count()
    {
        StepResult step = Only("container: { kind: iommufd }",
            "{ op: ioas-iova-ranges, capacity: 0, expect: { result: EMSGSIZE, ranges: [], count: 2, alignment: 4K } }");

        Assert.True(step.Passed, step.Failure);
    }

    // A large capacity does not make the executor allocate a large array: only min(capacity, total) entries exist.
    [Fact]
    public void Iova_ranges_with_the_largest_capacity_reports_every_range()
    {
        StepResult step = Only("container: { kind: iommufd, domain: false }",
            "{ op: ioas-iova-ranges, capacity: 0x7fff_ffff, expect: { result: ok, ranges: [[0, U64_MAX]], count: 1 } }");

        Assert.True(step.Passed, step.Failure);
    }

    [Fact]
    public void Inverted_native_ranges_and_reservations_are_EINVAL()
    {
        ScenarioFileResult file = Run("""
            container: { kind: iommufd, domain: false }
            steps:
              - { op: ioas-map-range, first: 0x2000, last: 0x1fff, user-va: 0, expect: EINVAL }
              - { op: ioas-unmap-range, first: 0x2000, last: 0x1fff, expect: EINVAL }
              - { op: ioas-reserve, start: 0x2000, last: 0x1fff, expect: EINVAL }
              - { op: ioas-iova-ranges, expect: { result: ok, ranges: [[0, U64_MAX]] } }
            """);

        Assert.All(file.Steps, s => Assert.True(s.Passed, s.Failure));
    }

    [Fact]
    public void Failed_calls_report_no_outputs()
    {
        StepResult step = Only("container: { kind: vfio-type1v2 }", "{ op: unmap, iova: 0x800, size: 4K, expect: EINVAL }");

        Assert.True(step.Passed, step.Failure);
        Assert.Empty(step.Outcome.Outputs);
    }

    [Fact]
    public void The_machine_is_shared_through_the_context_for_later_executors()
    {
        var context = new ScenarioContext(ScenarioParser.Parse("steps: []\n", "c.yaml"));
        var executor = new ContainerExecutor();
        executor.Initialize(context);

        Assert.Same(executor.Machine, context.Get<ScenarioMachine>());
        Assert.Contains("iommu", executor.Sections);
        Assert.Contains("host-memory", executor.Sections);
        Assert.Contains("container", executor.Sections);
    }
}
