namespace IommuKit.PageTables;

/// <summary>An IO page-table format. Its name in CLI flags and scenario files comes from <see cref="PageTableFormats.Name"/>.</summary>
public enum PageTableFormat
{
    /// <summary>Intel VT-d second-level paging, 4 levels, 48-bit IOVA (<c>x86-sl-4level</c>).</summary>
    X86SecondLevel4Level,

    /// <summary>Intel VT-d second-level paging, 5 levels, 57-bit IOVA (<c>x86-sl-5level</c>).</summary>
    X86SecondLevel5Level,

    /// <summary>ARM VMSAv8-64 LPAE stage 1, 4 KiB granule, 4 levels, 48-bit input (<c>arm-lpae-48</c>).</summary>
    ArmLpae48,

    /// <summary>Intel VT-d second-level paging, 3 levels, 39-bit IOVA (<c>x86-sl-3level</c>): a VT-d unit with 39-bit AGAW.</summary>
    X86SecondLevel3Level,
}
