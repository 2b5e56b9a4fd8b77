using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios.Executors;

// Every bundled scenarios/linux/*.yaml file runs through the real ScenarioRunner and executors with no failed
// expectation: the files and the container models agree (one test case per file, so a failure names the file).
public class LinuxScenarioFileTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(LinuxDirectory(), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Fact]
    public void The_linux_scenario_directory_holds_type1_and_iommufd_files()
    {
        string[] files = Directory.GetFiles(LinuxDirectory(), "*.yaml").Select(Path.GetFileName).ToArray()!;
        Assert.Contains(files, f => f.StartsWith("type1-", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith("iommufd-", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_expectation_of_the_file_holds(string file)
    {
        ScenarioFileResult result = new ScenarioRunner(DefaultScenarioExecutors.Create(), trace: true)
            .RunFile(Path.Combine(LinuxDirectory(), file));

        Assert.True(result.IsValid, result.Error?.Message);
        Assert.Null(result.SetupFailure);
        Assert.NotEmpty(result.Steps);
        Assert.All(result.Steps, s => Assert.True(s.Passed, $"{s.Position} [{s.Path}] {s.Op}: {s.Failure}"));
        Assert.Equal(0, result.Failed);
        Assert.Equal(result.Steps.Count, result.Passed);

        // Every file checks container state, not only return codes.
        Assert.Contains(result.Steps, s => s.Step.Expect.Outputs.Count > 0);
    }

    internal static string LinuxDirectory()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "IommuKit.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return Path.Combine(dir ?? throw new InvalidOperationException("repository root not found"), "scenarios", "linux");
    }
}
