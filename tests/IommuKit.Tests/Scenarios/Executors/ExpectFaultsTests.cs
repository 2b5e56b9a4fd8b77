using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios.Executors;

/// <summary>
/// <c>expect-faults</c> (issue #5, an addition to the contract): the record count of a stage's fault log since the
/// start, and the newest record's reason and IOVA.
/// </summary>
public class ExpectFaultsTests
{
    // nic0 behind the guest IOMMU (guest faults, host faults for what the shadow lacks); dev0 behind none (host only).
    private const string Setup = """
        container: { kind: vfio-type1v2 }
        machine:
          regions:
            - { name: ram0, kind: ram, offset: 0, size: 1G }
            - { name: rom0, kind: rom, offset: 0x8000_0000, size: 1M }
          listener: vfio
        guest-iommu: { format: x86-sl-4level, caching-mode: true }
        devices:
          - { name: nic0, behind: guest-iommu }
          - { name: dev0, behind: none }
        steps:
          - { op: guest-map, iova: 0x1000, gpa: 0x10_0000, size: 4K, perm: r }
          - { op: guest-map, iova: 0x2000, gpa: 0x8000_0000, size: 4K, perm: rw }
          - { op: dma, device: nic0, iova: 0x9000, length: 4, direction: read, expect: { fault: not-present, stage: guest } }
          - { op: dma, device: nic0, iova: 0x1000, length: 4, direction: write, expect: { fault: read-only, stage: guest } }
          - { op: dma, device: nic0, iova: 0x2000, length: 4, direction: write, expect: { fault: read-only, stage: host } }
          - { op: dma, device: dev0, iova: 0x7000_0000, length: 4, direction: read, expect: { fault: not-present, stage: host } }
          - { op: dma, device: nic0, iova: 0x1000, length: 4, direction: read }

        """;

    private static ScenarioFileResult Run(string yaml) =>
        new ScenarioRunner(DefaultScenarioExecutors.Create()).RunText(yaml, "t.yaml");

    /// <summary>Runs <see cref="Setup"/> then <paramref name="check"/> (line 19); returns the check's result.</summary>
    private static StepResult Check(string check)
    {
        ScenarioFileResult file = Run(Setup + "  - " + check + "\n");
        Assert.True(file.IsValid, file.Error?.Message);
        Assert.Null(file.SetupFailure);
        Assert.All(file.Steps.SkipLast(1), s => Assert.True(s.Passed, s.Failure));
        StepResult last = file.Steps[^1];
        Assert.Equal(19, last.Step.Position.Line);
        return last;
    }

    // Two guest faults (not-present 0x9000, then read-only 0x1000) in the unit's log; two host faults (nic0's write
    // to the ROM shadow at 0x2000, then dev0's read of unmapped 0x7000_0000) in the domain's log; a successful DMA
    // adds nothing to either.
    [Theory]
    [InlineData("{ op: expect-faults, stage: guest, count: 2 }")]
    [InlineData("{ op: expect-faults, stage: host, count: 2 }")]
    [InlineData("{ op: expect-faults, stage: guest, count: 2, last: { fault: read-only, iova: 0x1000 } }")]
    [InlineData("{ op: expect-faults, stage: host, count: 2, last: { fault: not-present, iova: 0x7000_0000 } }")]
    [InlineData("{ op: expect-faults, stage: host, count: 2, last: { fault: not-present } }")]
    [InlineData("{ op: expect-faults, stage: guest, count: 2, last: { iova: 0x1000 } }")]
    public void Expect_faults_counts_each_stage_log_and_names_its_newest_record(string check)
    {
        StepResult result = Check(check);

        Assert.True(result.Passed, result.Failure);
    }

