namespace IommuKit.Fuzz;

/// <summary>A fuzz input broke the contract: it neither produced a result nor a positioned error, or it hung.</summary>
public sealed class FuzzFailureException : Exception
{
    /// <summary>Creates the failure for <paramref name="input"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="input">The offending input.</param>
    /// <param name="inner">The escaped exception, if any.</param>
    public FuzzFailureException(string message, string input, Exception? inner)
        : base($"{message}\n--- input ({input.Length} chars) ---\n{input}\n--- end ---", inner)
    {
        Input = input;
    }

    /// <summary>The input that failed (save it to a file to reproduce with <c>iommukit run</c>).</summary>
    public string Input { get; }
}
