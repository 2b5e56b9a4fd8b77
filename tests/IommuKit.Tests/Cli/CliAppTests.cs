using System.CommandLine;
using IommuKit.Cli.Commands;

namespace IommuKit.Tests.Cli;

public class CliAppTests
{
    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = CliApp.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("nosuchverb")]
    [InlineData("pagetable", "--bogus")]
    [InlineData("pagetable", "dump", "scenarios/seed.yaml")] // --stage is required
    [InlineData("conformance", "--bogus")]
    [InlineData("run", "--json", "--bogus")]
    [InlineData("mtree", "--bogus")]
    [InlineData("bench", "--bogus")]
    public void A_command_line_that_does_not_parse_exits_2_like_any_invalid_input(params string[] args)
    {
        (int exit, _, string error) = Run(args);
        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.NotEqual("", error);
    }

    [Theory]
    [InlineData("run", "--bogus")]
    [InlineData("mtree", "--after-step")]
    [InlineData("conformance", "export", "-x")]
    public void A_mistyped_flag_in_place_of_a_file_is_reported_as_an_unknown_option_not_a_missing_file(params string[] args)
    {
        (int exit, _, string error) = Run(args);
        Assert.Equal(CliApp.ExitInvalid, exit);
        Assert.Contains($"unknown option '{args[^1]}'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot read the file", error, StringComparison.Ordinal);
    }
}
