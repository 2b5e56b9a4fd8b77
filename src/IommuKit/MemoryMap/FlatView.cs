namespace IommuKit.MemoryMap;

/// <summary>
/// The flattened form of an address space (QEMU's <c>FlatView</c>): what answers at each address once priorities,
/// aliases, holes and clipping are resolved.
/// </summary>
/// <remarks>
/// Invariants: <see cref="Ranges"/> are sorted by address, pairwise disjoint, and no two neighbours satisfy QEMU's
/// merge rule (<c>flatview_simplify</c>: adjacent, same region, contiguous offsets, same flags). Addresses not covered
/// by any range are unassigned. A view is immutable; every committed update makes a new one.
/// </remarks>
public sealed class FlatView
{
    private readonly FlatRange[] _ranges;

    internal FlatView(MemoryRegion root, FlatRange[] ranges)
    {
        Root = root;
        _ranges = ranges;
    }

    /// <summary>The region the view was rendered from.</summary>
    public MemoryRegion Root { get; }

    /// <summary>The ranges, ascending and disjoint.</summary>
    public IReadOnlyList<FlatRange> Ranges => _ranges;

    /// <summary>The sections listeners see, one per range, ascending.</summary>
    public IEnumerable<MemoryRegionSection> Sections => _ranges.Select(r => r.ToSection());

    /// <summary>Finds the range that contains <paramref name="address"/> (binary search, no allocation).</summary>
    /// <returns>False when the address is unassigned.</returns>
    public bool TryFind(ulong address, out FlatRange range)
    {
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            FlatRange r = _ranges[mid];
            if (address < r.Range.First)
            {
                hi = mid - 1;
            }
            else if (address > r.Range.Last)
            {
                lo = mid + 1;
            }
            else
            {
                range = r;
                return true;
            }
        }

        range = default;
        return false;
    }
}
