using IommuKit.Vfio;

namespace IommuKit.Conformance;

/// <summary>
/// Replays a step file against IommuKit: each <c>backend</c> step picks the <see cref="Type1Replayer"/> (type1v1,
/// type1v2) or the <see cref="IommufdReplayer"/> (compat, compat-nodev, ioas, ioas-dev) for the steps that follow.
/// </summary>
public sealed class StepReplayer
{
    private readonly Type1Replayer _type1;
    private readonly IommufdReplayer _iommufd;
    private Func<StepLine, StepResult?>? _current;

    /// <summary>Creates a replayer for a device behind <paramref name="model"/>, type1 following <paramref name="rules"/>.</summary>
    public StepReplayer(IommuModel model, VfioKernelRules rules)
    {
        _type1 = new Type1Replayer(model, rules);
        _iommufd = new IommufdReplayer(model);
    }

    /// <summary>The replayer for <paramref name="golden"/>'s machine: its IOMMU model with the reserved regions it
    /// reported, and <paramref name="rules"/> (the golden kernel's profile when null).</summary>
    /// <exception cref="ArgumentException">The golden's IOMMU model is unknown.</exception>
    public static StepReplayer For(GoldenFile golden, VfioKernelRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(golden);
        IommuModel? model = IommuModel.FromName(golden.Iommu, golden.Reserved);
        if (model is null)
        {
            ThrowHelper.ThrowArgument(nameof(golden), $"unknown IOMMU model '{golden.Iommu}' (intel, intel48, amd, virtio)");
        }

        return new StepReplayer(model, rules ?? golden.KernelRules);
    }

    /// <summary>Whether a backend is replayed.</summary>
    public static bool Supports(string backend) => Type1Replayer.Supports(backend) || IommufdReplayer.Supports(backend);

    /// <summary>IommuKit's answer for one step; null when the step is outside what the replayer models.</summary>
    public StepResult? Run(StepLine step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Op == "backend")
        {
            string kind = step.Positional ?? "";
            _current = Type1Replayer.Supports(kind) ? _type1.Run : IommufdReplayer.Supports(kind) ? _iommufd.Run : null;
        }

        return _current?.Invoke(step);
    }
}
