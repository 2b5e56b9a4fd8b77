using System.CommandLine;
using System.Reflection;

namespace IommuKit.Cli.Commands;

/// <summary>Builds the <c>iommukit</c> command tree. Commands only parse arguments and render; logic lives in the library.</summary>
public static class CliApp
{
    /// <summary>Exit code for success.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code when an expectation failed.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code for invalid input (a bad file, flag or argument).</summary>
    public const int ExitInvalid = 2;

    /// <summary>The informational version of the tool.</summary>
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>Creates the root command with every verb.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("iommukit: an IOMMU / VFIO DMA-mapping emulator");
        root.Subcommands.Add(PageTableCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(MtreeCommand.Create());
        root.Subcommands.Add(ConformanceCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses <paramref name="args"/> and runs the chosen command; returns the exit code. A command line that does not
    /// parse (an unknown verb or flag, a missing or bad value) prints the error and usage and exits
    /// <see cref="ExitInvalid"/>, like every other invalid input.
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        RootCommand root = BuildRoot();
        ParseResult parse = root.Parse(args);
        int exit = configuration is null ? parse.Invoke() : parse.Invoke(configuration);
        return parse.Errors.Count > 0 ? ExitInvalid : exit;
    }

    /// <summary>
    /// Makes <paramref name="argument"/> (file names) refuse a token that looks like a flag (<c>--bogus</c>), so a
    /// mistyped option is reported as one instead of as a missing file. A file whose name starts with '-' can still
    /// be given as <c>./-name</c>.
    /// </summary>
    public static void RejectFlagLikeFiles<T>(Argument<T> argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        argument.Validators.Add(result =>
        {
            foreach (System.CommandLine.Parsing.Token token in result.Tokens)
            {
                if (token.Value.Length > 1 && token.Value[0] == '-')
                {
                    result.AddError($"unknown option '{token.Value}'");
                }
            }
        });
    }
}
