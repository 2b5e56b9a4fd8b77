using System.CommandLine;
using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Conformance;

public sealed class ConformanceCommandTests
{
    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = CliApp.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Conformance_on_deb612_intel_shows_only_the_no_group_steps_as_not_replayed()
    {
        string golden = Path.Combine(KnownDivergences.RepoRoot, "conformance", "golden", "deb612-intel.json");
        (int exit, string output, _) = Run("conformance", "--golden", golden, "--diff-only");
        Assert.Equal(CliApp.ExitFailed, exit);
        Assert.Contains("172 same, ", output, StringComparison.Ordinal);
        Assert.Contains("0 different", output, StringComparison.Ordinal);
        Assert.Contains("2 not replayed", output, StringComparison.Ordinal);
        Assert.Contains("early-set-iommu type=3", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Conformance_with_the_newest_profile_marks_the_pre_fix_wrap_errno_as_different()
    {
        string golden = Path.Combine(KnownDivergences.RepoRoot, "conformance", "golden", "deb612-intel.json");
        (_, string output, _) = Run("conformance", "--golden", golden, "--kernel-profile", "newest", "--diff-only");
        Assert.Contains("errno=EOVERFLOW", output, StringComparison.Ordinal);
        Assert.Contains("DIFF", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Conformance_boot_points_to_the_vm_runner_and_bad_input_exits_2()
    {
        (int exit, string output, _) = Run("conformance", "--boot");
        Assert.Equal(CliApp.ExitOk, exit);
        Assert.Contains("conformance/linux-vm/run.sh", output, StringComparison.Ordinal);
        Assert.Equal(CliApp.ExitInvalid, Run("conformance").Exit);
        string golden = Path.Combine(KnownDivergences.RepoRoot, "conformance", "golden", "deb612-intel.json");
        Assert.Equal(CliApp.ExitInvalid, Run("conformance", "--golden", golden, "--kernel-profile", "5.15").Exit);
    }
}
