namespace IommuKit.Scenarios;

/// <summary>An IO page-table format, as a scenario names it (<c>iommu.format</c>, <c>guest-iommu.format</c>).</summary>
public enum IommuFormat
{
    /// <summary><c>x86-sl-4level</c>: VT-d second-level tables, 4 levels, 48-bit input.</summary>
    X86Sl4Level,

    /// <summary><c>x86-sl-5level</c>: VT-d second-level tables, 5 levels, 57-bit input.</summary>
    X86Sl5Level,

    /// <summary><c>arm-lpae-48</c>: ARM LPAE stage tables with a 4K granule and 48-bit input.</summary>
    ArmLpae48,
}
