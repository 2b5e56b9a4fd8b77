using IommuKit.Addressing;

namespace IommuKit.Memory;

/// <summary>
/// Allocates 4 KiB frames (page-table pages) from a pool range of a <see cref="PhysicalMemory"/>.
/// </summary>
/// <remarks>
/// Invariants: every frame handed out is zeroed (a new table's 512 entries all start invalid); a freed frame is
/// discarded (zeroed) before it can be handed out again; frames are reused lowest-first so layouts are
/// deterministic. The pool is declared as backing in the memory when the allocator is created.
/// </remarks>
public sealed class FrameAllocator
{
    /// <summary>The default pool: 64 GiB of frames at physical 0x100_0000_0000 (1 TiB), clear of typical RAM.</summary>
    public static readonly IovaRange DefaultPool = IovaRange.FromStartSize(0x100_0000_0000, 64UL << 30);

    private readonly PhysicalMemory _memory;
    private readonly SortedSet<ulong> _free = [];
    private readonly HashSet<ulong> _allocated = [];
    private readonly UInt128 _poolFrames;
    private ulong _bumped; // frames handed out by the bump pointer so far (< _poolFrames)

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
        _poolFrames = p.Size / PhysicalMemory.PageSize;
        memory.AddBacking(p);
    }

    /// <summary>The memory the frames live in.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>The pool range frames come from.</summary>
    public IovaRange Pool { get; }

    /// <summary>The number of frames currently allocated.</summary>
    public int AllocatedFrames => _allocated.Count;

    /// <summary>The highest number of frames allocated at once.</summary>
    public int PeakFrames { get; private set; }

    /// <summary>Returns the physical address of a zeroed frame.</summary>
    /// <exception cref="InvalidOperationException">The pool is exhausted.</exception>
    public ulong Allocate()
    {
        ulong pa;
        if (_free.Count > 0)
        {
            pa = _free.Min;
            _free.Remove(pa);
        }
        else
        {
            if (_bumped >= _poolFrames)
            {
                return ThrowHelper.ThrowInvalidOperation<ulong>($"frame pool {Pool} is exhausted ({_allocated.Count} frames in use)");
            }

            // _bumped < pool frames, so First + _bumped * PageSize is inside the pool and cannot overflow.
            pa = Pool.First + (_bumped << PhysicalMemory.PageBits);
            _bumped++;
        }

        _allocated.Add(pa);
        PeakFrames = Math.Max(PeakFrames, _allocated.Count);
        return pa;
    }

    /// <summary>Returns a frame to the pool; it is zeroed.</summary>
    /// <exception cref="ArgumentException"><paramref name="pa"/> is not an allocated frame.</exception>
    public void Free(ulong pa)
    {
        if (!_allocated.Remove(pa))
        {
            ThrowHelper.ThrowArgument(nameof(pa), $"{ThrowHelper.Hex(pa)} is not an allocated frame");
        }

        _memory.DiscardPage(pa);
        _free.Add(pa);
    }

    /// <summary>True when <paramref name="pa"/> is an allocated frame.</summary>
    public bool IsAllocated(ulong pa) => _allocated.Contains(pa);
}
