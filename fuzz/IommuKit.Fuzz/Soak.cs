using CsCheck;
using IommuKit.Tests.Model;

namespace IommuKit.Fuzz;

/// <summary>
/// The soak: random operation sequences against an implementation and its naive reference model
/// (<c>tests/IommuKit.Tests/Model</c>: VFIO type1 or the iommufd IOAS) until the operation count is reached, with
/// progress once a second. On a divergence CsCheck shrinks the sequence; the seed and the shrunk sequence are printed,
/// the sequence as a scenario file that reproduces it with <c>iommukit run</c>.
/// </summary>
public static class Soak
{
    /// <summary>The models the soak can drive.</summary>
    public static readonly string[] Models = ["type1", "iommufd"];

    /// <summary>Runs about <paramref name="operations"/> operations against <paramref name="model"/>.</summary>
    /// <param name="operations">The operation count to reach (sequences average about 12 operations).</param>
    /// <param name="seed">A CsCheck seed to replay, or null for a random one.</param>
    /// <param name="model"><c>type1</c> or <c>iommufd</c>.</param>
    /// <returns>The process exit code: 0 when no divergence, 1 otherwise.</returns>
    public static int Run(long operations, string? seed, string model = "type1")
    {
        Func<long> done = model == "iommufd"
            ? () => Interlocked.Read(ref IoasModelRunner.Operations)
            : () => Interlocked.Read(ref Type1ModelRunner.Operations);
        long start = done();
        using var progress = new Timer(
            _ => Console.WriteLine($"  {done() - start:N0} / {operations:N0} operations"),
            null, 1000, 1000);
        long iterations = Math.Max(1, operations / 12);
        Console.WriteLine($"soak: about {operations:N0} {model} operations in {iterations:N0} sequences{(seed is null ? "" : $", seed {seed}")}");
        const string Banner = "\n--- scenario (save as soak-failure.yaml; `iommukit run soak-failure.yaml`) ---\n";
        try
        {
            if (model == "iommufd")
            {
                IoasModelRunner.Sequence.Sample(
                    s => IoasModelRunner.Run(s.Setup, s.Ops),
                    seed: seed,
                    iter: iterations,
                    threads: 1,
                    print: s => Banner + IoasModelRunner.ToScenario(s.Setup, s.Ops, "soak failure") + "--- end ---");
            }
            else
            {
                Type1ModelRunner.Sequence.Sample(
                    s => Type1ModelRunner.Run(s.V2, s.Domain, s.Ops),
                    seed: seed,
                    iter: iterations,
                    threads: 1,
                    print: s => Banner + Type1ModelRunner.ToScenario(s.V2, s.Domain, s.Ops, "soak failure") + "--- end ---");
            }
        }
        catch (CsCheckException e)
        {
            Console.Error.WriteLine($"DIVERGENCE ({model}; replay: tools/soak.sh {model} {operations} SEED, with the seed below)");
            Console.Error.WriteLine(e.Message);
            return 1;
        }

        Console.WriteLine($"ok: {done() - start:N0} {model} operations, no divergence");
        return 0;
    }
}
