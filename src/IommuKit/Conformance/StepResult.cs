namespace IommuKit.Conformance;

/// <summary>One step's result: the ioctl's return, its errno name ("0" on success) and the out fields as printed.</summary>
public sealed record StepResult(int Ret, string Errno, IReadOnlyDictionary<string, string> Out)
{
    /// <summary>Whether the two results are the same (ret, errno and every out field).</summary>
    public bool SameAs(StepResult other) =>
        Ret == other.Ret && Errno == other.Errno && Out.Count == other.Out.Count &&
        Out.All(kv => other.Out.TryGetValue(kv.Key, out string? v) && v == kv.Value);

    /// <inheritdoc/>
    public override string ToString() =>
        $"ret={Ret} errno={Errno}" + string.Concat(Out.Select(kv => $" {kv.Key}={kv.Value}"));
}
