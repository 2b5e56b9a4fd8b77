using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace IommuKit.Scenarios.Yaml;

/// <summary>
/// Reads one YAML document into <see cref="YamlNode"/>s with YamlDotNet's low-level <see cref="Parser"/>.
/// </summary>
/// <remarks>
/// Rejected with a position (a <see cref="ScenarioException"/>): YAML syntax errors (YamlDotNet's marks), more than
/// one document, anchors and aliases (a scenario is short and explicit; aliases would also allow exponential
/// expansion), explicit tags, non-scalar or duplicate keys, and nesting deeper than <see cref="MaxDepth"/>.
/// An empty stream (nothing but comments) reads as <see langword="null"/>.
/// </remarks>
internal static partial class YamlTreeReader
{
    /// <summary>The deepest nesting of maps and lists accepted (a transaction inside a transaction is about 8).</summary>
    public const int MaxDepth = 64;

    public static YamlNode? Read(string text, string file)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            Next(parser, file); // StreamStart
            ParsingEvent first = Next(parser, file);
            if (first is StreamEnd)
            {
                return null;
            }

            if (first is not DocumentStart)
            {
                throw Error(file, first.Start, "expected a YAML document");
            }

            YamlNode root = ReadNode(parser, file, Next(parser, file), 0);
            ParsingEvent end = Next(parser, file);
            if (end is not DocumentEnd)
            {
                throw Error(file, end.Start, "expected the end of the document");
            }

            ParsingEvent after = Next(parser, file);
            if (after is not StreamEnd)
            {
                throw Error(file, after.Start, "a scenario file holds one YAML document; found a second one");
            }

            return root;
        }
        catch (YamlException e)
        {
            throw new ScenarioException(ToPosition(file, e.Start), "YAML syntax error: " + StripMarks(e.Message), e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            // Besides YamlException, YamlDotNet's parser throws InvalidOperationException on an unexpected token
            // state and ArgumentException on an invalid tag ("Global tags must be valid URIs", found by the
            // punctuation fuzz test with seed fv6kCLRLiF61).
            // The last event read is the closest position known.
            Mark mark = parser.Current?.End ?? Mark.Empty;
            throw new ScenarioException(ToPosition(file, mark), "YAML syntax error: malformed YAML after this point", e);
        }
    }

    private static YamlNode ReadNode(Parser parser, string file, ParsingEvent current, int depth)
    {
        if (current is AnchorAlias alias)
        {
            throw Error(file, alias.Start, $"aliases (*{alias.Value}) are not supported: write the value out");
        }

        if (current is not NodeEvent node)
        {
            throw Error(file, current.Start, "expected a value");
        }

        if (!node.Anchor.IsEmpty)
        {
            throw Error(file, node.Start, $"anchors (&{node.Anchor}) are not supported: write the value out");
        }

        if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific)
        {
            throw Error(file, node.Start, $"tags ({node.Tag}) are not supported");
        }

        SourcePosition position = ToPosition(file, node.Start);
        switch (node)
        {
            case Scalar scalar:
                return new YamlScalar(position, scalar.Value, scalar.Style is ScalarStyle.Plain or ScalarStyle.Any);

            case SequenceStart:
                {
                    CheckDepth(file, node, depth);
                    var items = new List<YamlNode>();
                    for (ParsingEvent e = Next(parser, file); e is not SequenceEnd; e = Next(parser, file))
                    {
                        items.Add(ReadNode(parser, file, e, depth + 1));
                    }

                    return new YamlSequence(position, items);
                }

            case MappingStart:
                {
                    CheckDepth(file, node, depth);
                    var entries = new List<KeyValuePair<YamlScalar, YamlNode>>();
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    for (ParsingEvent e = Next(parser, file); e is not MappingEnd; e = Next(parser, file))
                    {
                        YamlNode keyNode = ReadNode(parser, file, e, depth + 1);
                        if (keyNode is not YamlScalar key)
                        {
                            throw new ScenarioException(keyNode.Position, $"a map key must be a name, found {keyNode.KindName}");
                        }

                        if (!seen.Add(key.Value))
                        {
                            throw new ScenarioException(key.Position, $"duplicate key '{ScenarioNumber.Shorten(key.Value)}'");
                        }

                        YamlNode value = ReadNode(parser, file, Next(parser, file), depth + 1);
                        entries.Add(new KeyValuePair<YamlScalar, YamlNode>(key, value));
                    }

                    return new YamlMap(position, entries);
                }

            default:
                throw Error(file, node.Start, "expected a value");
        }
    }

    private static void CheckDepth(string file, NodeEvent node, int depth)
    {
        if (depth >= MaxDepth)
        {
            throw Error(file, node.Start, $"nesting deeper than {MaxDepth} levels");
        }
    }

    private static ParsingEvent Next(Parser parser, string file)
    {
        if (!parser.MoveNext() || parser.Current is null)
        {
            throw new ScenarioException(new SourcePosition(file, 1, 1), "unexpected end of the YAML stream");
        }

        return parser.Current;
    }

    private static ScenarioException Error(string file, Mark mark, string reason) => new(ToPosition(file, mark), reason);

    internal static SourcePosition ToPosition(string file, Mark mark) =>
        new(file, (int)Math.Clamp(mark.Line, 1, int.MaxValue), (int)Math.Clamp(mark.Column, 1, int.MaxValue));

    /// <summary>YamlDotNet prefixes its messages with the marks; the position is printed separately.</summary>
    private static string StripMarks(string message) => MarksPrefix().Replace(message, string.Empty);

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarksPrefix();
}
