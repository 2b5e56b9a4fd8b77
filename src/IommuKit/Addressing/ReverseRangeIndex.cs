namespace IommuKit.Addressing;

/// <summary>
/// An index of mappings by host address: answers "which IOVA maps this host (user virtual) address?" in O(log n),
/// where QEMU's iova-tree (<c>iova_tree_find_iova</c>) walks every mapping.
/// </summary>
/// <remarks>
/// <para>Each mapping is a host range and the IOVA of its first byte; the IOVA range has the host range's size.
/// Host ranges may overlap (one buffer mapped at two IOVAs, an iommufd COPY), so they cannot all live in one
/// <see cref="RangeMap{T}"/>. Invariants: every mapping is in exactly one of two places: the primary
/// <see cref="RangeMap{T}"/> keyed by host range (disjoint host ranges), or the alias list (mappings whose host range
/// overlapped a primary one when added). When a primary mapping is removed, aliases that no longer overlap any primary
/// mapping move into the map, in the order they were added.</para>
/// <para>A lookup is one <see cref="RangeMap{T}.TryFind"/> plus a scan of the aliases (none in the common case of
/// disjoint buffers): O(log n + a). When several mappings cover the address, the answer is the lowest IOVA, the one
/// QEMU's in-order walk finds first (mapping IOVA ranges are disjoint, so the lowest first IOVA is the lowest
/// translated IOVA too).</para>
/// <para>Not thread-safe; owners serialise writers.</para>
/// </remarks>
public sealed class ReverseRangeIndex
{
    private readonly RangeMap<ulong> _primary = new();
    private readonly List<(IovaRange Host, ulong Iova)> _aliases = [];

    /// <summary>The number of mappings indexed.</summary>
    public int Count => _primary.Count + _aliases.Count;

    /// <summary>The number of mappings whose host range overlaps another's (kept in the linear alias list).</summary>
    public int AliasCount => _aliases.Count;

    /// <summary>Entries visited by lookups in the primary map since creation or <see cref="ResetCounters"/>, plus
    /// aliases scanned (for scaling tests).</summary>
    public long NodesVisited => _primary.NodesVisited + _aliasesVisited;

    private long _aliasesVisited;

    /// <summary>Resets <see cref="NodesVisited"/>.</summary>
    public void ResetCounters()
    {
        _primary.ResetCounters();
        _aliasesVisited = 0;
    }

    /// <summary>Indexes the mapping of <paramref name="host"/> at <paramref name="iova"/> (its first byte).</summary>
    /// <remarks>The caller guarantees <c>iova + host.Size - 1 &lt;= 2^64-1</c> (the IOVA range exists) and that no
    /// other indexed mapping starts at the same <paramref name="iova"/>.</remarks>
    public void Add(IovaRange host, ulong iova)
    {
        if (!_primary.TryAdd(host, iova))
        {
            _aliases.Add((host, iova));
        }
    }

    /// <summary>Removes the mapping of <paramref name="host"/> at <paramref name="iova"/>; false when it is not indexed.</summary>
    public bool Remove(IovaRange host, ulong iova)
    {
        if (_primary.TryFind(host.First, out RangeMapEntry<ulong> e) && e.Range == host && e.Value == iova)
        {
            _primary.Remove(host);
            PromoteAliases();
            return true;
        }

        int i = _aliases.IndexOf((host, iova));
        if (i < 0)
        {
            return false;
        }

        _aliases.RemoveAt(i);
        return true;
    }

    /// <summary>Removes every mapping.</summary>
    public void Clear()
    {
        _primary.Clear();
        _aliases.Clear();
    }

    /// <summary>
    /// The IOVA mapping <paramref name="hostAddress"/>, the lowest when several mappings cover it; false when none does.
    /// </summary>
    public bool TryFind(ulong hostAddress, out ulong iova)
    {
        bool found = false;
        iova = 0;
        if (_primary.TryFind(hostAddress, out RangeMapEntry<ulong> e))
        {
            // hostAddress - e.Range.First < host size, and the IOVA range of that size starting at e.Value exists.
            iova = e.Value + (hostAddress - e.Range.First);
            found = true;
        }

        foreach ((IovaRange host, ulong first) in _aliases)
        {
            _aliasesVisited++;
            if (host.Contains(hostAddress))
            {
                ulong candidate = first + (hostAddress - host.First); // as above
                if (!found || candidate < iova)
                {
                    iova = candidate;
                    found = true;
                }
            }
        }

        return found;
    }

    // Aliases whose host range overlaps no primary mapping any more move into the primary map, oldest first.
    private void PromoteAliases()
    {
        for (int i = 0; i < _aliases.Count; i++)
        {
            if (_primary.TryAdd(_aliases[i].Host, _aliases[i].Iova))
            {
                _aliases.RemoveAt(i);
                i--;
            }
        }
    }
}
