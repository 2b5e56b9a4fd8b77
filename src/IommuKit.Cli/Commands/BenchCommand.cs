using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using IommuKit.Cli.Rendering;
using Spectre.Console;

namespace IommuKit.Cli.Commands;

/// <summary>
/// <c>iommukit bench [--quick | --full] [--size N] [--json]</c>: a quick run of the performance suite (issue 6) with
/// its own Stopwatch loops (seconds, not BenchmarkDotNet's minutes), a progress bar, and a table of operation,
/// nanoseconds per operation, target and whether it is met. <c>--json</c> prints the same rows for machines.
/// </summary>
public static class BenchCommand
{
    /// <summary>The default working-set size: 1M mappings or pages, the size of the issue's reference figures.</summary>
    public const int DefaultSize = 1 << 20;

    /// <summary>The largest accepted <c>--size</c>: 16M pages, the largest working set the issue names.</summary>
    public const int MaxSize = 1 << 24;

    /// <summary>Creates the <c>bench</c> command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Short timing loops, a few seconds in all (the default)" };
        var full = new Option<bool>("--full") { Description = "Longer timing loops and more rounds (steadier numbers, slower)" };
        var size = new Option<string?>("--size")
        {
            Description = $"Working-set size in mappings or pages, 1..{MaxSize} (default {DefaultSize})",
            Arity = ArgumentArity.ZeroOrOne, // a missing value is reported by Run with exit code 2, not by the parser
        };
        var json = new Option<bool>("--json") { Description = "Print the rows as JSON (no progress bar)" };
        var command = new Command("bench", "Run a quick version of the benchmark suite and compare each operation with its target");
        command.Options.Add(quick);
        command.Options.Add(full);
        command.Options.Add(size);
        command.Options.Add(json);

        // Unknown flags reach Run, which rejects them with exit code 2 (invalid input) instead of the parser's 1.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse => Run(parse, parse.GetValue(quick), parse.GetValue(full), parse.GetResult(size) is not null, parse.GetValue(size), parse.GetValue(json)));
        return command;
    }

    private static int Run(ParseResult parse, bool quick, bool full, bool sizeGiven, string? sizeText, bool json)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        TextWriter error = parse.InvocationConfiguration.Error;
        if (parse.UnmatchedTokens.Count > 0)
        {
            error.WriteLine($"error: unknown argument '{parse.UnmatchedTokens[0]}'; valid: --quick, --full, --size N, --json");
            return CliApp.ExitInvalid;
        }

        if (sizeGiven && sizeText is null)
        {
            sizeText = "";
        }

        if (quick && full)
        {
            error.WriteLine("error: --quick and --full exclude each other");
            return CliApp.ExitInvalid;
        }

        int size = DefaultSize;
        if (sizeText is not null &&
            (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxSize))
        {
            error.WriteLine($"error: --size must be a whole number from 1 to {MaxSize}, got '{sizeText}'");
            return CliApp.ExitInvalid;
        }

        List<BenchResult> rows;
        if (json)
        {
            rows = BenchSuite.Run(size, full, _ => { });
            WriteJson(output, size, full, rows);
        }
        else
        {
            IAnsiConsole console = PageTableTreeRenderer.CreateConsole(output);
            rows = [];
            console.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask($"bench, size {size}", maxValue: BenchSuite.RowCount);
                    rows = BenchSuite.Run(size, full, name =>
                    {
                        task.Increment(1);
                        task.Description = Markup.Escape(name);
                    });
                });
            WriteTable(console, size, full, rows);
        }

        return CliApp.ExitOk;
    }

    private static void WriteTable(IAnsiConsole console, int size, bool full, List<BenchResult> rows)
    {
        var table = new Table().AddColumns("operation", "ns per op", "target", "C peer", "met?");
        table.Columns[1].RightAligned();
        table.Columns[2].RightAligned();
        foreach (BenchResult r in rows)
        {
            table.AddRow(
                Markup.Escape(r.Operation),
                r.NsPerOp.ToString("N1", CultureInfo.InvariantCulture),
                "<= " + r.TargetNs.ToString("N0", CultureInfo.InvariantCulture),
                Markup.Escape(r.Peer),
                r.Met ? "[green]yes[/]" : "[red]no[/]");
        }

        console.Write(table);
        int met = rows.Count(r => r.Met);
        console.MarkupLine($"{met} of {rows.Count} targets met; size {size}, {(full ? "full" : "quick")} run, best of the rounds ({BenchSuite.ClockName} time).");
        console.MarkupLine("For steady numbers use BenchmarkDotNet: [grey]dotnet run -c Release --project bench/IommuKit.Benchmarks -- --filter '*' --job short[/]");
    }

    private static void WriteJson(TextWriter output, int size, bool full, List<BenchResult> rows)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("size", size);
            writer.WriteString("mode", full ? "full" : "quick");
            writer.WriteString("clock", BenchSuite.ClockName);
            writer.WriteStartArray("rows");
            foreach (BenchResult r in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("operation", r.Operation);
                writer.WriteNumber("nsPerOp", Math.Round(r.NsPerOp, 2));
                writer.WriteNumber("targetNs", r.TargetNs);
                writer.WriteString("peer", r.Peer);
                writer.WriteBoolean("met", r.Met);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