    [Theory]
    [InlineData("{ op: expect-faults, stage: guest, count: 3 }", "count: expected 3, got 2")]
    [InlineData("{ op: expect-faults, stage: host, count: 0 }", "count: expected 0, got 2")]
    [InlineData("{ op: expect-faults, stage: guest, count: 2, last: { fault: not-present } }", "last: expected {fault: not-present, iova: *}, got {fault: read-only, iova: 0x1000}")]
    [InlineData("{ op: expect-faults, stage: host, count: 2, last: { iova: 0x2000 } }", "last: expected {fault: *, iova: 0x2000}, got {fault: not-present, iova: 0x70000000}")]
    public void A_wrong_count_or_last_record_fails_saying_what_differed(string check, string difference)
    {
        StepResult result = Check(check);

        Assert.False(result.Passed);
        Assert.Contains(difference, result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_log_counts_zero_and_reports_no_last_record()
    {
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2 }
            machine: { regions: [ { name: ram0, kind: ram, offset: 0, size: 1G } ], listener: vfio }
            guest-iommu: { caching-mode: true }
            devices: [ { name: nic0, behind: guest-iommu } ]
            steps:
              - { op: expect-faults, stage: guest, count: 0 }
              - { op: expect-faults, stage: host, count: 0 }
              - { op: expect-faults, stage: guest, count: 0, last: { fault: not-present } }
            """);

        Assert.Equal([true, true, false], file.Steps.Select(s => s.Passed));
        Assert.False(file.Steps[0].Outcome.Outputs.ContainsKey(ScenarioOutputs.LastFaultName));
        Assert.Contains("last: expected {fault: not-present, iova: *}, not reported", file.Steps[2].Failure, StringComparison.Ordinal);
    }

    // VT-d FSTS.PFO: a full log records no more, so the count stops at the capacity (256) while more faults arrive,
    // and the newest record stays the 256th fault.
    [Fact]
    public void The_count_stops_at_the_log_capacity_when_the_log_overflows()
    {
        var steps = string.Concat(Enumerable.Range(0, 257).Select(i =>
            $"  - {{ op: dma, device: nic0, iova: 0x{(ulong)i << 12:x}, length: 1, direction: read, expect: {{ fault: not-present, stage: guest }} }}\n"));
        ScenarioFileResult file = Run("""
            container: { kind: vfio-type1v2 }
            machine: { regions: [ { name: ram0, kind: ram, offset: 0, size: 1G } ], listener: vfio }
            guest-iommu: { caching-mode: true }
            devices: [ { name: nic0, behind: guest-iommu } ]
            steps:

            """ + steps + "  - { op: expect-faults, stage: guest, count: 256, last: { fault: not-present, iova: 0xff000 } }\n");

        Assert.True(file.IsValid, file.Error?.Message);
        Assert.All(file.Steps, s => Assert.True(s.Passed, s.Failure));
        Assert.Equal(258, file.Steps.Count);
    }

    [Theory]
    [InlineData("{ op: expect-faults, stage: guest, count: 0 }", "expect-faults stage guest needs a guest-iommu")]
    [InlineData("{ op: expect-faults, stage: host, count: 0 }", "expect-faults stage host needs a host IOMMU domain")]
    public void Expect_faults_of_a_stage_the_file_lacks_fails_at_the_step_FILE_LINE_COLUMN(string step, string message)
    {
        ScenarioFileResult file = Run("container: { kind: vfio-type1v2, domain: false }\nsteps:\n  - " + step + "\n");

        Assert.True(file.IsValid, file.Error?.Message);
        StepResult result = Assert.Single(file.Steps);
        Assert.False(result.Outcome.WasRun);
        Assert.Equal($"t.yaml:3:5: {message}", result.Failure);
    }

    [Theory]
    [InlineData("{ op: expect-faults, count: 0 }", 2, 5, "missing required key 'stage' in op 'expect-faults'")]
    [InlineData("{ op: expect-faults, stage: guest }", 2, 5, "missing required key 'count' in op 'expect-faults'")]
    [InlineData("{ op: expect-faults, stage: vm, count: 0 }", 2, 33, "'vm' is not one of guest | host")]
    [InlineData("{ op: expect-faults, stage: host, count: 0, hits: 1 }", 2, 49, "unknown key 'hits' in op 'expect-faults'")]
    [InlineData("{ op: expect-faults, stage: host, count: -1 }", 2, 46, "negative")]
    [InlineData("{ op: expect-faults, stage: host, count: 0, last: { fault: gone } }", 2, 64, "'gone' is not one of not-present | read-only | write-only | out-of-range")]
    [InlineData("{ op: expect-faults, stage: host, count: 0, last: { iova: 0, stage: host } }", 2, 66, "unknown key 'stage' in last of op 'expect-faults'")]
    [InlineData("{ op: expect-faults, stage: host, count: 0, last: {} }", 2, 55, "last of op 'expect-faults' needs 'fault', 'iova' or both")]
    [InlineData("{ op: expect-faults, stage: host, count: 0, last: not-present }", 2, 55, "last of op 'expect-faults' must be a map")]
    [InlineData("{ op: expect-faults, stage: host, count: 0, expect: EINVAL }", 2, 57, "'expect-faults' checks state: its expect can only be ok")]
    public void Bad_expect_faults_input_is_rejected_at_FILE_LINE_COLUMN(string step, int line, int column, string message)
    {
        ScenarioFileResult file = Run("steps:\n  - " + step + "\n");

        Assert.False(file.IsValid);
        Assert.StartsWith($"t.yaml:{line}:{column}: ", file.Error!.Message, StringComparison.Ordinal);
        Assert.Contains(message, file.Error.Message, StringComparison.Ordinal);
    }
}
