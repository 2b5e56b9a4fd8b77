using System.CommandLine;
using IommuKit.Cli.Rendering;
using IommuKit.Conformance;
using IommuKit.Vfio;
using Spectre.Console;
using ScenarioException = IommuKit.Scenarios.ScenarioException;
using ScenarioParser = IommuKit.Scenarios.ScenarioParser;

namespace IommuKit.Cli.Commands;

/// <summary>
/// The <c>iommukit conformance</c> verb: replays the step files of a golden kernel capture against IommuKit and
/// prints, per step, IommuKit's answer next to the kernel's with differences marked.
/// </summary>
public static class ConformanceCommand
{
    private const string BootHelp =
        "Fresh kernel results are captured outside CI by booting real kernels in QEMU:\n" +
        "  conformance/linux-vm/run.sh --all --golden        # Debian 6.1 / 6.12, intel + amd + virtio; rewrites conformance/golden/*.json\n" +
        "  conformance/linux-vm/run.sh --kernel deb612 --iommu virtio conformance/linux-vm/steps/40-type1v2-end-of-space.steps\n" +
        "  conformance/linux-vm/run.sh --help\n" +
        "See conformance/README.md (needs root on Debian 12, qemu-system-x86; a boot takes 10-40 s under TCG).";

    /// <summary>Creates the <c>conformance</c> command.</summary>
    public static Command Create()
    {
        var golden = new Option<FileInfo?>("--golden") { Description = "A golden capture, e.g. conformance/golden/deb612-virtio.json" };
        var steps = new Option<DirectoryInfo?>("--steps") { Description = "The step files (default: ../linux-vm/steps next to the golden's folder)" };
        var profile = new Option<string?>("--kernel-profile") { Description = "newest | 6.12 | 6.1 (default: the golden kernel's version)" };
        var onlyDiff = new Option<bool>("--diff-only") { Description = "Show only the steps whose answers differ" };
        var boot = new Option<bool>("--boot") { Description = "Print how to capture fresh results on real kernels (conformance/linux-vm/run.sh)" };
        var command = new Command("conformance", "Compare IommuKit with real Linux kernels on the captured conformance step files");
        command.Options.Add(golden);
        command.Options.Add(steps);
        command.Options.Add(profile);
        command.Options.Add(onlyDiff);
        command.Options.Add(boot);
        command.SetAction(parse => Run(parse, parse.GetValue(golden), parse.GetValue(steps), parse.GetValue(profile), parse.GetValue(onlyDiff), parse.GetValue(boot)));
        command.Subcommands.Add(CreateExport());
        return command;
    }

