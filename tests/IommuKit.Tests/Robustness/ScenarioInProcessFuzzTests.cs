using IommuKit.Fuzz;

namespace IommuKit.Tests.Robustness;

// The short in-CI fuzz run: 100,000 mutated scenario inputs (seeded from scenarios/ and a few built-in documents)
// through the parser AND the runner with every executor `iommukit run` uses. Each must end in a result or a
// FILE:LINE:COLUMN error; a crash, an escaped exception or a 10 s hang on one input fails the test.
public class ScenarioInProcessFuzzTests
{
    [Fact]
    public void Hundred_thousand_mutated_scenarios_end_in_a_result_or_a_positioned_error()
    {
        List<string> seeds = FuzzCorpus.Load(FindScenarios());
        Assert.True(seeds.Count > FuzzCorpus.BuiltIn.Count, "the scenarios/ corpus was not found");
        long done = InProcessFuzzer.Run(seeds, 100_000, seed: 20261127, TimeSpan.FromSeconds(10));
        Assert.Equal(100_000, done);
    }

    [Fact]
    public void Mutator_is_deterministic_for_a_seed_and_caps_the_input_length()
    {
        IReadOnlyList<string> seeds = FuzzCorpus.BuiltIn;
        var a = new Random(7);
        var b = new Random(7);
        for (int i = 0; i < 1000; i++)
        {
            string x = InProcessFuzzer.Mutate(a, seeds);
            Assert.Equal(x, InProcessFuzzer.Mutate(b, seeds));
            Assert.True(x.Length <= InProcessFuzzer.MaxInputLength);
        }
    }

    [Fact]
    public void Target_reports_an_unpositioned_error_or_escape_as_a_failure_not_a_pass()
    {
        // A well-formed input passes; the target itself is exercised on garbage that must be positioned.
        ScenarioFuzzTarget.Execute("name: t\nsteps: []\n");
        ScenarioFuzzTarget.Execute("{{{{");
        ScenarioFuzzTarget.Execute("\u0000\uD800");
    }

    internal static string FindScenarios()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "scenarios");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "IommuKit.slnx")))
            {
                return candidate;
            }
        }

        return "scenarios";
    }
}
