using System.CommandLine;
using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Guest;

/// <summary><c>iommukit pagetable dump FILE --stage guest|host [--device NAME]</c>.</summary>
public class PageTableDumpCommandTests
{
    private static (int Exit, string Output, string Error) Dump(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = CliApp.BuildRoot().Parse(["pagetable", "dump", .. args])
            .Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private static string File(string name) => Path.Combine(VtdScenarioFilesTests.VtdDirectory(), name);

    [Fact]
    public void Guest_stage_shows_the_guest_table_in_guest_RAM_with_raw_PTEs()
    {
        (int exit, string output, string error) = Dump(File("page-boundary-and-huge-leaves.yaml"), "--stage", "guest", "--device", "nic0");

        Assert.Equal(CliApp.ExitOk, exit);
        Assert.Equal("", error);
        Assert.Contains("16 passed, 0 failed; guest stage: domain 1 (x86-sl-4level) in guest RAM, device nic0 (00.03.0)", output, StringComparison.Ordinal);
        // guest PTEs: address | W (bit 1) | R (bit 0); a 2M leaf sets PS (bit 7); a 1G leaf at GPA 0 is PS | R
        Assert.Contains("[1] 4K leaf [0x1000, 0x1fff] -> 0x105000 RW  pte 0x105003", output, StringComparison.Ordinal);
        Assert.Contains("[1] 2M leaf [0x200000, 0x3fffff] -> 0x400000 RW  pte 0x400083", output, StringComparison.Ordinal);
        Assert.Contains("[1] 1G leaf [0x40000000, 0x7fffffff] -> 0x0 R-  pte 0x81", output, StringComparison.Ordinal);
        Assert.Contains("root L4 table @ 0x7ffc", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_header_line_stays_whole_for_a_file_path_longer_than_the_console_width()
    {
        // Regression: the header went through the 160-column console and wrapped when the checkout path was long.
        string dir = Path.Combine(Path.GetTempPath(), "iommukit-" + new string('d', 180));
        Directory.CreateDirectory(dir);
        string copy = Path.Combine(dir, "page-boundary-and-huge-leaves.yaml");
        System.IO.File.Copy(File("page-boundary-and-huge-leaves.yaml"), copy, overwrite: true);
        try
        {
            (int exit, string output, _) = Dump(copy, "--stage", "guest", "--device", "nic0");
            Assert.Equal(CliApp.ExitOk, exit);
            Assert.Contains($"{copy}: 16 passed, 0 failed; guest stage: domain 1 (x86-sl-4level) in guest RAM, device nic0 (00.03.0)", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Host_stage_shows_the_containers_domain_with_the_shadow_at_the_guest_iova()
    {
        (int exit, string output, string error) = Dump(File("replay-sparse.yaml"), "--stage", "host");

        Assert.Equal(CliApp.ExitOk, exit);
        Assert.Equal("", error);
        Assert.Contains("host stage: the container's IOMMU domain", output, StringComparison.Ordinal);
        Assert.Contains("4 table pages", output, StringComparison.Ordinal);
        Assert.Contains("[511] 4K leaf [0xfffffffff000, 0xffffffffffff] -> 0xff0000001000 RW  pte 0xff0000001003", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--stage", "both" }, "error: unknown stage 'both'; valid stages: guest, host")]
    [InlineData(new[] { "--stage", "guest", "--device", "nic9" }, "no device 'nic9' (devices: nic0)")]
    public void A_bad_stage_or_device_exits_2_naming_what_is_valid(string[] flags, string message)
    {
        (int exit, string output, string error) = Dump([File("replay-sparse.yaml"), .. flags]);

        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.Equal("", output);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Guest_stage_of_a_device_behind_none_exits_2()
    {
        (int exit, _, string error) = Dump(File("host-faults-behind-none.yaml"), "--stage", "guest", "--device", "dev0");

        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.Contains("device 'dev0' is behind none: it has no guest stage", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_stage_flag_is_a_parse_error_not_a_dump()
    {
        (int exit, string output, string error) = Dump(File("replay-sparse.yaml"));

        Assert.NotEqual(CliApp.ExitOk, exit);
        Assert.DoesNotContain("table pages", output, StringComparison.Ordinal);
        Assert.Contains("--stage", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_file_exits_2_with_FILE_LINE_COLUMN()
    {
        string path = Path.Combine(Path.GetTempPath(), $"iommukit-dump-{Guid.NewGuid():N}.yaml");
        System.IO.File.WriteAllText(path, "guest-iommu: { format: x86-sl-4level }\nsteps:\n  - { op: guest-mapp }\n");
        try
        {
            (int exit, _, string error) = Dump(path, "--stage", "guest");
            Assert.Equal(CliApp.ExitInvalid, exit);
            Assert.StartsWith($"{path}:3:", error, StringComparison.Ordinal);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
