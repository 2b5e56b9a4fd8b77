using IommuKit.Addressing;

namespace IommuKit.MemoryMap;

/// <summary>
/// A QEMU-style guest memory map: the factory of <see cref="MemoryRegion"/>s, the list of
/// <see cref="AddressSpace"/>s, the memory listeners, the transaction depth and the allocator of host virtual
/// addresses for RAM (what QEMU keeps in globals of <c>system/memory.c</c>).
/// </summary>
/// <remarks>
/// <para><b>Sizes at the API edge.</b> As in QEMU's <c>memory_region_init</c>, a <see cref="ulong"/> size of
/// <see cref="ulong.MaxValue"/> means 2^64 (so a region of exactly 2^64-1 bytes cannot be made that way). The
/// <see cref="UInt128"/> overloads take exact sizes, 0 .. 2^64; above 2^64 is rejected. A region with host memory
/// (RAM, ROM, ROM device, ram_device) must have at least one byte; a container, I/O, alias or IOMMU region of size 0
/// is allowed and renders nothing.</para>
/// <para><b>Transactions.</b> <see cref="BeginTransaction"/> / <see cref="CommitTransaction"/> nest (a depth counter).
/// At the outermost commit with an update pending: every address space is re-rendered from scratch;
/// <see cref="IMemoryListener.Begin"/> is called on all listeners; each address space, in creation order, diffs its
/// old and new view for its own listeners (all deletes, then nops and adds, each pass in ascending address);
/// <see cref="IMemoryListener.Commit"/> is called on all listeners.</para>
/// <para><b>Host memory.</b> Every RAM-backed region gets a host block <c>[HostAddress, HostAddress + size)</c>: the
/// caller's, or one picked first-fit above <see cref="HostPoolBase"/>, aligned to 2 MiB (1 GiB for blocks of 1 GiB
/// or more), that overlaps no block already handed out. Caller-given blocks may overlap each other (QEMU allows
/// two regions on the same host pointer); assigned blocks avoid them.</para>
/// <para>Not thread-safe: like QEMU's memory API it runs under one lock (the BQL), which is the caller's.</para>
/// </remarks>
public sealed class MemoryMap
{
    /// <summary>The lowest host virtual address the allocator hands out (a typical x86-64 mmap area).</summary>
    public const ulong HostPoolBase = 0x7f00_0000_0000;

    private const ulong HostAlignSmall = 2UL << 20;
    private const ulong HostAlignLarge = 1UL << 30;

    private readonly List<AddressSpace> _addressSpaces = [];
    private readonly List<IMemoryListener> _listeners = [];
    private readonly List<int> _listenerPriorities = [];
    private readonly List<IovaRange> _hostBlocks = []; // sorted by First; may overlap (caller-given blocks)
    private int _depth;
    private bool _updatePending;
    private bool _notifying;

    /// <summary>The address spaces, in creation order (the order updates are delivered in).</summary>
    public IReadOnlyList<AddressSpace> AddressSpaces => _addressSpaces;

    /// <summary>Every registered listener, ascending priority (registration order among equals).</summary>
    public IReadOnlyList<IMemoryListener> Listeners => _listeners;

    /// <summary>The current transaction nesting depth; 0 outside any transaction.</summary>
    public int TransactionDepth => _depth;

    /// <summary>True when a change waits for the outermost commit.</summary>
    public bool UpdatePending => _updatePending;

    /// <summary>The number of committed updates that re-rendered the address spaces (counts diffs, for tests).</summary>
    public int UpdateCount { get; private set; }

    /// <summary>Creates a pure container (<c>memory_region_init</c>); <see cref="ulong.MaxValue"/> means 2^64.</summary>
    public MemoryRegion CreateContainer(string name, ulong size) => CreateContainer(name, QemuSize(size));

    /// <summary>Creates a pure container of exactly <paramref name="size"/> bytes (0 .. 2^64).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> exceeds 2^64.</exception>
    public MemoryRegion CreateContainer(string name, UInt128 size) => Create(name, MemoryRegionKind.Container, size);

