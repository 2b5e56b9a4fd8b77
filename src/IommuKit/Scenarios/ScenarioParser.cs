using IommuKit.Scenarios.Parsing;
using IommuKit.Scenarios.Yaml;

namespace IommuKit.Scenarios;

/// <summary>Parses scenario files (the contract in <c>scenario-format.md</c>) into <see cref="ScenarioDocument"/>s.</summary>
/// <remarks>
/// An invalid file throws one <see cref="ScenarioException"/> naming the first problem as <c>FILE:LINE:COLUMN</c>;
/// no other exception escapes for any input text. Anchors, aliases, tags and multiple documents are rejected.
/// </remarks>
public static class ScenarioParser
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="file"/> is the name positions carry.</summary>
    /// <exception cref="ScenarioException">The text is not a valid scenario.</exception>
    public static ScenarioDocument Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(file);
        YamlNode? root = YamlTreeReader.Read(text, file);
        return new DocumentReader(file).Read(root);
    }

    /// <summary>Reads and parses the file at <paramref name="path"/>.</summary>
    /// <exception cref="ScenarioException">The file cannot be read (position without a line) or is not a valid scenario.</exception>
    public static ScenarioDocument Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            string reason = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            throw new ScenarioException(new SourcePosition(path, 0, 0), $"cannot read the file: {reason}", e);
        }

        return Parse(text, path);
    }
}
