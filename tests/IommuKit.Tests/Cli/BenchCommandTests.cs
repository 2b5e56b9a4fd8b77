using System.CommandLine;
using System.Text.Json;
using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Cli;

/// <summary><c>iommukit bench</c>: every row printed, JSON that parses, bad flags exit 2 (invalid input).</summary>
public sealed class BenchCommandTests
{
    private static readonly string[] Operations =
    [
        "translate, IOTLB hit", "translate by 4-level walk", "map 1x4K sequential", "map 1x4K random order",
        "unmap 1x4K sequential", "map 256x4K, one call", "unmap 256x4K, one call", "record lookup",
        "first-fit gap search", "IOAS_MAP auto + UNMAP", "reverse lookup", "type1 MAP_DMA + UNMAP_DMA",
        "type1 unmap-all spread", "type1 unmap-all dense", "visit of the full space", "VT-d replay of the full space",
    ];

    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = CliApp.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Bench_with_a_tiny_size_prints_every_row_with_its_target()
    {
        (int exit, string output, string error) = Run("bench", "--size", "64");
        Assert.Equal(CliApp.ExitOk, exit);
        Assert.Equal("", error);
        foreach (string op in Operations)
        {
            Assert.Contains(op, output, StringComparison.Ordinal);
        }

        Assert.Contains("(64 mappings)", output, StringComparison.Ordinal);
        Assert.Contains("targets met", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_json_parses_and_has_one_row_per_operation()
    {
        (int exit, string output, _) = Run("bench", "--json", "--size", "16");
        Assert.Equal(CliApp.ExitOk, exit);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.Equal(16, doc.RootElement.GetProperty("size").GetInt32());
        Assert.Equal("quick", doc.RootElement.GetProperty("mode").GetString());
        JsonElement[] rows = [.. doc.RootElement.GetProperty("rows").EnumerateArray()];
        Assert.Equal(Operations.Length, rows.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.StartsWith(Operations[i], rows[i].GetProperty("operation").GetString(), StringComparison.Ordinal);
            Assert.True(rows[i].GetProperty("nsPerOp").GetDouble() > 0);
            Assert.True(rows[i].GetProperty("targetNs").GetDouble() > 0);
            Assert.Equal(rows[i].GetProperty("nsPerOp").GetDouble() <= rows[i].GetProperty("targetNs").GetDouble(), rows[i].GetProperty("met").GetBoolean());
        }
    }

    [Theory]
    [InlineData("--size", "0")]
    [InlineData("--size", "16777217")]
    [InlineData("--size", "-5")]
    [InlineData("--size", "lots")]
    [InlineData("--size")]
    [InlineData("--bogus")]
    [InlineData("--quick", "--full")]
    public void Bad_flags_exit_2_with_an_error_naming_the_problem(params string[] flags)
    {
        (int exit, string output, string error) = Run(["bench", .. flags]);
        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }
}
