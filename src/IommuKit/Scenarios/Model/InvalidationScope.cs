namespace IommuKit.Scenarios;

/// <summary>The <c>scope</c> of a <c>guest-invalidate</c> step (VT-d IOTLB invalidation granularity).</summary>
public enum InvalidationScope
{
    /// <summary><c>global</c>: every domain.</summary>
    Global,

    /// <summary><c>domain</c>: the devices' domain.</summary>
    Domain,

    /// <summary><c>page</c>: a naturally aligned power-of-two range (page-selective invalidation).</summary>
    Page,
}