    /// <summary>Creates RAM (<c>memory_region_init_ram</c>); <see cref="ulong.MaxValue"/> means 2^64.</summary>
    /// <param name="name">The region name.</param>
    /// <param name="size">The size; <see cref="ulong.MaxValue"/> means 2^64.</param>
    /// <param name="hostAddress">The host virtual address of the first byte, or null to have one assigned.</param>
    public MemoryRegion CreateRam(string name, ulong size, ulong? hostAddress = null) =>
        CreateRam(name, QemuSize(size), hostAddress);

    /// <summary>Creates RAM of exactly <paramref name="size"/> bytes (1 .. 2^64).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is 0 or exceeds 2^64, or the host block would pass 2^64.</exception>
    public MemoryRegion CreateRam(string name, UInt128 size, ulong? hostAddress = null) =>
        Create(name, MemoryRegionKind.Ram, size, hostAddress);

    /// <summary>Creates ROM, RAM that starts read-only (<c>memory_region_init_rom</c>); <see cref="ulong.MaxValue"/> means 2^64.</summary>
    public MemoryRegion CreateRom(string name, ulong size, ulong? hostAddress = null) =>
        CreateRom(name, QemuSize(size), hostAddress);

    /// <summary>Creates ROM of exactly <paramref name="size"/> bytes (1 .. 2^64).</summary>
    public MemoryRegion CreateRom(string name, UInt128 size, ulong? hostAddress = null) =>
        Create(name, MemoryRegionKind.Rom, size, hostAddress);

    /// <summary>Creates a ram_device region (<c>memory_region_init_ram_device_ptr</c>); <see cref="ulong.MaxValue"/> means 2^64.</summary>
    public MemoryRegion CreateRamDevice(string name, ulong size, ulong? hostAddress = null) =>
        CreateRamDevice(name, QemuSize(size), hostAddress);

    /// <summary>Creates a ram_device region of exactly <paramref name="size"/> bytes (1 .. 2^64).</summary>
    public MemoryRegion CreateRamDevice(string name, UInt128 size, ulong? hostAddress = null) =>
        Create(name, MemoryRegionKind.RamDevice, size, hostAddress);

    /// <summary>Creates a ROM device (<c>memory_region_init_rom_device</c>), in romd mode; <see cref="ulong.MaxValue"/> means 2^64.</summary>
    public MemoryRegion CreateRomDevice(string name, ulong size, IMemoryRegionOps? ops = null, ulong? hostAddress = null) =>
        CreateRomDevice(name, QemuSize(size), ops, hostAddress);

    /// <summary>Creates a ROM device of exactly <paramref name="size"/> bytes (1 .. 2^64).</summary>
    public MemoryRegion CreateRomDevice(string name, UInt128 size, IMemoryRegionOps? ops = null, ulong? hostAddress = null) =>
        Create(name, MemoryRegionKind.RomDevice, size, hostAddress, ops: ops);

    /// <summary>Creates an MMIO / I/O region (<c>memory_region_init_io</c>); <see cref="ulong.MaxValue"/> means 2^64.</summary>
    /// <param name="name">The region name.</param>
    /// <param name="size">The size; <see cref="ulong.MaxValue"/> means 2^64.</param>
    /// <param name="ops">The callbacks; null makes a reservation region.</param>
    public MemoryRegion CreateIo(string name, ulong size, IMemoryRegionOps? ops) => CreateIo(name, QemuSize(size), ops);

    /// <summary>Creates an MMIO / I/O region of exactly <paramref name="size"/> bytes (0 .. 2^64).</summary>
    public MemoryRegion CreateIo(string name, UInt128 size, IMemoryRegionOps? ops) =>
        Create(name, MemoryRegionKind.Io, size, ops: ops);

    /// <summary>Creates a reservation region: I/O with no ops; <see cref="ulong.MaxValue"/> means 2^64.</summary>
    public MemoryRegion CreateReservation(string name, ulong size) => CreateIo(name, QemuSize(size), null);

    /// <summary>Creates a reservation region of exactly <paramref name="size"/> bytes (0 .. 2^64).</summary>
    public MemoryRegion CreateReservation(string name, UInt128 size) => CreateIo(name, size, null);

    /// <summary>
    /// Creates an alias (<c>memory_region_init_alias</c>): the window <c>[offset, offset + size)</c> of
    /// <paramref name="target"/>; <see cref="ulong.MaxValue"/> means 2^64. The window may pass the end of the target:
    /// only what exists renders.
    /// </summary>
    public MemoryRegion CreateAlias(string name, MemoryRegion target, ulong offset, ulong size) =>
        CreateAlias(name, target, offset, QemuSize(size));

