using System.Text.Json;
using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Scenarios;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}

/// <summary><c>iommukit run</c> through <see cref="CliApp.Run"/>, with the console captured.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RunCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("iommukit-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int ExitCode, string Output, string Error) Cli(params string[] args)
    {
        TextWriter savedOut = Console.Out;
        TextWriter savedError = Console.Error;
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int exitCode = CliApp.Run(args);
            return (exitCode, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedError);
        }
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void Exit_0_when_every_expectation_holds()
    {
        string file = Write("empty.yaml", "name: nothing to do\nsteps: []\n");
        (int exitCode, string output, _) = Cli("run", file);
        Assert.Equal(0, exitCode);
        Assert.Equal("0 passed, 0 failed", Lines(output)[^1]);
    }

    [Fact]
    public void Exit_1_when_a_step_fails_with_one_line_per_step_and_the_closing_line()
    {
        // A map the default container accepts, expected to fail: the step FAILs and says what differed.
        string file = Write("map.yaml", "steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0, expect: EINVAL }\n");
        (int exitCode, string output, _) = Cli("run", file);
        Assert.Equal(1, exitCode);
        string[] lines = Lines(output);
        Assert.Equal($"{file}:2:5: [1] map -> ok FAIL (expected EINVAL, got ok)", lines[0]);
        Assert.Equal("0 passed, 1 failed", lines[^1]);
    }

    [Fact]
    public void Exit_2_when_a_file_is_invalid_with_file_line_column_and_other_files_still_run()
    {
        string bad = Write("bad.yaml", "steps:\n  - { op: map, iova: 0x1_0000_0000_0000_0000, size: 4K, vaddr: 0 }\n");
        string good = Write("good.yaml", "steps: []\n");
        (int exitCode, string output, _) = Cli("run", bad, good);
        Assert.Equal(2, exitCode);
        string[] lines = Lines(output);
        Assert.Equal($"{bad}:2:22: iova: '0x1_0000_0000_0000_0000' does not fit in 64 bits", lines[0]);
        Assert.Equal("0 passed, 0 failed", lines[^1]);
    }

    [Fact]
    public void Exit_2_for_a_missing_file()
    {
        string missing = Path.Combine(_dir, "missing.yaml");
        (int exitCode, string output, _) = Cli("run", missing);
        Assert.Equal(2, exitCode);
        Assert.Equal($"{missing}: cannot read the file: no such file", Lines(output)[0]);
    }

    [Fact]
    public void Exit_2_when_no_file_is_given()
    {
        (int exitCode, _, string error) = Cli("run");
        Assert.Equal(2, exitCode);
        Assert.Contains("no scenario file given", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_output_parses_and_has_the_fields()
    {
        string bad = Write("bad.yaml", "steps:\n  - { op: mapp }\n");
        string file = Write("map.yaml", "steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 0, expect: EINVAL }\n");
        (int exitCode, string output, _) = Cli("run", "--json", file, bad);
        Assert.Equal(2, exitCode);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(0, root.GetProperty("passed").GetInt32());
        Assert.Equal(1, root.GetProperty("failed").GetInt32());
        Assert.Equal(2, root.GetProperty("exitCode").GetInt32());
        JsonElement step = root.GetProperty("files")[0].GetProperty("steps")[0];
        Assert.Equal(file, step.GetProperty("file").GetString());
        Assert.Equal(1, step.GetProperty("index").GetInt32());
        Assert.Equal("1", step.GetProperty("path").GetString());
        Assert.Equal("map", step.GetProperty("op").GetString());
        Assert.Equal(2, step.GetProperty("line").GetInt32());
        Assert.Equal(5, step.GetProperty("column").GetInt32());
        Assert.Equal("EINVAL", step.GetProperty("expected").GetString());
        Assert.Equal("ok", step.GetProperty("actual").GetString());
        Assert.False(step.GetProperty("passed").GetBoolean());
        Assert.Equal(JsonValueKind.Array, step.GetProperty("trace").ValueKind);
        JsonElement invalid = root.GetProperty("files")[1];
        Assert.False(invalid.GetProperty("valid").GetBoolean());
        Assert.Equal(2, invalid.GetProperty("error").GetProperty("line").GetInt32());
        Assert.Equal(11, invalid.GetProperty("error").GetProperty("column").GetInt32());
    }

    [Fact]
    public void Trace_flag_is_accepted_and_keeps_the_closing_line()
    {
        string file = Write("empty.yaml", "steps: []\n");
        (int exitCode, string output, _) = Cli("run", "--trace", file);
        Assert.Equal(0, exitCode);
        Assert.Equal("0 passed, 0 failed", Lines(output)[^1]);
    }
}
