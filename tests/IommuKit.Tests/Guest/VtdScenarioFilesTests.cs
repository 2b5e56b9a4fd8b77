using IommuKit.Scenarios;

namespace IommuKit.Tests.Guest;

/// <summary>Every bundled scenarios/vtd/*.yaml runs through the real runner and executors with no failed expectation.</summary>
public class VtdScenarioFilesTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(VtdDirectory(), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_expectation_of_the_vtd_file_holds(string file)
    {
        ScenarioFileResult result = Run(file);
        Assert.True(result.IsValid, result.Error?.Message);
        Assert.Null(result.SetupFailure);
        Assert.NotEmpty(result.Steps);
        Assert.All(result.Steps, s => Assert.True(s.Passed, $"{s.Position} [{s.Path}] {s.Op}: {s.Failure}"));
    }

    internal static ScenarioFileResult Run(string file) =>
        new ScenarioRunner(DefaultScenarioExecutors.Create(), trace: true).RunFile(Path.Combine(VtdDirectory(), file));

    internal static string VtdDirectory() => Path.Combine(FindRepoRoot(), "scenarios", "vtd");

    private static string FindRepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "IommuKit.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("IommuKit.slnx not found above the test binaries");
    }
}