    // iommukit conformance export FILE... [--out DIR]
    private static Command CreateExport()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Scenario files whose container steps to export",
            Arity = ArgumentArity.OneOrMore,
        };
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "Write <name>.steps files here (default: print them)" };
        var export = new Command("export", "Turn scenario files' container steps into step files for the VM driver (conformance/linux-vm/run.sh)");
        export.Arguments.Add(files);
        CliApp.RejectFlagLikeFiles(files);
        export.Options.Add(outDir);
        export.SetAction(parse => Export(parse, parse.GetValue(files) ?? [], parse.GetValue(outDir)));
        return export;
    }

    private static int Export(ParseResult parse, string[] files, DirectoryInfo? outDir)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        TextWriter error = parse.InvocationConfiguration.Error;
        var exported = new List<(string Name, string Text)>();
        foreach (string file in files)
        {
            try
            {
                exported.Add((Path.GetFileNameWithoutExtension(file) + ".steps", ScenarioStepExporter.Export(ScenarioParser.Load(file))));
            }
            catch (ScenarioException e)
            {
                error.WriteLine(e.Message);
                return CliApp.ExitInvalid;
            }
            catch (ArgumentException e)
            {
                error.WriteLine("error: " + e.Message);
                return CliApp.ExitInvalid;
            }
            catch (IOException e)
            {
                error.WriteLine($"error: {file}: {e.Message}");
                return CliApp.ExitInvalid;
            }
        }

        // run.sh needs unique base names: the VM runs every file in one boot.
        if (exported.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } dup)
        {
            error.WriteLine($"error: two files export to {dup.Key}; run.sh needs unique base names");
            return CliApp.ExitInvalid;
        }

        if (outDir is null)
        {
            foreach ((string name, string text) in exported)
            {
                output.WriteLine($"# ==> {name}");
                output.Write(text);
            }

            return CliApp.ExitOk;
        }

        Directory.CreateDirectory(outDir.FullName);
        foreach ((string name, string text) in exported)
        {
            string path = Path.Combine(outDir.FullName, name);
            File.WriteAllText(path, text);
            output.WriteLine($"wrote {path}");
        }

        output.WriteLine($"run them on a real kernel: conformance/linux-vm/run.sh --kernel deb612 --iommu virtio {Path.Combine(outDir.FullName, "*.steps")}");
        return CliApp.ExitOk;
    }

    private static int Run(ParseResult parse, FileInfo? goldenFile, DirectoryInfo? stepsDir, string? profileName, bool onlyDiff, bool boot)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        TextWriter error = parse.InvocationConfiguration.Error;
        if (boot)
        {
            output.WriteLine(BootHelp);
            return CliApp.ExitOk;
        }

        if (goldenFile is null || !goldenFile.Exists)
        {
            error.WriteLine("error: --golden FILE is required and must exist (see --boot to capture one)");
            return CliApp.ExitInvalid;
        }

        GoldenFile golden = GoldenFile.Load(goldenFile.FullName);
        VfioKernelRules? rules = profileName is null ? golden.KernelRules : VfioKernelRules.FromName(profileName);
        if (rules is null)
        {
            error.WriteLine($"error: unknown kernel profile '{profileName}'; valid: newest, 6.12, 6.1");
            return CliApp.ExitInvalid;
        }

        if (IommuModel.FromName(golden.Iommu) is null)
        {
            error.WriteLine($"error: {goldenFile.Name}: unknown IOMMU model '{golden.Iommu}'; known: intel, intel48, amd, virtio");
            return CliApp.ExitInvalid;
        }

        string dir = stepsDir?.FullName ?? Path.Combine(goldenFile.DirectoryName!, "..", "linux-vm", "steps");
        IAnsiConsole console = PageTableTreeRenderer.CreateConsole(output);
        console.MarkupLine($"[bold]{Markup.Escape(golden.Kernel)}-{Markup.Escape(golden.Iommu)}[/] ({Markup.Escape(golden.Release)}) vs IommuKit with kernel profile [bold]{rules.Name}[/]");
        var table = new Table().AddColumns("file:line", "step", "IommuKit", "kernel", "");
        int same = 0;
        int differ = 0;
        int notReplayed = 0;
        foreach ((string file, string? skipped) in golden.Files)
        {
            string path = Path.Combine(dir, file);
            if (skipped is not null || !File.Exists(path))
            {
                continue;
            }

            var replayer = StepReplayer.For(golden, rules);
            Dictionary<int, GoldenStep> byLine = golden.Steps.Where(s => s.File == file).ToDictionary(s => s.Line);
            foreach (StepLine step in StepLine.ParseFile(File.ReadAllText(path)))
            {
                if (!byLine.TryGetValue(step.Line, out GoldenStep? gold))
                {
                    continue;
                }

                StepResult? ours = replayer.Run(step);
                bool equal = ours is not null && ours.SameAs(gold.Result);
                string mark = ours is null ? "[grey]not replayed[/]" : equal ? "[green]=[/]" : "[red]DIFF[/]";
                if (ours is null)
                {
                    notReplayed++;
                }
                else if (equal)
                {
                    same++;
                }
                else
                {
                    differ++;
                }

                if (!onlyDiff || !equal)
                {
                    table.AddRow(
                        Markup.Escape($"{file}:{step.Line}"),
                        Markup.Escape(step.Text),
                        Markup.Escape(ours?.ToString() ?? "-"),
                        Markup.Escape(gold.Result.ToString()),
                        mark);
                }
            }
        }

        console.Write(table);
        console.MarkupLine($"{same} same, [red]{differ} different[/], {notReplayed} not replayed (known divergences: conformance/known-divergences.tsv)");
        return differ == 0 && notReplayed == 0 ? CliApp.ExitOk : CliApp.ExitFailed;
    }
}
