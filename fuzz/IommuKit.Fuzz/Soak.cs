using CsCheck;
using IommuKit.Tests.Model;

namespace IommuKit.Fuzz;

/// <summary>
/// The soak: random type1 operation sequences against the container and the naive reference model
/// (<c>tests/IommuKit.Tests/Model</c>) until the operation count is reached, with progress once a second. On a
/// divergence CsCheck shrinks the sequence; the seed and the shrunk sequence are printed, the sequence as a scenario
/// file that reproduces it with <c>iommukit run</c>.
/// </summary>
public static class Soak
{
    /// <summary>Runs about <paramref name="operations"/> operations.</summary>
    /// <param name="operations">The operation count to reach (sequences average about 12 operations).</param>
    /// <param name="seed">A CsCheck seed to replay, or null for a random one.</param>
    /// <returns>The process exit code: 0 when no divergence, 1 otherwise.</returns>
    public static int Run(long operations, string? seed)
    {
        long start = Interlocked.Read(ref Type1ModelRunner.Operations);
        using var progress = new Timer(
            _ => Console.WriteLine($"  {Interlocked.Read(ref Type1ModelRunner.Operations) - start:N0} / {operations:N0} operations"),
            null, 1000, 1000);
        long iterations = Math.Max(1, operations / 12);
        Console.WriteLine($"soak: about {operations:N0} type1 operations in {iterations:N0} sequences{(seed is null ? "" : $", seed {seed}")}");
        try
        {
            Type1ModelRunner.Sequence.Sample(
                s => Type1ModelRunner.Run(s.V2, s.Domain, s.Ops),
                seed: seed,
                iter: iterations,
                threads: 1,
                print: s => "\n--- scenario (save as soak-failure.yaml; `iommukit run soak-failure.yaml`) ---\n"
                    + Type1ModelRunner.ToScenario(s.V2, s.Domain, s.Ops, "soak failure") + "--- end ---");
        }
        catch (CsCheckException e)
        {
            Console.Error.WriteLine("DIVERGENCE");
            Console.Error.WriteLine(e.Message);
            return 1;
        }

        Console.WriteLine($"ok: {Interlocked.Read(ref Type1ModelRunner.Operations) - start:N0} operations, no divergence");
        return 0;
    }
}
