using System.CommandLine;
using IommuKit.Addressing;
using IommuKit.Cli.Commands;
using IommuKit.Cli.Rendering;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.PageTables;

public class PageTableCommandTests
{
    [Theory]
    [InlineData("x86-sl-4level", "0xffffffffffff")]
    [InlineData("x86-sl-5level", "0x1ffffffffffffff")]
    [InlineData("arm-lpae-48", "0xffffffffffff")]
    public void Demo_prints_the_tree_with_the_1G_leaf_and_a_fault(string format, string top)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = CliApp.BuildRoot().Parse(["pagetable", "demo", "--format", format])
            .Invoke(new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(CliApp.ExitOk, exit);
        string text = output.ToString();
        Assert.Contains("1G leaf [0x40000000, 0x7fffffff] -> 0x200000000 RW", text, StringComparison.Ordinal);
        Assert.Contains("2M leaf [0x200000, 0x3fffff]", text, StringComparison.Ordinal);
        Assert.Contains($"{top} ", text, StringComparison.Ordinal);
        Assert.Contains("fault: NotPresent", text, StringComparison.Ordinal);
        Assert.Contains("fault: BeyondWidth", text, StringComparison.Ordinal);
        Assert.Equal("", error.ToString());
    }

    [Fact]
    public void Demo_through_CliApp_Run_exits_0()
    {
        Assert.Equal(CliApp.ExitOk, CliApp.Run(["pagetable", "demo", "--format", "arm-lpae-48"]));
    }

    [Fact]
    public void Unknown_format_exits_2_naming_the_valid_formats()
    {
        Assert.Equal(CliApp.ExitInvalid, CliApp.Run(["pagetable", "demo", "--format", "riscv-sv48"]));

        var error = new StringWriter();
        int exit = CliApp.BuildRoot().Parse(["pagetable", "demo", "--format", "riscv-sv48"])
            .Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = error });
        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.Contains("riscv-sv48", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("x86-sl-4level, x86-sl-5level, arm-lpae-48", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Renderer_writes_only_present_entries_to_the_injected_console()
    {
        IoPageTable table = IoPageTable.Create(PageTableFormat.X86SecondLevel4Level, new FrameAllocator(new PhysicalMemory()));
        table.Map(IovaRange.FromStartSize(0x4000_0000, 0x4000_0000), 0x8000_0000, Permissions.Read);
        var writer = new StringWriter();
        new PageTableTreeRenderer(PageTableTreeRenderer.CreateConsole(writer)).RenderTree(table);

        string text = writer.ToString();
        Assert.Contains("[1] 1G leaf [0x40000000, 0x7fffffff] -> 0x80000000 R-  pte 0x80000081", text, StringComparison.Ordinal);
        Assert.Contains("[0] L3 table @ 0x10000001000", text, StringComparison.Ordinal);
        Assert.DoesNotContain("L2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("L1", text, StringComparison.Ordinal);
    }
}
