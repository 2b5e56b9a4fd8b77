namespace IommuKit.Scenarios;

/// <summary><c>get-info</c>: VFIO_IOMMU_GET_INFO; outputs <c>page-sizes</c> (list), <c>iova-ranges</c> (list of ranges), <c>dma-avail</c>.</summary>
public sealed record GetInfoStep : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.GetInfo;
}
