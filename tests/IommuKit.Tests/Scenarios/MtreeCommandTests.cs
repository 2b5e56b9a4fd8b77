using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Scenarios;

// iommukit mtree: the initial map of a scenario, and with --after-steps the map after its region steps.
public class MtreeCommandTests
{
    private static string Seed() =>
        Path.Combine(Path.GetDirectoryName(Executors.LinuxScenarioFileTests.LinuxDirectory())!, "seed.yaml");

    [Fact]
    public void Mtree_shows_the_initial_tree_and_flat_view()
    {
        var output = new StringWriter();
        Assert.Equal(CliApp.ExitOk, MtreeCommand.Run(Seed(), afterSteps: false, output, TextWriter.Null));
        string text = output.ToString();
        Assert.Contains("7ffffffffffff000-7fffffffffffffff (prio 0, ram): ram-hi", text, StringComparison.Ordinal);
        Assert.Contains("FlatView", text, StringComparison.Ordinal);
        Assert.DoesNotContain("dmar", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Mtree_after_steps_applies_region_steps()
    {
        var output = new StringWriter();
        string file = Path.Combine(Path.GetDirectoryName(Seed())!, "qemu", "render-docs-example.yaml");
        Assert.Equal(CliApp.ExitOk, MtreeCommand.Run(file, afterSteps: true, output, TextWriter.Null));
        Assert.Contains("(prio 2, i/o): B [disabled]", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Mtree_of_an_invalid_file_exits_2()
    {
        var error = new StringWriter();
        Assert.Equal(CliApp.ExitInvalid, MtreeCommand.Run("/nonexistent/x.yaml", afterSteps: false, TextWriter.Null, error));
        Assert.NotEmpty(error.ToString());
    }
}
