using CsCheck;

namespace IommuKit.Tests.Model;

// CI run of the type1 model comparison (Type1ModelRunner): fixed seeds, 1,800 sequences of up to 24 operations
// (about 20,000 operations), v1 and v2, with and without an IOMMU domain.
public class Type1ModelTests
{
    [Fact]
    public void Type1_container_agrees_with_the_naive_model_step_by_step()
    {
        Type1ModelRunner.Sequence.Sample(s => Type1ModelRunner.Run(s.V2, s.Domain, s.Ops), iter: 1000, seed: "4Fz3YnZrWXb1");
        Type1ModelRunner.Sequence.Sample(s => Type1ModelRunner.Run(s.V2, s.Domain, s.Ops), iter: 800, seed: "0kP7xuQm2aVf");
    }

    [Fact]
    public void Shrunk_sequence_prints_as_a_scenario_that_parses()
    {
        Type1ModelRunner.Op[] ops =
        [
            new(Type1ModelRunner.Kind.Map, 0xffff_ffff_f000, 0x1000, 0x1000, 3, 1),
            new(Type1ModelRunner.Kind.Unmap, 0, 0x1000, 0, 0, 1),
            new(Type1ModelRunner.Kind.UnmapAll, 0, 0, 0, 0, 3),
            new(Type1ModelRunner.Kind.Translate, 0, 0, 0, 0, 1),
        ];
        string yaml = Type1ModelRunner.ToScenario(true, true, ops, "shrunk");
        IommuKit.Scenarios.ScenarioDocument doc = IommuKit.Scenarios.ScenarioParser.Parse(yaml, "soak.yaml");
        Assert.Equal(4, doc.Steps.Count);
    }
}
