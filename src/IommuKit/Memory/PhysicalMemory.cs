using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using IommuKit.Addressing;

namespace IommuKit.Memory;

/// <summary>
/// Sparse, page-granular byte storage addressed by 64-bit physical address: host physical memory, or guest RAM.
/// </summary>
/// <remarks>
/// <para>Invariants and layout: memory is <em>backed</em> by ranges declared with <see cref="AddBacking"/>; a backed
/// page costs nothing until first written (reads of an untouched backed page return zeros). Touched pages live in a
/// four-level radix tree over the 52-bit page frame number (13 bits per level, 4 × 13 + 12 = 64), so memory use grows
/// with pages touched, never with the size of the address space. Page-table pages come from the same store (see
/// <see cref="FrameAllocator"/>), so a walker reads tables that anyone — a guest included — wrote.</para>
/// <para>Reads or writes that touch any unbacked byte fail as a whole and transfer nothing (<c>TryRead</c> /
/// <c>TryWrite</c> return false; <c>Read</c> / <c>Write</c> throw).</para>
/// <para>Threading: reads may run concurrently with each other and with writes to other pages; node publication uses
/// volatile writes so a reader never sees a half-built path.</para>
/// </remarks>
public sealed class PhysicalMemory
{
    /// <summary>log2 of the page size.</summary>
    public const int PageBits = 12;

    /// <summary>The page size, 4 KiB.</summary>
    public const int PageSize = 1 << PageBits;

    private const int LevelBits = 13;
    private const int LevelEntries = 1 << LevelBits;
    private const int LevelMask = LevelEntries - 1;

    // Page frame number bit positions of each radix level: 52 = 4 × 13 bits.
    private const int Shift0 = 3 * LevelBits;
    private const int Shift1 = 2 * LevelBits;
    private const int Shift2 = LevelBits;

    private readonly byte[]?[]?[]?[]?[] _root = new byte[]?[]?[]?[]?[LevelEntries];
    private readonly List<IovaRange> _backing = []; // sorted, disjoint, merged when adjacent
    private long _touchedPages;
    private bool _watching; // a frame pool is watched: [_watchFirst, _watchLast] is the hull of all pools
    private ulong _watchFirst;
    private ulong _watchLast;
    private long _watchedWrites;

    /// <summary>The number of pages that hold bytes (were written at least once).</summary>
    public long TouchedPages => Interlocked.Read(ref _touchedPages);

    /// <summary>The backed ranges, ascending and disjoint.</summary>
    public IReadOnlyList<IovaRange> Backing => _backing;

    /// <summary>Declares <paramref name="range"/> as backed (readable and writable). Idempotent for already backed parts.</summary>
    /// <exception cref="ArgumentException">The range is not page aligned.</exception>
    public void AddBacking(IovaRange range)
    {
        if (!range.IsAligned(PageSize))
        {
            ThrowHelper.ThrowArgument(nameof(range), $"backing {range} is not aligned to {PageSize} bytes");
        }

        // Merge with every overlapping or adjacent range; list stays sorted.
        ulong first = range.First;
        ulong last = range.Last;
        int i = 0;
        while (i < _backing.Count && _backing[i].Last < first && !_backing[i].IsFollowedBy(range))
        {
            i++;
        }

        while (i < _backing.Count && (_backing[i].First <= last || range.IsFollowedBy(_backing[i])))
        {
            first = Math.Min(first, _backing[i].First);
            last = Math.Max(last, _backing[i].Last);
            _backing.RemoveAt(i);
        }

        _backing.Insert(i, IovaRange.FromFirstLast(first, last));
    }

    /// <summary>True when every byte of <paramref name="range"/> is backed.</summary>
    public bool IsBacked(IovaRange range)
    {
        int lo = 0, hi = _backing.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            IovaRange b = _backing[mid];
            if (b.Last < range.First)
            {
                lo = mid + 1;
            }
            else if (b.First > range.First)
            {
                hi = mid - 1;
            }
            else
            {
                return b.Contains(range);
            }
        }

