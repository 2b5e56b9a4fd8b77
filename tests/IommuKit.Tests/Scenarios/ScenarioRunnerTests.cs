using IommuKit.Linux;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ScenarioRunnerTests
{
    private static ScenarioFileResult Run(string yaml, bool trace = false) =>
        new ScenarioRunner(FakeRegistry.Create(), trace).RunText(yaml, "r.yaml");

    [Fact]
    public void Every_expectation_holding_passes_each_step_and_exits_0()
    {
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2 }
            steps:
              - { op: map, iova: 0x10000, size: 0x10000, vaddr: 0x7f00_0001_0000 }
              - { op: map, iova: 0x10000, size: 0x1000, vaddr: 0, expect: EEXIST }
              - { op: map, iova: 0, size: 0, vaddr: 0, expect: EINVAL }
              - { op: expect-mappings, mappings: [[0x10000, 0x1ffff]] }
              - { op: unmap, iova: 0, size: 1M, expect: { result: ok, size: 0x10000 } }
              - { op: expect-mappings, mappings: [] }
            """);

        Assert.True(file.IsValid);
        Assert.Null(file.SetupFailure);
        Assert.All(file.Steps, s => Assert.True(s.Passed, s.Failure));
        Assert.Equal((6, 0), (file.Passed, file.Failed));
        Assert.Equal([1, 2, 3, 4, 5, 6], file.Steps.Select(s => s.Index));
        Assert.Equal(ScenarioRunResult.ExitOk, new ScenarioRunResult([file]).ExitCode);
        Assert.Equal("6 passed, 0 failed", new ScenarioRunResult([file]).Summary);
    }

    [Theory]
    [InlineData("{ op: map, iova: 0, size: 4K, vaddr: 0, expect: EINVAL }", "ok", "expected EINVAL, got ok")]
    [InlineData("{ op: map, iova: 0, size: 0, vaddr: 0 }", "EINVAL", "expected ok, got EINVAL")]
    [InlineData("{ op: unmap, iova: 0, size: 4K, expect: { size: 0x1000 } }", "ok {size: 0}", "size: expected 0x1000, got 0")]
    [InlineData("{ op: get-info, expect: { page-sizes: [4K] } }", "ok {page-sizes: [0x1000, 0x200000, 0x40000000], dma-avail: 0xffff}", "page-sizes: expected [0x1000], got [0x1000, 0x200000, 0x40000000]")]
    [InlineData("{ op: get-info, expect: { iova-ranges: [[0, 1]] } }", "ok {page-sizes: [0x1000, 0x200000, 0x40000000], dma-avail: 0xffff}", "iova-ranges: expected [[0, 1]], not reported")]
    [InlineData("{ op: expect-mappings, mappings: [[0, 0xfff]] }", "ok {mappings: []}", "mappings: expected [[0, 0xfff, *]], got []")]
    public void A_mismatch_fails_the_step_and_says_what_differed(string step, string actual, string failure)
    {
        ScenarioFileResult file = Run("steps:\n  - " + step);
        StepResult result = Assert.Single(file.Steps);
        Assert.False(result.Passed);
        Assert.Equal(actual, result.Actual);
        Assert.Equal(failure, result.Failure);
        Assert.Equal(ScenarioRunResult.ExitFailed, new ScenarioRunResult([file]).ExitCode);
    }

    [Fact]
    public void A_left_out_vaddr_matches_any_vaddr_but_a_written_one_must_match()
    {
        ScenarioFileResult file = Run("""
            steps:
              - { op: map, iova: 0, size: 4K, vaddr: 0x5000 }
              - { op: expect-mappings, mappings: [[0, 0xfff]] }
              - { op: expect-mappings, mappings: [[0, 0xfff, 0x5000]] }
              - { op: expect-mappings, mappings: [[0, 0xfff, 0x6000]] }
            """);
        Assert.Equal([true, true, true, false], file.Steps.Select(s => s.Passed));
        Assert.Equal("mappings: expected [[0, 0xfff, 0x6000]], got [[0, 0xfff, 0x5000]]", file.Steps[3].Failure);
    }

    [Fact]
    public void An_op_without_executor_fails_as_not_supported_and_the_run_goes_on()
    {
        ScenarioFileResult file = Run("""
            steps:
              - { op: ioas-reserve, start: 0, last: 0xfff }
              - { op: map, iova: 0, size: 4K, vaddr: 0 }
            """);
        Assert.False(file.Steps[0].Passed);
        Assert.Equal("not supported yet: no executor runs op 'ioas-reserve'", file.Steps[0].Failure);
        Assert.Equal("not run", file.Steps[0].Actual);
        Assert.True(file.Steps[1].Passed);
    }

    [Fact]
    public void An_op_without_executor_fails_even_when_it_expects_an_errno()
    {
        ScenarioFileResult file = Run("steps:\n  - { op: ioas-reserve, start: 0, last: 0xfff, expect: EINVAL }");
        Assert.False(Assert.Single(file.Steps).Passed);
    }

    [Fact]
    public void An_executor_exception_fails_its_step_only()
    {
        ScenarioFileResult file = Run("""
            steps:
              - { op: guest-enable }
              - { op: region-del, name: missing }
              - { op: replay, device: n }
              - { op: map, iova: 0, size: 4K, vaddr: 0 }
            devices: [ { name: n } ]
            """);
        Assert.Equal("FakeGuestExecutor threw InvalidOperationException: boom at 0x1000", file.Steps[0].Failure);
        Assert.Equal("r.yaml:3:5: no region named 'missing'", file.Steps[1].Failure);
        Assert.Equal("FakeGuestExecutor returned no outcome", file.Steps[2].Failure);
        Assert.True(file.Steps[3].Passed);
        Assert.Equal((1, 3), (file.Passed, file.Failed));
    }

    [Fact]
    public void Dma_faults_match_kind_and_stage()
    {
        ScenarioFileResult file = Run("""
            devices: [ { name: n, behind: none } ]
            steps:
              - { op: dma, device: n, iova: 0, length: 4, direction: read, expect: { fault: not-present, stage: guest } }
              - { op: dma, device: n, iova: 0, length: 4, direction: read, expect: { fault: not-present } }
              - { op: dma, device: n, iova: 0, length: 4, direction: read, expect: { fault: not-present, stage: host } }
              - { op: dma, device: n, iova: 0, length: 4, direction: read, expect: { fault: read-only } }
              - { op: dma, device: n, iova: 0, length: 4, direction: read }
              - { op: dma, device: n, iova: 0x1000, length: 2, direction: read, expect: { data: "0000" } }
              - { op: dma, device: n, iova: 0x1000, length: 2, direction: read, expect: { data: "0001" } }
              - { op: dma, device: n, iova: 0x1000, length: 2, direction: read, expect: { fault: not-present } }
            """);
        Assert.Equal([true, true, false, false, false, true, false, false], file.Steps.Select(s => s.Passed));
        Assert.Equal("expected {fault: not-present, stage: host}, got {fault: not-present, stage: guest}", file.Steps[2].Failure);
        Assert.Equal("expected ok, got {fault: not-present, stage: guest}", file.Steps[4].Failure);
        Assert.Equal("data: expected 0001, got 0000", file.Steps[6].Failure);
        Assert.Equal("expected {fault: not-present}, got ok {data: 0000}", file.Steps[7].Failure);
    }

    [Fact]
    public void Transaction_runs_nested_steps_through_the_runner_with_paths_and_trace_in_order()
    {
        ScenarioFileResult file = Run(
            """
            machine: { regions: [ { name: ram0, kind: ram, size: 1G } ], listener: vfio }
            steps:
              - { op: map, iova: 0, size: 4K, vaddr: 0 }
              - op: transaction
                steps:
                  - { op: map, iova: 0x1000, size: 4K, vaddr: 0 }
                  - { op: map, iova: 0x1000, size: 4K, vaddr: 0, expect: ENOSPC }
              - { op: unmap, iova: 0, size: 8K, expect: { size: 0x2000 } }
            """,
            trace: true);

        Assert.Equal(["1", "2.1", "2.2", "2", "3"], file.Steps.Select(s => s.Path));
        Assert.Equal([1, 1, 2, 2, 3], file.Steps.Select(s => s.Index));
        Assert.Equal([true, true, false, true, true], file.Steps.Select(s => s.Passed));
        Assert.Equal("expected ENOSPC, got EEXIST", file.Steps[2].Failure);
        Assert.Equal(
            [
                "1 vfio_dma_map iova=0x0 size=0x1000 vaddr=0x0",
                "2 memory_region_transaction_begin",
                "2.1 vfio_dma_map iova=0x1000 size=0x1000 vaddr=0x0",
                "2 memory_region_transaction_commit",
                "3 vfio_dma_unmap iova=0x0 size=0x1000",
                "3 vfio_dma_unmap iova=0x1000 size=0x1000",
            ],
            file.Trace.Select(e => $"{e.StepPath} {e}"));
        Assert.Equal(["memory_region_transaction_begin", "memory_region_transaction_commit"], file.Steps[3].Trace.Select(e => e.Name));

        // Results and events share one sequence, so a renderer can interleave them in the order they happened.
        long[] order = file.Steps.Select(s => s.Sequence).Concat(file.Trace.Select(e => e.Sequence)).Order().ToArray();
        Assert.Equal(order.Length, order.Distinct().Count());
        Assert.True(file.Trace[2].Sequence < file.Steps[1].Sequence); // 2.1's map event before 2.1's result
        Assert.True(file.Trace[3].Sequence < file.Steps[3].Sequence); // commit before the transaction's result
    }

    [Fact]
    public void Without_trace_no_event_is_recorded()
    {
        ScenarioFileResult file = Run("steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0 }");
        Assert.Empty(file.Trace);
        Assert.Empty(file.Steps[0].Trace);
    }

    [Fact]
    public void A_section_no_executor_builds_fails_setup_and_no_step_runs()
    {
        var registry = new ScenarioExecutorRegistry().Add(() => new FakeContainerExecutor());
        ScenarioFileResult file = new ScenarioRunner(registry).RunText("""
            guest-iommu: { format: x86-sl-4level }
            steps:
              - { op: map, iova: 0, size: 4K, vaddr: 0 }
            """, "s.yaml");
        Assert.Equal("s.yaml:1:1: 'guest-iommu' is not supported yet (no executor builds it)", file.SetupFailure);
        Assert.Equal("setup failed", Assert.Single(file.Steps).Failure);
        Assert.Equal((0, 2), (file.Passed, file.Failed));
    }

    [Fact]
    public void A_failing_initialize_fails_setup_even_with_no_steps()
    {
        var registry = new ScenarioExecutorRegistry().Add(() => new FailingSetupExecutor());
        ScenarioFileResult file = new ScenarioRunner(registry).RunText("steps: []", "s.yaml");
        Assert.Equal("s.yaml:1:1: this machine cannot be built", file.SetupFailure);
        Assert.Equal(1, file.Failed);
        Assert.Equal(ScenarioRunResult.ExitFailed, new ScenarioRunResult([file]).ExitCode);
    }

    [Fact]
    public void Executors_are_fresh_per_scenario_and_initialized_in_registration_order()
    {
        var created = new List<FakeContainerExecutor>();
        var registry = new ScenarioExecutorRegistry()
            .Add(() =>
            {
                var e = new FakeContainerExecutor();
                created.Add(e);
                return e;
            })
            .Add(() => new FakeMemoryExecutor()); // its Initialize needs the container in the context
        var runner = new ScenarioRunner(registry);
        ScenarioFileResult first = runner.RunText("steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0 }", "a.yaml");
        ScenarioFileResult second = runner.RunText("steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0 }", "b.yaml");
        Assert.Null(first.SetupFailure);
        Assert.True(first.Steps[0].Passed);
        Assert.True(second.Steps[0].Passed); // no EEXIST: the second scenario has its own container
        Assert.Equal(2, created.Count);
        Assert.All(created, c => Assert.Equal(1, c.Initialized));
    }

    [Fact]
    public void Two_executors_claiming_one_op_is_a_programming_error()
    {
        var registry = new ScenarioExecutorRegistry().Add(() => new FakeContainerExecutor()).Add(() => new FakeContainerExecutor());
        Assert.Throws<InvalidOperationException>(() => new ScenarioRunner(registry).RunText("steps: []", "x.yaml"));
    }

    [Fact]
    public void Invalid_text_runs_nothing_and_gives_exit_2_while_valid_files_still_run()
    {
        var runner = new ScenarioRunner(FakeRegistry.Create());
        ScenarioFileResult bad = runner.RunText("steps:\n  - { op: nope }", "bad.yaml");
        ScenarioFileResult good = runner.RunText("steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0 }", "good.yaml");
        Assert.False(bad.IsValid);
        Assert.Empty(bad.Steps);
        Assert.Equal(2, bad.Error!.Line);
        var all = new ScenarioRunResult([bad, good]);
        Assert.Equal(ScenarioRunResult.ExitInvalid, all.ExitCode);
        Assert.Equal("1 passed, 0 failed", all.Summary);
    }

    [Fact]
    public void Context_shares_components_by_type_and_nested_runs_need_a_runner()
    {
        var context = new ScenarioContext(ScenarioParser.Parse("steps: []", "c.yaml"));
        Assert.False(context.TryGet(out FakeContainerExecutor? missing));
        Assert.Null(missing);
        Assert.Throws<InvalidOperationException>(() => context.Get<FakeContainerExecutor>());
        var container = new FakeContainerExecutor();
        context.Set(container);
        Assert.Same(container, context.Get<FakeContainerExecutor>());
        Assert.Throws<InvalidOperationException>(() => context.RunNested(new GuestEnableStep()));
        Assert.False(context.Trace.IsEnabled);
    }

    [Fact]
    public void Outcome_and_expectation_format_as_the_file_writes_them()
    {
        Assert.Equal("ok", StepOutcome.Ok.ToString());
        Assert.Equal("EOVERFLOW", StepOutcome.FromErrno(Errno.EOVERFLOW).ToString());
        Assert.Equal("ok {size: 0x10000000000000000}", StepOutcome.Ok.With("size", ScenarioNumber.TwoTo64).ToString());
        Assert.Equal("fault: write-only, stage: host", StepOutcome.Faulted(new ScenarioFault(ScenarioFaultKind.WriteOnly, TranslationStage.Host)).ToString());
        Assert.Same(StepOutcome.Ok, StepOutcome.FromErrno(Errno.Ok));
        Assert.Equal("ENOSPC", new StepExpectation(Errno.ENOSPC).ToString());
    }
}
