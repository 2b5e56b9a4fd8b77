using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IommuKit.Addressing;

namespace IommuKit.Memory;

/// <summary>
/// Allocates 4 KiB frames (page-table pages) from a pool range of a <see cref="PhysicalMemory"/>.
/// </summary>
/// <remarks>
/// <para>Invariants: every frame handed out is zeroed (a new table's 512 entries all start invalid); a freed frame is
/// zeroed before it can be handed out again; frames are reused lowest-first so layouts are deterministic. The pool is
/// declared as backing in the memory when the allocator is created.</para>
/// <para>Layout (allocation-free once warm): frames are numbered from the pool base (index = (pa - base) / 4 KiB);
/// frames below the bump index are either allocated (bit set in <c>_allocated</c>) or free (bit set in
/// <c>_freeBits</c>; bit w of <c>_freeSummary</c> says word w of it is non-zero, so the lowest free frame is two
/// trailing-zero counts away from <c>_summaryHint</c>, the lowest summary word that may be non-zero). A frame's page
/// storage is created in the <see cref="PhysicalMemory"/> when it is first handed out and kept (zeroed in place) when
/// it is freed, so the direct index <c>_pages</c> from frame index to the page's byte array stays valid: the
/// page-table engine reads its own tables through it with a subtraction and a shift instead of a radix lookup. At most <see cref="RetainedFreeFrames"/> free frames keep their (zeroed) storage, so a
/// table page freed and re-created costs no allocation while the memory of a large table that was unmapped is given
/// back.</para>
/// </remarks>
public sealed class FrameAllocator
{
    /// <summary>The default pool: 64 GiB of frames at physical 0x100_0000_0000 (1 TiB), clear of typical RAM.</summary>
    public static readonly IovaRange DefaultPool = IovaRange.FromStartSize(0x100_0000_0000, 64UL << 30);

    private readonly PhysicalMemory _memory;
    private readonly UInt128 _poolFrames;
    private readonly ulong _poolBase;
    private ulong[] _allocated = new ulong[16]; // bit i set: frame i is allocated
    private ulong[] _freeBits = new ulong[16]; // bit i set: frame i (below the bump count) is free
    private ulong[] _freeSummary = new ulong[1]; // bit w set: _freeBits[w] is non-zero
    private int _summaryHint; // every summary word below it is zero
    private int _freeCount;
    private byte[]?[] _pages = new byte[16][]; // frame index -> its page storage (allocated frames: never null)
    private ulong _bumped; // frames handed out by the bump pointer so far (< _poolFrames)
    private int _allocatedCount;
    private int _retained; // free frames whose storage is kept (zeroed) in _pages

    /// <summary>Creates an allocator over <paramref name="pool"/> (page aligned) of <paramref name="memory"/>.</summary>
    public FrameAllocator(PhysicalMemory memory, IovaRange? pool = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        IovaRange p = pool ?? DefaultPool;
        if (!p.IsAligned(PhysicalMemory.PageSize))
        {
            ThrowHelper.ThrowArgument(nameof(pool), $"frame pool {p} is not page aligned");
        }

        _memory = memory;
        Pool = p;
        _poolBase = p.First;
        _poolFrames = p.Size / PhysicalMemory.PageSize;
        memory.AddBacking(p);
        memory.Watch(p);
    }

    /// <summary>The most free frames whose zeroed storage is kept for reuse; the storage of any more is discarded.</summary>
    public const int RetainedFreeFrames = 64;

    /// <summary>The memory the frames live in.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>The pool range frames come from.</summary>
    public IovaRange Pool { get; }

    /// <summary>The number of frames currently allocated.</summary>
    public int AllocatedFrames => _allocatedCount;

    /// <summary>The highest number of frames allocated at once.</summary>
    public int PeakFrames { get; private set; }

    /// <summary>Returns the physical address of a zeroed frame.</summary>
    /// <exception cref="InvalidOperationException">The pool is exhausted.</exception>
    public ulong Allocate()
    {
        ulong index;
        if (_freeCount > 0)
        {
            index = TakeLowestFree();
            if (_pages[index] is null)
            {
                // index < bump count: inside the pool.
                _pages[index] = _memory.GetOrCreatePageArray(_poolBase + (index << PhysicalMemory.PageBits));
            }
            else
            {
                _retained--;
            }
        }
        else
        {
            if (_bumped >= _poolFrames)
            {
                return ThrowHelper.ThrowInvalidOperation<ulong>($"frame pool {Pool} is exhausted ({_allocatedCount} frames in use)");
            }

            index = _bumped;
            Grow(index);

            // index < pool frames, so base + index * PageSize is inside the pool and cannot overflow.
            _pages[index] = _memory.GetOrCreatePageArray(_poolBase + (index << PhysicalMemory.PageBits));
            _bumped++;
        }

        _allocated[index >> 6] |= 1UL << (int)(index & 63);
        _allocatedCount++;
        PeakFrames = Math.Max(PeakFrames, _allocatedCount);
        return _poolBase + (index << PhysicalMemory.PageBits);
    }

