using IommuKit.Fuzz;
using SharpFuzz;

// Usage (see fuzz/README.md):
//   IommuKit.Fuzz libfuzzer                 entry point for libfuzzer-dotnet (coverage guided)
//   IommuKit.Fuzz afl                       entry point for afl-fuzz (out-of-process, stdin / @@)
//   IommuKit.Fuzz run <file>...             run saved inputs (reproduce a crash)
//   IommuKit.Fuzz inprocess [count] [seed]  the in-process fallback over scenarios/
//   IommuKit.Fuzz soak [ops] [seed] [model] a model comparison (type1 | iommufd), random seed (tools/soak.sh)
string mode = args.Length > 0 ? args[0] : "inprocess";
switch (mode)
{
    case "libfuzzer":
        Fuzzer.LibFuzzer.Run(span => ScenarioFuzzTarget.Execute(span));
        return 0;
    case "afl":
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var reader = new StreamReader(stream);
            ScenarioFuzzTarget.Execute(reader.ReadToEnd());
        });
        return 0;
    case "run":
        foreach (string file in args.Skip(1))
        {
            ScenarioFuzzTarget.Execute(File.ReadAllBytes(file));
            Console.WriteLine($"{file}: ok");
        }

        return 0;
    case "inprocess":
        long count = args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        int seed = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        string root = args.Length > 3 ? args[3] : "scenarios";
        List<string> seeds = FuzzCorpus.Load(root);
        Console.WriteLine($"in-process fuzz: {count} inputs, seed {seed}, {seeds.Count} seed files from {root}");
        try
        {
            long done = InProcessFuzzer.Run(seeds, count, seed, TimeSpan.FromSeconds(10), n =>
            {
                if (n % 10_000 == 0)
                {
                    Console.WriteLine($"  {n} inputs");
                }
            });
            Console.WriteLine($"ok: {done} inputs, no crash, hang or unpositioned error");
            return 0;
        }
        catch (FuzzFailureException e)
        {
            Console.Error.WriteLine($"FAILED (seed {seed}): {e.Message}");
            return 1;
        }

    case "soak":
        {
            string model = args.Length > 3 ? args[3] : "type1";
            if (!Soak.Models.Contains(model))
            {
                Console.Error.WriteLine($"unknown model '{model}': {string.Join(" | ", Soak.Models)}");
                return 2;
            }

            return Soak.Run(
                args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
                args.Length > 2 && args[2] != "-" ? args[2] : null,
                model);
        }

    default:
        Console.Error.WriteLine("usage: IommuKit.Fuzz [libfuzzer | afl | run <file>... | inprocess [count] [seed] [corpus-dir] | soak [ops] [seed|-] [type1|iommufd]]");
        return 2;
}
