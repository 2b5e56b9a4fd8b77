using System.Diagnostics.CodeAnalysis;

namespace IommuKit.PageTables;

/// <summary>Names of the <see cref="PageTableFormat"/> values as written in CLI flags and scenario files.</summary>
public static class PageTableFormats
{
    /// <summary>Every format, in declaration order.</summary>
    public static IReadOnlyList<PageTableFormat> All { get; } =
        [PageTableFormat.X86SecondLevel4Level, PageTableFormat.X86SecondLevel5Level, PageTableFormat.ArmLpae48, PageTableFormat.X86SecondLevel3Level];

    /// <summary>The valid names, comma separated: <c>x86-sl-4level, x86-sl-5level, arm-lpae-48, x86-sl-3level</c>.</summary>
    public static string ValidNames => string.Join(", ", All.Select(Name));

    /// <summary>The name of <paramref name="format"/>, for example <c>x86-sl-4level</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined value.</exception>
    public static string Name(PageTableFormat format) => format switch
    {
        PageTableFormat.X86SecondLevel4Level => "x86-sl-4level",
        PageTableFormat.X86SecondLevel5Level => "x86-sl-5level",
        PageTableFormat.ArmLpae48 => "arm-lpae-48",
        PageTableFormat.X86SecondLevel3Level => "x86-sl-3level",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown page-table format"),
    };

    /// <summary>Parses a format name (case-insensitive); false for an unknown name.</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out PageTableFormat format)
    {
        foreach (PageTableFormat f in All)
        {
            if (string.Equals(Name(f), name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                format = f;
                return true;
            }
        }

        format = default;
        return false;
    }

    /// <summary>Parses a format name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid names.</exception>
    public static PageTableFormat Parse(string name)
    {
        if (!TryParse(name, out PageTableFormat format))
        {
            ThrowHelper.ThrowArgument(nameof(name), $"unknown page-table format '{name}'; valid formats: {ValidNames}");
        }

        return format;
    }
}
