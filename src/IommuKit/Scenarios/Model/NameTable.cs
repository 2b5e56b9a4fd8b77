namespace IommuKit.Scenarios;

/// <summary>A two-way table between an enum's values and their spellings in scenario files.</summary>
internal sealed class NameTable<T>
    where T : struct, Enum
{
    private readonly (string Name, T Value)[] _entries;

    public NameTable(params (string Name, T Value)[] entries) => _entries = entries;

    /// <summary>The accepted spellings joined for a message: <c>r | w | rw</c>.</summary>
    public string Choices => string.Join(" | ", _entries.Select(e => e.Name));

    public bool TryParse(string name, out T value)
    {
        foreach ((string n, T v) in _entries)
        {
            if (n == name)
            {
                value = v;
                return true;
            }
        }

        value = default;
        return false;
    }

    public string NameOf(T value)
    {
        foreach ((string n, T v) in _entries)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
            {
                return n;
            }
        }

        return value.ToString();
    }
}
