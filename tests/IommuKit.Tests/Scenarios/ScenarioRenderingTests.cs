using System.Text.Json;
using IommuKit.Cli.Rendering;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ScenarioRenderingTests
{
    private static ScenarioRunResult RunWithFakes(string yaml, bool trace) =>
        new([new ScenarioRunner(FakeRegistry.Create(), trace).RunText(yaml, "r.yaml")]);

    private const string Scenario = """
        steps:
          - { op: map, iova: 0x10000, size: 0x10000, vaddr: 0x7f00_0001_0000 }
          - op: transaction
            steps:
              - { op: region-del, name: a }
          - { op: unmap, iova: 0, size: 1M, expect: { result: ok, size: 0x1000 } }
        """;

    [Fact]
    public void Text_has_one_line_per_step_with_trace_events_where_they_happened()
    {
        using var output = new StringWriter();
        ScenarioTextRenderer.Render(RunWithFakes(Scenario, trace: true), output, trace: true);
        Assert.Equal(
            """
            vfio_dma_map iova=0x10000 size=0x10000 vaddr=0x7f0000010000
            r.yaml:2:5: [1] map -> ok PASS
            memory_region_transaction_begin
            r.yaml:5:9: [2.1] region-del -> ok PASS
            memory_region_transaction_commit
            r.yaml:3:5: [2] transaction -> ok PASS
            vfio_dma_unmap iova=0x10000 size=0x10000
            r.yaml:6:5: [3] unmap -> ok {size: 0x10000} FAIL (size: expected 0x1000, got 0x10000)
            3 passed, 1 failed

            """.ReplaceLineEndings("\n"),
            output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Text_without_trace_prints_no_events()
    {
        using var output = new StringWriter();
        ScenarioTextRenderer.Render(RunWithFakes(Scenario, trace: true), output, trace: false);
        Assert.DoesNotContain("vfio_dma_map", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(5, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Json_carries_each_steps_trace_and_failure()
    {
        using var output = new StringWriter();
        ScenarioJsonRenderer.Render(RunWithFakes(Scenario, trace: true), output);
        using JsonDocument json = JsonDocument.Parse(output.ToString());
        JsonElement steps = json.RootElement.GetProperty("files")[0].GetProperty("steps");
        Assert.Equal(4, steps.GetArrayLength());
        Assert.Equal("vfio_dma_map iova=0x10000 size=0x10000 vaddr=0x7f0000010000", steps[0].GetProperty("trace")[0].GetString());
        Assert.Equal("2.1", steps[1].GetProperty("path").GetString());
        Assert.Equal("{result: ok, size: 0x1000}", steps[3].GetProperty("expected").GetString());
        Assert.Equal("ok {size: 0x10000}", steps[3].GetProperty("actual").GetString());
        Assert.Equal("size: expected 0x1000, got 0x10000", steps[3].GetProperty("failure").GetString());
        Assert.Equal(JsonValueKind.Null, steps[0].GetProperty("failure").ValueKind);
    }
}
