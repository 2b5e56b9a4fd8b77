namespace IommuKit.Addressing;

/// <summary>
/// The chunks of an <see cref="IovaRange"/> split by <see cref="IovaRange.Chunks"/>: allocation-free, enumerable
/// with <c>foreach</c>. Each chunk is a naturally aligned page of one of the allowed sizes.
/// </summary>
public readonly struct IovaChunkEnumerable
{
    private readonly IovaRange _range;
    private readonly PageSizes _pageSizes;
    private readonly ulong _pa;

    internal IovaChunkEnumerable(IovaRange range, PageSizes pageSizes, ulong pa)
    {
        _range = range;
        _pageSizes = pageSizes;
        _pa = pa;
    }

    /// <summary>Returns the enumerator.</summary>
    public Enumerator GetEnumerator() => new(_range, _pageSizes, _pa);

    /// <summary>Counts the chunks (enumerates them).</summary>
    public int Count()
    {
        int n = 0;
        foreach (IovaChunk _ in this)
        {
            n++;
        }

        return n;
    }

    /// <summary>Enumerates chunks in ascending address order.</summary>
    public struct Enumerator
    {
        private readonly PageSizes _pageSizes;
        private readonly ulong _last;
        private ulong _iova;
        private ulong _pa;
        private bool _done;
        private IovaChunk _current;

        internal Enumerator(IovaRange range, PageSizes pageSizes, ulong pa)
        {
            _pageSizes = pageSizes;
            _last = range.Last;
            _iova = range.First;
            _pa = pa;
            _done = false;
            _current = default;
        }

        /// <summary>The current chunk.</summary>
        public readonly IovaChunk Current => _current;

        /// <summary>Advances to the next chunk.</summary>
        public bool MoveNext()
        {
            if (_done)
            {
                return false;
            }

            // Remaining = _last - _iova + 1 is at most 2^64: computed in 128 bits.
            UInt128 remaining = (UInt128)(_last - _iova) + 1;
            ulong size = _pageSizes.LargestFor(_iova, _pa, remaining);
            _current = new IovaChunk(_iova, size, _pa);

            // The chunk's last address is _iova + size - 1 <= _last, so no overflow; stop when it is _last.
            ulong chunkLast = _iova + (size - 1);
            if (chunkLast == _last)
            {
                _done = true;
            }
            else
            {
                _iova = chunkLast + 1;
                _pa += size;
            }

            return true;
        }
    }
}

/// <summary>One naturally aligned page: IOVA, size and the physical address it maps to.</summary>
/// <param name="Iova">First IOVA of the page (aligned to <paramref name="Size"/>).</param>
/// <param name="Size">Page size, a power of two from the page-size set.</param>
/// <param name="Pa">Physical address the page maps to.</param>
public readonly record struct IovaChunk(ulong Iova, ulong Size, ulong Pa)
{
    /// <summary>The page as an inclusive range.</summary>
    public IovaRange Range => IovaRange.FromStartSize(Iova, Size);
}
