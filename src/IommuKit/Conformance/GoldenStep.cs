namespace IommuKit.Conformance;

/// <summary>A golden step: where it is, its text, and what the kernel answered.</summary>
public sealed record GoldenStep(string File, int Line, string Step, StepResult Result);
