using System.Globalization;

namespace IommuKit.Scenarios;

/// <summary>A place in a scenario file: the file name and a 1-based line and column.</summary>
/// <param name="File">The file name as given to the parser (a path, or a label for in-memory text).</param>
/// <param name="Line">The 1-based line; 0 when the position is the file as a whole (it could not be read).</param>
/// <param name="Column">The 1-based column; 0 when the position is the file as a whole.</param>
public readonly record struct SourcePosition(string File, int Line, int Column)
{
    /// <summary>True when the position names a line and column (not the file as a whole).</summary>
    public bool HasLocation => Line > 0;

    /// <summary>Formats as <c>FILE:LINE:COLUMN</c> (or <c>FILE</c> alone when there is no location).</summary>
    public override string ToString() => HasLocation
        ? string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}:{Column}")
        : File;
}
