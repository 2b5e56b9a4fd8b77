using System.Text;

namespace IommuKit.Fuzz;

/// <summary>
/// The .NET in-process fallback used in CI when AFL++ / libFuzzer are not at hand: a fixed-seed structure-aware
/// mutator over a seed corpus (edge numbers, YAML punctuation, line splices, truncation, random bytes), each input run
/// through <see cref="ScenarioFuzzTarget"/> on a worker thread watched for hangs.
/// </summary>
/// <remarks>
/// Not coverage guided: it is a bounded smoke run (a fixed execution count, so CI time is bounded) meant to catch
/// regressions of the "every input ends in a result or a positioned error" contract. Inputs are capped at
/// <see cref="MaxInputLength"/> characters to keep each execution short.
/// </remarks>
public static class InProcessFuzzer
{
    /// <summary>The largest input the mutator produces.</summary>
    public const int MaxInputLength = 4096;

    private static readonly string[] Tokens =
    [
        "0", "-1", "2^64", "2^63", "2^65", "U64_MAX", "0xffff_ffff_ffff_f000", "0xffff_ffff_ffff_ffff", "0x1_0000_0000_0000_0000",
        "18446744073709551616", "1e400", "4K", "2M", "1G", "1T", "16E", "0x", "_", "~", "null", "true", "[]", "{}", "[", "]",
        "{", "}", ":", ",", "- ", "&a ", "*a", "!!str ", "!tag ", "? ", "|\n", ">\n", "#", "'", "\"", "\\", "\t", "\n", "  ",
        "op: map", "op: unmap", "op: transaction", "steps:", "expect: EINVAL", "flags: [read, write, bogus]",
        "kind: alias", "target: ram0", "size: 0", "iova: U64_MAX", "<<: *a", "\u0000", "\uFFFF", "\uD800",
    ];

    /// <summary>Runs <paramref name="executions"/> mutated inputs (the seeds themselves first).</summary>
    /// <param name="seeds">The seed corpus (for example every file under <c>scenarios/</c>).</param>
    /// <param name="executions">How many inputs to run.</param>
    /// <param name="seed">The random seed; the same seed and corpus give the same inputs.</param>
    /// <param name="perInputTimeout">An input running longer than this is reported as a hang.</param>
    /// <param name="progress">Called now and then with the number of inputs run so far.</param>
    /// <returns>The number of inputs run.</returns>
    /// <exception cref="FuzzFailureException">An input crashed, hung or ended without a positioned error.</exception>
    public static long Run(IReadOnlyList<string> seeds, long executions, int seed, TimeSpan perInputTimeout, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentOutOfRangeException.ThrowIfZero(seeds.Count);
        long done = 0;
        string? current = null;
        FuzzFailureException? failure = null;
        var worker = new Thread(() =>
        {
            var random = new Random(seed);
            try
            {
                for (long i = 0; i < executions; i++)
                {
                    string input = i < seeds.Count ? seeds[(int)i] : Mutate(random, seeds);
                    Volatile.Write(ref current, input);
                    ScenarioFuzzTarget.Execute(input);
                    Interlocked.Increment(ref done);
                }
            }
            catch (FuzzFailureException e)
            {
                failure = e;
            }
        }, 16 * 1024 * 1024)
        { IsBackground = true, Name = "fuzz worker" };
        worker.Start();

        long lastDone = -1;
        DateTime lastChange = DateTime.UtcNow;
        while (!worker.Join(50))
        {
            long now = Interlocked.Read(ref done);
            if (now != lastDone)
            {
                (lastDone, lastChange) = (now, DateTime.UtcNow);
                progress?.Invoke(now);
            }
            else if (DateTime.UtcNow - lastChange > perInputTimeout)
            {
                throw new FuzzFailureException($"hang: no result after {perInputTimeout.TotalSeconds} s", Volatile.Read(ref current) ?? "", null);
            }
        }

        if (failure is not null)
        {
            throw failure;
        }

        return done;
    }

    /// <summary>One mutation (or a few) of a random seed.</summary>
    /// <param name="random">The random source.</param>
    /// <param name="seeds">The corpus.</param>
    /// <returns>The mutated input, at most <see cref="MaxInputLength"/> characters.</returns>
    public static string Mutate(Random random, IReadOnlyList<string> seeds)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(seeds);
        var text = new StringBuilder(seeds[random.Next(seeds.Count)]);
        int rounds = 1 + random.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int at = text.Length == 0 ? 0 : random.Next(text.Length + 1);
            switch (random.Next(9))
            {
                case 0: // insert a token
                    text.Insert(at, Tokens[random.Next(Tokens.Length)]);
                    break;
                case 1: // delete a span
                    text.Remove(Math.Min(at, text.Length), Math.Min(random.Next(1, 32), text.Length - Math.Min(at, text.Length)));
                    break;
                case 2: // replace a number with an edge number
                    ReplaceNumber(random, text);
                    break;
                case 3: // duplicate a line (huge counts, repeated keys)
                    DuplicateLine(random, text, 1 + random.Next(3) * random.Next(40));
                    break;
                case 4: // splice in a line of another seed
                    string[] other = seeds[random.Next(seeds.Count)].Split('\n');
                    text.Insert(at, other[random.Next(other.Length)] + "\n");
                    break;
                case 5: // truncate
                    text.Length = at;
                    break;
                case 6: // a random character
                    text.Insert(at, (char)random.Next(0, 0x80));
                    break;
                case 7: // deep nesting
                    int depth = random.Next(1, 200);
                    text.Insert(at, new string('[', depth) + new string(']', random.Next(depth + 1)));
                    break;
                default: // flip one character
                    if (text.Length > 0)
                    {
                        int i = Math.Min(at, text.Length - 1);
                        text[i] = (char)(text[i] ^ (1 << random.Next(7)));
                    }

                    break;
            }
        }

        if (text.Length > MaxInputLength)
        {
            text.Length = MaxInputLength;
        }

        return text.ToString();
    }

    private static void ReplaceNumber(Random random, StringBuilder text)
    {
        string s = text.ToString();
        int start = s.IndexOfAny("0123456789".ToCharArray(), random.Next(s.Length + 1));
        if (start < 0)
        {
            return;
        }

        int end = start;
        while (end < s.Length && (char.IsAsciiHexDigit(s[end]) || s[end] is 'x' or '_' or 'K' or 'M' or 'G' or '^'))
        {
            end++;
        }

        text.Remove(start, end - start).Insert(start, Tokens[random.Next(11)]);
    }

    private static void DuplicateLine(Random random, StringBuilder text, int copies)
    {
        string[] lines = text.ToString().Split('\n');
        int i = random.Next(lines.Length);
        var list = new List<string>(lines);
        for (int c = 0; c < copies; c++)
        {
            list.Insert(i, lines[i]);
        }

        text.Clear().Append(string.Join('\n', list));
    }
}
