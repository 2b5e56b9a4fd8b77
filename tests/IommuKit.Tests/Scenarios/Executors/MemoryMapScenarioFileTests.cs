using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios.Executors;

// The seed scenarios (scenarios/seed*.yaml) and every scenarios/qemu/**.yaml run through the real runner and
// executors with no failed expectation; the seed's 2^64 removal is pinned to one call per container kind.
public class MemoryMapScenarioFileTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        string root = ScenarioDirectory();
        IEnumerable<string> files = Directory.GetFiles(root, "seed*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(root, "qemu"), "*.yaml", SearchOption.AllDirectories));
        foreach (string f in files.Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(root, f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_expectation_of_the_file_holds(string file)
    {
        ScenarioFileResult result = Run(file);
        Assert.True(result.IsValid, result.Error?.Message);
        Assert.Null(result.SetupFailure);
        Assert.NotEmpty(result.Steps);
        Assert.All(result.Steps, s => Assert.True(s.Passed, $"{s.Position} [{s.Path}] {s.Op}: {s.Failure}"));
    }

    [Theory]
    [InlineData("seed.yaml", "primitive=unmap-all calls=1", "vfio_dma_unmap_all")]
    [InlineData("seed-iommufd.yaml", "primitive=native-full-range calls=1", "iommukit_dma_unmap_full_range")]
    public void Seed_removes_the_2pow64_iommu_region_with_one_call(string file, string decision, string call)
    {
        ScenarioFileResult result = Run(file);
        ScenarioTraceEvent[] trace = [.. result.Steps.Where(s => s.Op == ScenarioOps.RegionDel).SelectMany(s => s.Trace)];
        Assert.Contains(trace, e => e.Arguments == decision);
        Assert.Single(trace, e => e.Name == call);
        Assert.DoesNotContain(trace, e => e.Name == "vfio_listener_error");
    }

    [Fact]
    public void A_map_failure_during_registration_fails_setup_naming_the_region()
    {
        // Default domain: 48-bit aperture, so RAM at 2^48 cannot be mapped (EINVAL) while the listener registers.
        const string text = """
            machine:
              regions:
                - { name: ram0, kind: ram, offset: 0, size: 1M }
                - { name: far, kind: ram, offset: 0x1_0000_0000_0000, size: 4K }
              listener: vfio
            steps:
              - { op: expect-listener-calls, calls: [] }
            """;
        ScenarioFileResult result = new ScenarioRunner(DefaultScenarioExecutors.Create()).RunText(text, "setup.yaml");
        Assert.NotNull(result.SetupFailure);
        Assert.Contains("memory listener initialization failed: Region far:", result.SetupFailure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_map_failure_at_run_time_is_the_steps_errno()
    {
        const string text = """
            machine:
              regions:
                - { name: ram0, kind: ram, offset: 0, size: 1M }
              listener: vfio
            steps:
              - { op: region-add, name: far, kind: ram, offset: 0x1_0000_0000_0000, size: 4K, expect: EINVAL }
              - op: expect-listener-calls
                calls:
                  - { op: map, iova: 0, size: 1M }
                  - { op: map, iova: 0x1_0000_0000_0000, size: 4K }
            """;
        ScenarioFileResult result = new ScenarioRunner(DefaultScenarioExecutors.Create()).RunText(text, "runtime.yaml");
        Assert.Null(result.SetupFailure);
        Assert.All(result.Steps, s => Assert.True(s.Passed, $"[{s.Path}] {s.Op}: {s.Failure}"));
    }

    private static ScenarioFileResult Run(string file) =>
        new ScenarioRunner(DefaultScenarioExecutors.Create(), trace: true).RunFile(Path.Combine(ScenarioDirectory(), file));

    private static string ScenarioDirectory() => Path.GetDirectoryName(LinuxScenarioFileTests.LinuxDirectory())!;
}
