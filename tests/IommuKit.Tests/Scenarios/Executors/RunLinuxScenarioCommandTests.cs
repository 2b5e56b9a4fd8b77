using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Scenarios.Executors;

/// <summary>The README's <c>iommukit run</c> example, through <see cref="CliApp.Run"/> with the console captured.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RunLinuxScenarioCommandTests
{
    private static (int ExitCode, string[] Lines) Cli(params string[] args)
    {
        TextWriter saved = Console.Out;
        using var output = new StringWriter();
        Console.SetOut(output);
        try
        {
            int exitCode = CliApp.Run(args);
            return (exitCode, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        finally
        {
            Console.SetOut(saved);
        }
    }

    [Fact]
    public void Readme_example_passes_every_step_and_exits_0()
    {
        string file = Path.Combine(LinuxScenarioFileTests.LinuxDirectory(), "type1-unmap-v2.yaml");
        (int exitCode, string[] lines) = Cli("run", file);

        Assert.Equal(0, exitCode);
        Assert.Equal("13 passed, 0 failed", lines[^1]);
        Assert.Equal($"{file}:28:5: [12] unmap -> ok {{size: 0x20000}} PASS", lines[11]);
    }

    [Fact]
    public void Trace_prints_the_container_calls()
    {
        string file = Path.Combine(LinuxScenarioFileTests.LinuxDirectory(), "type1-unmap-v2.yaml");
        (int exitCode, string[] lines) = Cli("run", "--trace", file);

        Assert.Equal(0, exitCode);
        Assert.Contains(lines, l => l.Contains("vfio_dma_map iova=0x10000 size=0x10000 vaddr=0x7f0000010000 flags=rw -> 0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("vfio_dma_unmap iova=0x10000 size=0x30000 flags=none -> 0 unmapped=0x20000", StringComparison.Ordinal));
    }
}
