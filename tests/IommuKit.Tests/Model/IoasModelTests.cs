using CsCheck;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Model;

// CI run of the iommufd IOAS model comparison (IoasModelRunner): fixed seeds, 1,800 sequences of up to 24 operations
// (about 22,000 operations), THP on and off, plain iommufd and the VFIO compat layer (v1 and v2).
public class IoasModelTests
{
    [Fact]
    public void Iommufd_ioas_agrees_with_the_naive_model_step_by_step()
    {
        IoasModelRunner.Sequence.Sample(s => IoasModelRunner.Run(s.Setup, s.Ops), iter: 1000, seed: "4Fz3YnZrWXb1");
        IoasModelRunner.Sequence.Sample(s => IoasModelRunner.Run(s.Setup, s.Ops), iter: 800, seed: "0kP7xuQm2aVf");
    }

    // The soak prints a failing sequence as a scenario: random sequences rendered that way must parse and, run by
    // `iommukit run`, meet every expectation (the model's answers), so a printed divergence reproduces.
    [Fact]
    public void Sequences_print_as_scenarios_that_pass_when_the_implementation_agrees()
    {
        var runner = new ScenarioRunner(DefaultScenarioExecutors.Create());
        int complete = 0;
        IoasModelRunner.Sequence.Where(s => s.Setup.Thp).Sample(s =>
        {
            string yaml = IoasModelRunner.ToScenario(s.Setup, s.Ops, "soak", out bool whole);
            if (!whole)
            {
                return; // a second-IOAS copy or the huge-pages option changed IOAS 1: not reproducible from the file
            }

            complete++;
            ScenarioFileResult result = runner.RunText(yaml, "soak.yaml");
            Assert.True(result.Error is null && result.SetupFailure is null, $"{result.Error?.Message}{result.SetupFailure}\n{yaml}");
            StepResult? failed = result.Steps.FirstOrDefault(r => !r.Passed);
            Assert.True(failed is null, $"step {failed?.Index}: {failed?.Failure}\n{yaml}");
        }, iter: 200, seed: "0N0XIzNsQ0O2", threads: 1);
        Assert.True(complete >= 100, $"only {complete} of 200 sequences were fully expressible");
    }
}
