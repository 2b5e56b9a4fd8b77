using IommuKit.PageTables;

namespace IommuKit.Guest;

/// <summary>A DMA domain the guest's IOMMU driver created: a domain id and its second-level table in guest RAM.</summary>
public sealed class GuestDomain
{
    internal GuestDomain(int domainId, IoPageTable table)
    {
        DomainId = domainId;
        Table = table;
    }

    /// <summary>The domain id written in context entries and invalidation descriptors.</summary>
    public int DomainId { get; }

    /// <summary>The second-level table (its pages are guest RAM frames).</summary>
    public IoPageTable Table { get; }

    /// <summary>Formats as <c>domain 1 (x86-sl-3level)</c>.</summary>
    public override string ToString() => $"domain {DomainId} ({PageTableFormats.Name(Table.Format)})";
}
