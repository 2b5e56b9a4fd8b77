using System.CommandLine;
using IommuKit.Cli.Commands;
using IommuKit.Conformance;

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
        Assert.Contains("191 same, ", output, StringComparison.Ordinal);
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
        string odd = Path.Combine(Path.GetTempPath(), "iommukit-golden-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            File.WriteAllText(odd, File.ReadAllText(golden).Replace("\"iommu\": \"intel\"", "\"iommu\": \"smmu\"", StringComparison.Ordinal));
            (int exit2, _, string error2) = Run("conformance", "--golden", odd);
            Assert.Equal(CliApp.ExitInvalid, exit2);
            Assert.Contains("unknown IOMMU model 'smmu'", error2, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(odd);
        }
    }

    private static string Scenario(string name) => Path.Combine(KnownDivergences.RepoRoot, "scenarios", "linux", name);

    [Fact]
    public void Export_turns_type1_container_steps_into_vm_step_lines_that_replay()
    {
        (int exit, string output, string error) = Run("conformance", "export", Scenario("type1-unmap-v2.yaml"));
        Assert.True(exit == CliApp.ExitOk, error);
        List<StepLine> steps = StepLine.ParseFile(output);
        Assert.Equal("backend", steps[0].Op);
        Assert.Equal("type1v2", steps[0].Positional);
        Assert.Contains(steps, s => s.Op == "map" && s.Args["va"].StartsWith("buf", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Op == "unmap");
        Assert.Contains("# skipped type1-unmap-v2.yaml:", output, StringComparison.Ordinal); // expect-mappings is no ioctl

        // Every exported line is something the VM driver and IommuKit's replayer both understand.
        var replayer = new StepReplayer(IommuModel.FromName("virtio")!, IommuKit.Vfio.VfioKernelRules.Newest);
        Assert.All(steps, s => Assert.NotNull(replayer.Run(s)));
    }

    [Fact]
    public void Export_maps_iommufd_kinds_to_ioas_backends_and_writes_files_with_out()
    {
        string dir = Path.Combine(Path.GetTempPath(), "iommukit-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            (int exit, string output, _) = Run("conformance", "export", Scenario("iommufd-alloc.yaml"), Scenario("iommufd-domain.yaml"), "--out", dir);
            Assert.Equal(CliApp.ExitOk, exit);
            Assert.Contains("run.sh", output, StringComparison.Ordinal);
            List<StepLine> alloc = StepLine.ParseFile(File.ReadAllText(Path.Combine(dir, "iommufd-alloc.steps")));
            Assert.Equal("ioas", alloc[0].Positional); // domain: false
            Assert.Contains(alloc, s => s.Op == "ioas-map" && s.Args.ContainsKey("alloc"));
            List<StepLine> domain = StepLine.ParseFile(File.ReadAllText(Path.Combine(dir, "iommufd-domain.steps")));
            Assert.Equal("ioas-dev", domain[0].Positional);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public void Export_rejects_a_missing_file_a_v1_compat_container_and_no_files()
    {
        Assert.Equal(CliApp.ExitInvalid, Run("conformance", "export", "no-such-file.yaml").Exit);
        (int exit, _, string error) = Run("conformance", "export", Scenario("iommufd-compat-v1.yaml"));
        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.Contains("no VM backend", error, StringComparison.Ordinal);
        Assert.NotEqual(CliApp.ExitOk, Run("conformance", "export").Exit);
    }
}
