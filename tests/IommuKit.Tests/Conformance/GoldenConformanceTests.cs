using IommuKit.Conformance;

namespace IommuKit.Tests.Conformance;

/// <summary>
/// Replays every step file against IommuKit with the machine and kernel profile of each golden kernel, and checks that
/// the steps whose answers differ are exactly the known divergences (conformance/README.md): a fixed divergence or a
/// new one fails.
/// </summary>
public sealed class GoldenConformanceTests
{
    private static readonly string[] Goldens =
        ["deb61-intel", "deb61-amd", "deb612-intel", "deb612-virtio", "custom612-intel", "custom612-virtio"];

    /// <summary>Every (golden, step file) pair.</summary>
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        string steps = Path.Combine(KnownDivergences.RepoRoot, "conformance", "linux-vm", "steps");
        foreach (string golden in Goldens)
        {
            foreach (string file in Directory.GetFiles(steps, "*.steps").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal))
            {
                data.Add(golden, file);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Golden_step_results_match_IommuKit_except_known_divergences(string golden, string file)
    {
        string root = KnownDivergences.RepoRoot;
        GoldenFile g = GoldenFile.Load(Path.Combine(root, "conformance", "golden", golden + ".json"));
        Assert.True(g.Files.ContainsKey(file), $"{golden}: step file {file} was not captured");
        var report = new List<string>();
        List<string> actual = Diverging(g, file, Path.Combine(root, "conformance", "linux-vm", "steps", file), report);

        List<string> expected = KnownDivergences.Entries.Keys
            .Where(k => k.Golden == golden && k.File == file)
            .Select(k => k.Line)
            .Order(StringComparer.Ordinal)
            .ToList();
        actual.Sort(StringComparer.Ordinal);
        Assert.True(expected.SequenceEqual(actual),
            $"{golden}/{file}: known divergences at lines [{string.Join(' ', expected)}], found [{string.Join(' ', actual)}]:\n" +
            string.Join('\n', report));
    }

    /// <summary>The diverging lines of one file (<c>*</c> when the file is not replayed), with the differences.</summary>
    internal static List<string> Diverging(GoldenFile g, string file, string stepsPath, List<string>? report = null)
    {
        var result = new List<string>();
        if (g.Files[file] is not null)
        {
            return result; // skipped on this kernel (no iommufd): nothing to compare
        }

        List<StepLine> steps = StepLine.ParseFile(File.ReadAllText(stepsPath));
        Dictionary<int, GoldenStep> byLine = g.Steps.Where(s => s.File == file).ToDictionary(s => s.Line);
        Assert.Equal(steps.Count, byLine.Count);
        if (steps.Count > 0 && steps[0].Op == "backend" && !StepReplayer.Supports(steps[0].Positional ?? ""))
        {
            result.Add("*");
            return result;
        }

        StepReplayer replayer = StepReplayer.For(g);
        foreach (StepLine step in steps)
        {
            GoldenStep gold = byLine[step.Line];
            Assert.Equal(gold.Step, step.Text);
            StepResult? ours = replayer.Run(step);
            if (ours is null || !ours.SameAs(gold.Result))
            {
                result.Add(step.Line.ToString(System.Globalization.CultureInfo.InvariantCulture));
                report?.Add($"{g.Kernel}-{g.Iommu}\t{file}\t{step.Line}\t{step.Text}\tkernel: {gold.Result}\tiommukit: {ours?.ToString() ?? "(not modelled)"}");
            }
        }

        return result;
    }
}