        return false;
    }

    /// <summary>True when the byte at <paramref name="pa"/> is backed.</summary>
    public bool IsBacked(ulong pa) => IsBacked(IovaRange.FromFirstLast(pa, pa));

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="pa"/>; false (nothing read) if any byte is unbacked or the range passes 2^64.</summary>
    public bool TryRead(ulong pa, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return true;
        }

        if (!IovaRange.TryFromStartSize(pa, (ulong)destination.Length, out IovaRange range) || !IsBacked(range))
        {
            return false;
        }

        ulong cur = pa;
        while (!destination.IsEmpty)
        {
            int offset = (int)(cur & (PageSize - 1));
            int n = Math.Min(PageSize - offset, destination.Length);
            byte[]? page = FindPage(cur >> PageBits);
            if (page is null)
            {
                destination[..n].Clear();
            }
            else
            {
                page.AsSpan(offset, n).CopyTo(destination);
            }

            destination = destination[n..];
            cur += (ulong)n; // may wrap to 0 only after the last byte, when the loop ends
        }

        return true;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="pa"/>; false (nothing written) if any byte is unbacked or the range passes 2^64.</summary>
    public bool TryWrite(ulong pa, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            return true;
        }

        if (!IovaRange.TryFromStartSize(pa, (ulong)source.Length, out IovaRange range) || !IsBacked(range))
        {
            return false;
        }

        NoteWrite(range.First, range.Last);
        ulong cur = pa;
        while (!source.IsEmpty)
        {
            int offset = (int)(cur & (PageSize - 1));
            int n = Math.Min(PageSize - offset, source.Length);
            source[..n].CopyTo(GetOrCreatePage(cur >> PageBits).AsSpan(offset, n));
            source = source[n..];
            cur += (ulong)n;
        }

        return true;
    }

    /// <summary>Reads bytes; throws when any byte is unbacked.</summary>
    /// <exception cref="InvalidOperationException">Some byte of the range is unbacked.</exception>
    public void Read(ulong pa, Span<byte> destination)
    {
        if (!TryRead(pa, destination))
        {
            ThrowUnbacked(pa, destination.Length);
        }
    }

    /// <summary>Writes bytes; throws when any byte is unbacked.</summary>
    /// <exception cref="InvalidOperationException">Some byte of the range is unbacked.</exception>
    public void Write(ulong pa, ReadOnlySpan<byte> source)
    {
        if (!TryWrite(pa, source))
        {
            ThrowUnbacked(pa, source.Length);
        }
    }

    /// <summary>
    /// Reads the little-endian 64-bit word at the 8-byte aligned <paramref name="pa"/> (a page-table entry read).
    /// False when the word is unbacked. Allocation-free.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadUInt64(ulong pa, out ulong value)
    {
        byte[]? page = FindPage(pa >> PageBits);
        if (page is not null)
        {
            value = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan((int)(pa & (PageSize - 8)), 8));
            return true;
        }

        value = 0;
        return IsBacked(pa & ~7UL);
    }

    /// <summary>Writes the little-endian 64-bit word at the 8-byte aligned <paramref name="pa"/>; false when unbacked.</summary>
    public bool TryWriteUInt64(ulong pa, ulong value)
    {
        byte[]? page = FindPage(pa >> PageBits);
        if (page is null)
        {
            if (!IsBacked(pa & ~7UL))
            {
                return false;
            }

            page = GetOrCreatePage(pa >> PageBits);
        }

        NoteWrite(pa, pa); // one page: the word is 8-byte aligned, so its first byte decides
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan((int)(pa & (PageSize - 8)), 8), value);
        return true;
    }

    /// <summary>Reads the 64-bit word at <paramref name="pa"/>; throws when unbacked.</summary>
    public ulong ReadUInt64(ulong pa)
    {
        if (!TryReadUInt64(pa, out ulong value))
        {
            ThrowUnbacked(pa, 8);
        }

        return value;
    }

    /// <summary>Writes the 64-bit word at <paramref name="pa"/>; throws when unbacked.</summary>
    public void WriteUInt64(ulong pa, ulong value)
    {
        if (!TryWriteUInt64(pa, value))
        {
            ThrowUnbacked(pa, 8);
        }
    }

    /// <summary>Zeroes the page containing <paramref name="pa"/> and gives its storage back (it reads as zeros).</summary>
    public void DiscardPage(ulong pa)
    {
        ulong pfn = pa >> PageBits;
        byte[]?[]? leaf = _root[pfn >> Shift0]?[(pfn >> Shift1) & LevelMask]?[(pfn >> Shift2) & LevelMask];
        if (leaf is not null && leaf[pfn & LevelMask] is not null)
        {
            Volatile.Write(ref leaf[pfn & LevelMask], null);
            Interlocked.Decrement(ref _touchedPages);
        }
    }

    /// <summary>
    /// Writes made through this class (<see cref="TryWrite"/>, <see cref="TryWriteUInt64"/> and their throwing forms)
    /// that touched a watched range (<see cref="Watch"/>: frame pools). Zero means nothing but the pools' owners,
    /// which write page storage directly, ever wrote there: their own bookkeeping of the pages' contents is exact.
    /// </summary>
    internal long WatchedWrites => Volatile.Read(ref _watchedWrites);

    /// <summary>Adds <paramref name="range"/> to the watched ranges (kept as one hull: a write near a pool may count too, never the reverse).</summary>
    internal void Watch(IovaRange range)
    {
        _watchFirst = _watching ? Math.Min(_watchFirst, range.First) : range.First;
        _watchLast = _watching ? Math.Max(_watchLast, range.Last) : range.Last;
        _watching = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NoteWrite(ulong first, ulong last)
    {
        if (_watching && first <= _watchLast && last >= _watchFirst)
        {
            Interlocked.Increment(ref _watchedWrites);
        }
    }

    /// <summary>The storage of the page at <paramref name="pa"/>, created (zeroed) when untouched. The caller checked it is backed.</summary>
    internal byte[] GetOrCreatePageArray(ulong pa) => GetOrCreatePage(pa >> PageBits);

    /// <summary>The storage of the page at <paramref name="pa"/>, or null when untouched (it reads as zeros) or unbacked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte[]? FindPageArray(ulong pa) => FindPage(pa >> PageBits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[]? FindPage(ulong pfn)
    {
        // pfn < 2^52, so pfn >> 39 < 2^13 indexes the root without a range check failing.
        return _root[pfn >> Shift0]?[(pfn >> Shift1) & LevelMask]?[(pfn >> Shift2) & LevelMask]?[pfn & LevelMask];
    }

    private byte[] GetOrCreatePage(ulong pfn)
    {
        ref byte[]?[]?[]?[]? l1 = ref _root[pfn >> Shift0];
        if (l1 is null)
        {
            Volatile.Write(ref l1, new byte[]?[]?[]?[LevelEntries]);
        }

        ref byte[]?[]?[]? l2 = ref l1![(pfn >> Shift1) & LevelMask];
        if (l2 is null)
        {
            Volatile.Write(ref l2, new byte[]?[]?[LevelEntries]);
        }

        ref byte[]?[]? l3 = ref l2![(pfn >> Shift2) & LevelMask];
        if (l3 is null)
        {
            Volatile.Write(ref l3, new byte[]?[LevelEntries]);
        }

        ref byte[]? page = ref l3![pfn & LevelMask];
        if (page is null)
        {
            Volatile.Write(ref page, new byte[PageSize]);
            Interlocked.Increment(ref _touchedPages);
        }

        return page!;
    }

    private static void ThrowUnbacked(ulong pa, int length) =>
        ThrowHelper.ThrowInvalidOperation($"physical access of {length} bytes at {ThrowHelper.Hex(pa)} touches unbacked memory");
}