    /// <summary>Creates an alias of exactly <paramref name="size"/> bytes (0 .. 2^64).</summary>
    /// <exception cref="ArgumentException"><paramref name="target"/> belongs to another map.</exception>
    public MemoryRegion CreateAlias(string name, MemoryRegion target, ulong offset, UInt128 size)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!ReferenceEquals(target.Map, this))
        {
            ThrowHelper.ThrowArgument(nameof(target), $"alias target '{target.Name}' belongs to another memory map");
        }

        return Create(name, MemoryRegionKind.Alias, size, aliasTarget: target, aliasOffset: offset);
    }

    /// <summary>
    /// Creates an IOMMU region (<c>memory_region_init_iommu</c>, usually sized <see cref="ulong.MaxValue"/>, which
    /// means 2^64).
    /// </summary>
    public MemoryRegion CreateIommu(string name, ulong size, IIommuRegionHandler? handler = null) =>
        CreateIommu(name, QemuSize(size), handler);

    /// <summary>Creates an IOMMU region of exactly <paramref name="size"/> bytes (0 .. 2^64).</summary>
    public MemoryRegion CreateIommu(string name, UInt128 size, IIommuRegionHandler? handler = null)
    {
        MemoryRegion mr = Create(name, MemoryRegionKind.Iommu, size);
        mr.IommuHandler = handler;
        return mr;
    }

    /// <summary>
    /// Creates an address space over <paramref name="root"/> (<c>address_space_init</c>) and renders its view at
    /// once. It is appended to <see cref="AddressSpaces"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="root"/> belongs to another map.</exception>
    public AddressSpace CreateAddressSpace(string name, MemoryRegion root)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(root);
        if (!ReferenceEquals(root.Map, this))
        {
            ThrowHelper.ThrowArgument(nameof(root), $"root '{root.Name}' belongs to another memory map");
        }

        var space = new AddressSpace(this, name, root, FlatViewRenderer.Render(root));
        _addressSpaces.Add(space);
        return space;
    }

    /// <summary>
    /// Removes <paramref name="space"/> from the map (<c>address_space_destroy</c>). Its listeners must have been
    /// unregistered first, so that they saw every range go away.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="space"/> is not an address space of this map.</exception>
    /// <exception cref="InvalidOperationException">Listeners are still registered on it, or called from a listener callback.</exception>
    public void DestroyAddressSpace(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        if (!_addressSpaces.Contains(space))
        {
            ThrowHelper.ThrowArgument(nameof(space), $"address space '{space.Name}' is not part of this memory map");
        }

        if (space.Listeners.Count > 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"address space '{space.Name}' still has {space.Listeners.Count} listener(s); unregister them first");
        }

        if (_notifying)
        {
            ThrowHelper.ThrowInvalidOperation("address spaces cannot be destroyed from inside a listener callback");
        }

        _addressSpaces.Remove(space);
    }

    /// <summary>Opens a (possibly nested) transaction (<c>memory_region_transaction_begin</c>).</summary>
    /// <exception cref="InvalidOperationException">Called from a listener callback during a commit.</exception>
    public void BeginTransaction()
    {
        if (_notifying)
        {
            ThrowHelper.ThrowInvalidOperation("the memory map cannot be changed from inside a listener callback");
        }

        _depth++;
    }

    /// <summary>
    /// Closes a transaction (<c>memory_region_transaction_commit</c>). At the outermost level with an update pending,
    /// re-renders every address space and notifies the listeners (see the remarks on <see cref="MemoryMap"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No transaction is open.</exception>
    public void CommitTransaction()
    {
        if (_depth == 0)
        {
            ThrowHelper.ThrowInvalidOperation("commit without a matching begin: no memory transaction is open");
        }

        _depth--;
        if (_depth > 0 || !_updatePending)
        {
            return;
        }

        _updatePending = false;
        UpdateCount++;
        var views = new FlatView[_addressSpaces.Count];
        for (int i = 0; i < views.Length; i++)
        {
            views[i] = FlatViewRenderer.Render(_addressSpaces[i].Root);
        }

        _notifying = true;
        try
        {
            foreach (IMemoryListener listener in _listeners.ToArray())
            {
                listener.Begin();
            }

            for (int i = 0; i < views.Length; i++)
            {
                AddressSpace space = _addressSpaces[i];
                FlatView old = space.FlatView;
                space.FlatView = views[i];
                if (space.Listeners.Count > 0)
                {
                    IMemoryListener[] listeners = [.. space.Listeners];
                    UpdateTopologyPass(listeners, old, views[i], adding: false);
                    UpdateTopologyPass(listeners, old, views[i], adding: true);
                }
            }

            foreach (IMemoryListener listener in _listeners.ToArray())
            {
                listener.Commit();
            }
        }
        finally
        {
            _notifying = false;
        }
    }

    /// <summary>Opens a transaction that the returned scope commits when disposed (once).</summary>
    public MemoryTransaction Transaction()
    {
        BeginTransaction();
        return new MemoryTransaction(this);
    }

    internal void MarkUpdatePending(bool pending) => _updatePending |= pending;

    internal void RegisterListener(AddressSpace space, IMemoryListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (_listeners.Contains(listener))
        {
            ThrowHelper.ThrowArgument(nameof(listener), "the listener is already registered on an address space of this map");
        }

        if (_notifying)
        {
            ThrowHelper.ThrowInvalidOperation("listeners cannot be registered from inside a listener callback");
        }

        if (!_addressSpaces.Contains(space))
        {
            ThrowHelper.ThrowInvalidOperation($"address space '{space.Name}' was destroyed");
        }

        int priority = listener.Priority;
        int i = 0;
        while (i < _listenerPriorities.Count && _listenerPriorities[i] <= priority)
        {
            i++;
        }

        _listeners.Insert(i, listener);
        _listenerPriorities.Insert(i, priority);
        space.InsertListener(listener, priority);

        _notifying = true;
        try
        {
            listener.Begin();
            foreach (FlatRange range in space.FlatView.Ranges)
            {
                listener.RegionAdd(range.ToSection());
            }

            listener.Commit();
        }
        finally
        {
            _notifying = false;
        }
    }

    internal void UnregisterListener(AddressSpace space, IMemoryListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (!space.HasListener(listener))
        {
            ThrowHelper.ThrowArgument(nameof(listener), $"the listener is not registered on address space '{space.Name}'");
        }

        if (_notifying)
        {
            ThrowHelper.ThrowInvalidOperation("listeners cannot be unregistered from inside a listener callback");
        }

        _notifying = true;
        try
        {
            listener.Begin();
            foreach (FlatRange range in space.FlatView.Ranges)
            {
                listener.RegionDel(range.ToSection());
            }

            listener.Commit();
        }
        finally
        {
            _notifying = false;
            int i = _listeners.IndexOf(listener);
            _listeners.RemoveAt(i);
            _listenerPriorities.RemoveAt(i);
            space.RemoveListener(listener);
        }
    }

    /// <summary>QEMU's "UINT64_MAX means 2^64" rule for sizes given as 64-bit values.</summary>
    internal static UInt128 QemuSize(ulong size) => size == ulong.MaxValue ? IovaRange.SpaceSize : size;

    internal static void ValidateSize(MemoryRegionKind kind, UInt128 size, string paramName)
    {
        if (size > IovaRange.SpaceSize)
        {
            ThrowHelper.ThrowArgumentOutOfRange(paramName, $"size {ThrowHelper.Hex(size)} exceeds 2^64");
        }

        if (size == 0 && kind is MemoryRegionKind.Ram or MemoryRegionKind.Rom or MemoryRegionKind.RamDevice or MemoryRegionKind.RomDevice)
        {
            ThrowHelper.ThrowArgumentOutOfRange(paramName, $"size is 0: a {kind} region needs at least one byte of host memory");
        }
    }

    /// <summary>
    /// One pass of the diff of an address space (QEMU's <c>address_space_update_topology_pass</c>): both views are
    /// sorted, so a merge walk finds ranges only in the old view (deleted in pass 1), in both (nop in pass 2) and only
    /// in the new view (added in pass 2).
    /// </summary>
    private static void UpdateTopologyPass(IMemoryListener[] listeners, FlatView oldView, FlatView newView, bool adding)
    {
        IReadOnlyList<FlatRange> oldRanges = oldView.Ranges;
        IReadOnlyList<FlatRange> newRanges = newView.Ranges;
        int iold = 0, inew = 0;
        while (iold < oldRanges.Count || inew < newRanges.Count)
        {
            bool hasOld = iold < oldRanges.Count;
            bool hasNew = inew < newRanges.Count;
            FlatRange frold = hasOld ? oldRanges[iold] : default;
            FlatRange frnew = hasNew ? newRanges[inew] : default;

            if (hasOld && (!hasNew || frold.Range.First < frnew.Range.First
                || (frold.Range.First == frnew.Range.First && frold != frnew)))
            {
                // In the old view only: deleted, listeners in reverse priority order.
                if (!adding)
                {
                    MemoryRegionSection section = frold.ToSection();
                    for (int l = listeners.Length - 1; l >= 0; l--)
                    {
                        listeners[l].RegionDel(section);
                    }
                }

                iold++;
            }
            else if (hasOld && hasNew && frold == frnew)
            {
                // In both: unchanged.
                if (adding)
                {
                    MemoryRegionSection section = frnew.ToSection();
                    foreach (IMemoryListener listener in listeners)
                    {
                        listener.RegionNop(section);
                    }
                }

                iold++;
                inew++;
            }
            else
            {
                // In the new view only: added.
                if (adding)
                {
                    MemoryRegionSection section = frnew.ToSection();
                    foreach (IMemoryListener listener in listeners)
                    {
                        listener.RegionAdd(section);
                    }
                }

                inew++;
            }
        }
    }

    private MemoryRegion Create(string name, MemoryRegionKind kind, UInt128 size, ulong? hostAddress = null,
        MemoryRegion? aliasTarget = null, ulong aliasOffset = 0, IMemoryRegionOps? ops = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ValidateSize(kind, size, nameof(size));
        IovaRange hostRange = default;
        if (kind is MemoryRegionKind.Ram or MemoryRegionKind.Rom or MemoryRegionKind.RamDevice or MemoryRegionKind.RomDevice)
        {
            hostRange = hostAddress is { } given ? ValidateHostBlock(given, size) : AllocateHostBlock(size);
            InsertHostBlock(hostRange);
        }
        else if (hostAddress is not null)
        {
            ThrowHelper.ThrowArgument(nameof(hostAddress), $"a {kind} region has no host memory");
        }

        return new MemoryRegion(this, name, kind, size, hostRange, aliasTarget, aliasOffset, ops);
    }

    private static IovaRange ValidateHostBlock(ulong hostAddress, UInt128 size)
    {
        if (!IovaRange.TryFromStartSize(hostAddress, size, out IovaRange block))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(hostAddress),
                $"host block at {ThrowHelper.Hex(hostAddress)} of size {ThrowHelper.Hex(size)} passes 2^64");
        }

        return block;
    }

    private IovaRange AllocateHostBlock(UInt128 size)
    {
        ulong align = size >= HostAlignLarge ? HostAlignLarge : HostAlignSmall;
        UInt128 candidate = HostPoolBase;
        // candidate <= 2^64 + align and size <= 2^64: every sum below fits 128 bits.
        foreach (IovaRange used in _hostBlocks)
        {
            // Blocks are sorted by First; the candidate fits below this one or moves past its end.
            if (candidate + size <= used.First)
            {
                break;
            }

            if (used.End > candidate)
            {
                // Round up in 128 bits: End <= 2^64, so End + align - 1 cannot overflow there.
                candidate = (used.End + align - 1) & ~(UInt128)(align - 1);
            }
        }

        if (candidate + size > IovaRange.SpaceSize)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(size),
                $"no free host block of size {ThrowHelper.Hex(size)} above {ThrowHelper.Hex(HostPoolBase)}");
        }

        // candidate + size <= 2^64, so candidate < 2^64 and the range exists.
        return IovaRange.FromStartSize((ulong)candidate, size);
    }

    private void InsertHostBlock(IovaRange block)
    {
        int i = 0;
        while (i < _hostBlocks.Count && _hostBlocks[i].First <= block.First)
        {
            i++;
        }

        _hostBlocks.Insert(i, block);
    }
}
