namespace IommuKit.Scenarios;

/// <summary>A DMA fault as a scenario expects or an executor reports it.</summary>
/// <param name="Kind">Why the access faulted.</param>
/// <param name="Stage">Which IOMMU faulted; <see langword="null"/> in an expectation means "either".</param>
public readonly record struct ScenarioFault(ScenarioFaultKind Kind, TranslationStage? Stage)
{
    /// <summary>Formats as the file writes it: <c>fault: not-present, stage: guest</c>.</summary>
    public override string ToString() => Stage is null
        ? $"fault: {ScenarioNames.Of(Kind)}"
        : $"fault: {ScenarioNames.Of(Kind)}, stage: {ScenarioNames.Of(Stage.Value)}";
}
