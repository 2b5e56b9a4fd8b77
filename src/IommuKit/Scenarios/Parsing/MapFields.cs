using IommuKit.Scenarios.Yaml;

namespace IommuKit.Scenarios.Parsing;

/// <summary>
/// The keys of one YAML map, checked against the keys allowed where it appears: an unknown key is rejected at the
/// key's position as soon as the map is opened, a missing required key at the map's position.
/// </summary>
internal sealed class MapFields
{
    private readonly Dictionary<string, YamlNode> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourcePosition> _keyPositions = new(StringComparer.Ordinal);

    public MapFields(YamlMap map, string what, IReadOnlyCollection<string> allowed)
    {
        Map = map;
        What = what;
        foreach ((YamlScalar key, YamlNode value) in map.Entries)
        {
            if (!allowed.Contains(key.Value))
            {
                string choices = allowed.Count == 0 ? "it takes no keys" : "expected one of: " + string.Join(", ", allowed);
                throw new ScenarioException(key.Position, $"unknown key '{ScenarioNumber.Shorten(key.Value)}' in {what}; {choices}");
            }

            _values[key.Value] = value;
            _keyPositions[key.Value] = key.Position;
        }
    }

    public YamlMap Map { get; }

    public string What { get; }

    public SourcePosition Position => Map.Position;

    public bool Has(string key) => _values.ContainsKey(key);

    public YamlNode? Optional(string key) => _values.GetValueOrDefault(key);

    public SourcePosition KeyPosition(string key) => _keyPositions.TryGetValue(key, out SourcePosition p) ? p : Map.Position;

    public YamlNode Required(string key)
    {
        if (!_values.TryGetValue(key, out YamlNode? value))
        {
            throw new ScenarioException(Map.Position, $"missing required key '{key}' in {What}");
        }

        return value;
    }

    /// <summary>Rejects <paramref name="key"/> when present: it does not apply to this case.</summary>
    public void Forbid(string key, string because)
    {
        if (_values.ContainsKey(key))
        {
            throw new ScenarioException(_keyPositions[key], $"'{key}' does not apply in {What}: {because}");
        }
    }
}
