using System.Globalization;

namespace IommuKit.Conformance;

/// <summary>One step of a <c>conformance/linux-vm/steps/*.steps</c> file: an op and its <c>key=value</c> words.</summary>
public sealed record StepLine(int Line, string Text, string Op, string? Positional, IReadOnlyDictionary<string, string> Args)
{
    /// <summary>Base of the read-write user buffer (<c>buf</c>): 1024 pages.</summary>
    public const ulong Buf = 0x1_0000_0000;

    /// <summary>Base of the read-only user buffer (<c>ro</c>): 16 pages.</summary>
    public const ulong Ro = 0x1_8000_0000;

    /// <summary>Parses a whole step file; blank lines and <c>#</c> comments are skipped; lines are 1-based.</summary>
    public static List<StepLine> ParseFile(string text)
    {
        var steps = new List<StepLine>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            line = line.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var args = new Dictionary<string, string>(StringComparer.Ordinal);
            string? positional = null;
            foreach (string w in words.Skip(1))
            {
                int eq = w.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    positional = w;
                }
                else
                {
                    args[w[..eq]] = w[(eq + 1)..];
                }
            }

            steps.Add(new StepLine(i + 1, string.Join(' ', words), words[0], positional, args));
        }

        return steps;
    }

    /// <summary>A number argument (decimal, <c>0x</c> hex, <c>2^N</c>, <c>max</c>), or <paramref name="fallback"/>.</summary>
    public ulong Number(string key, ulong fallback = 0) => Args.TryGetValue(key, out string? v) ? ParseNumber(v) : fallback;

    /// <summary>The <c>va=</c> argument (<c>buf</c>, <c>buf+N</c>, <c>ro</c>, <c>ro+N</c> or a number); <c>buf</c> by default.</summary>
    public ulong Va()
    {
        string v = Args.TryGetValue("va", out string? s) ? s : "buf";
        string[] parts = v.Split('+', 2);
        ulong add = parts.Length == 2 ? ParseNumber(parts[1]) : 0;
        return parts[0] switch
        {
            "buf" => Buf + add,
            "ro" => Ro + add,
            _ => ParseNumber(v),
        };
    }

    /// <summary>The flags argument as raw bits, with names from <paramref name="names"/>.</summary>
    public uint Flags(IReadOnlyDictionary<string, uint> names, uint fallback)
    {
        if (!Args.TryGetValue("flags", out string? v))
        {
            return fallback;
        }

        uint bits = 0;
        foreach (string word in v.Split([',', '|'], StringSplitOptions.RemoveEmptyEntries))
        {
            bits |= names.TryGetValue(word, out uint b) ? b : (uint)ParseNumber(word);
        }

        return bits;
    }

    /// <summary>Parses decimal, <c>0x</c> hex, <c>2^N</c> or <c>max</c>.</summary>
    public static ulong ParseNumber(string s)
    {
        if (s == "max")
        {
            return ulong.MaxValue;
        }

        if (s.StartsWith("2^", StringComparison.Ordinal))
        {
            return 1UL << int.Parse(s[2..], CultureInfo.InvariantCulture);
        }

        return s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.Parse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(s, CultureInfo.InvariantCulture);
    }
}
