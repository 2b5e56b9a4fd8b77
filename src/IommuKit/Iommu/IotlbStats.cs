namespace IommuKit.Iommu;

/// <summary>Counters of an <see cref="Iotlb"/> since it was created or its stats were reset.</summary>
/// <param name="Hits">Lookups that found an entry.</param>
/// <param name="Misses">Lookups that found none.</param>
/// <param name="Walks">Page walks done to serve misses (reported by the owner with <see cref="Iotlb.RecordWalk"/>).</param>
/// <param name="Fills">Entries inserted.</param>
/// <param name="Evictions">Valid entries replaced (LRU victim of a full set) by a fill.</param>
/// <param name="Invalidations">Invalidation calls (global, range and page).</param>
/// <param name="InvalidatedEntries">Valid entries dropped by invalidation calls.</param>
/// <param name="EntriesExamined">Entry slots read by invalidations: the cost of invalidating, bounded by the capacity
/// per call whatever the size of the range.</param>
public readonly record struct IotlbStats(
    long Hits,
    long Misses,
    long Walks,
    long Fills,
    long Evictions,
    long Invalidations,
    long InvalidatedEntries,
    long EntriesExamined);
