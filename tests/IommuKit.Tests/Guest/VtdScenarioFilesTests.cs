using IommuKit.Scenarios;

namespace IommuKit.Tests.Guest;

/// <summary>The bundled VT-d scenario files parse (they run once the listener and guest executors are registered).</summary>
public class VtdScenarioFilesTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        string dir = Path.Combine(FindRepoRoot(), "scenarios", "vtd");
        foreach (string file in Directory.GetFiles(dir, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Vtd_scenario_file_parses(string file)
    {
        ScenarioDocument doc = ScenarioParser.Load(Path.Combine(FindRepoRoot(), "scenarios", "vtd", file));
        Assert.NotNull(doc.GuestIommu);
        Assert.NotEmpty(doc.Steps);
    }

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