    /// <summary>Returns a frame to the pool; it is zeroed.</summary>
    /// <exception cref="ArgumentException"><paramref name="pa"/> is not an allocated frame.</exception>
    public void Free(ulong pa) => Free(pa, knownZero: false);

    /// <summary>
    /// Returns a frame the caller has just seen to be all zeros (a page table confirmed empty by a scan), so the
    /// 4 KiB clear of <see cref="Free(ulong)"/> is skipped. A frame that is not all zeros breaks the allocator's
    /// "handed out zeroed" invariant: only the page-table engine calls this, right after its emptiness scan.
    /// </summary>
    internal void FreeZeroed(ulong pa) => Free(pa, knownZero: true);

    private void Free(ulong pa, bool knownZero)
    {
        if (!TryIndex(pa, out ulong index) || (_allocated[index >> 6] & (1UL << (int)(index & 63))) == 0)
        {
            ThrowHelper.ThrowArgument(nameof(pa), $"{ThrowHelper.Hex(pa)} is not an allocated frame");
            return;
        }

        _allocated[index >> 6] &= ~(1UL << (int)(index & 63));
        _allocatedCount--;
        if (_retained < RetainedFreeFrames)
        {
            if (!knownZero)
            {
                Array.Clear(_pages[index]!); // an allocated frame always has storage
            }

            _retained++;
        }
        else
        {
            _memory.DiscardPage(pa);
            _pages[index] = null;
        }

        int word = (int)(index >> 6); // index < bump count <= pool frames: the word index fits an int
        _freeBits[word] |= 1UL << (int)(index & 63);
        _freeSummary[word >> 6] |= 1UL << (word & 63);
        _summaryHint = Math.Min(_summaryHint, word >> 6);
        _freeCount++;
    }

    // The lowest free frame, taken out of the free bitmap (the caller checked _freeCount > 0): lowest-first reuse.
    private ulong TakeLowestFree()
    {
        int s = _summaryHint;
        while (_freeSummary[s] == 0)
        {
            s++; // a free frame exists, so a non-zero summary word does at or above the hint
        }

        _summaryHint = s;
        int word = (s << 6) + BitOperations.TrailingZeroCount(_freeSummary[s]);
        ulong bits = _freeBits[word];
        ulong index = ((ulong)word << 6) + (ulong)BitOperations.TrailingZeroCount(bits);
        bits &= bits - 1; // clear the lowest set bit
        _freeBits[word] = bits;
        if (bits == 0)
        {
            _freeSummary[s] &= ~(1UL << (word & 63));
        }

        _freeCount--;
        return index;
    }

    /// <summary>True when <paramref name="pa"/> is an allocated frame.</summary>
    public bool IsAllocated(ulong pa) =>
        TryIndex(pa, out ulong index) && (_allocated[index >> 6] & (1UL << (int)(index & 63))) != 0;

    /// <summary>
    /// The storage of the frame at <paramref name="pa"/> when it is a frame of this pool handed out at least once
    /// (a subtraction and a shift, no radix lookup); null otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte[]? PageOf(ulong pa)
    {
        // pa - base wraps for pa below the base to a value >= _bumped << 12, so one compare checks both ends.
        ulong index = (pa - _poolBase) >> PhysicalMemory.PageBits;

        // index < _bumped <= _pages.Length (Grow runs before the bump), so the unchecked read is in bounds.
        return index < _bumped ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_pages), (nint)index) : null;
    }

    /// <summary>
    /// The frame-index → page-storage table behind <see cref="PageOf"/> and its valid length (frames handed out so
    /// far), for a caller that looks up several frames without allocating in between (the array is replaced when the
    /// pool grows): entry i, i &lt; <paramref name="bumped"/>, is frame <c>Pool.First + i × 4 KiB</c>'s storage or null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte[]?[] PageTable(out ulong bumped)
    {
        bumped = _bumped;
        return _pages;
    }

    private bool TryIndex(ulong pa, out ulong index)
    {
        index = (pa - _poolBase) >> PhysicalMemory.PageBits;
        return (pa & (PhysicalMemory.PageSize - 1)) == 0 && index < _bumped;
    }

    private void Grow(ulong index)
    {
        if (index >= (ulong)_pages.Length)
        {
            Array.Resize(ref _pages, _pages.Length * 2);
        }

        if ((index >> 6) >= (ulong)_allocated.Length)
        {
            Array.Resize(ref _allocated, _allocated.Length * 2);
            Array.Resize(ref _freeBits, _allocated.Length);
            Array.Resize(ref _freeSummary, (_allocated.Length + 63) >> 6);
        }
    }
}
