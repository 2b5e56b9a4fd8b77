using CsCheck;

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
}
