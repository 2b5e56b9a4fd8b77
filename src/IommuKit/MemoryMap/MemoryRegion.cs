using System.Text;
using IommuKit.Addressing;

namespace IommuKit.MemoryMap;

/// <summary>
/// A region of a QEMU-style memory map (QEMU's <c>MemoryRegion</c>): RAM, ROM, ROM device, I/O, container, alias,
/// IOMMU or ram_device, placed at <see cref="Address"/> inside its <see cref="Container"/> with a signed
/// <see cref="Priority"/>. Created by the factories of <see cref="MemoryMap"/>.
/// </summary>
/// <remarks>
/// <para>Invariants: <see cref="Size"/> is at most 2^64 (a region may be exactly 2^64 bytes; one of 2^64-1 bytes
/// cannot be made through the <see cref="ulong"/> API, as in QEMU). <see cref="Subregions"/> are kept in rendering
/// order: descending priority, and among equal priorities the most recently added first. The graph of
/// container → subregion and alias → target edges has no cycle; every call that would create one throws and changes
/// nothing.</para>
/// <para>Every setter runs inside a transaction of the map and marks an update pending only when something changed,
/// so listeners hear about it at the outermost <see cref="MemoryMap.CommitTransaction"/>.</para>
/// </remarks>
public sealed class MemoryRegion
{
    private readonly List<MemoryRegion> _subregions = [];
    private IIommuRegionHandler? _iommuHandler;
    private readonly IovaRange _hostRange;

    internal MemoryRegion(MemoryMap map, string name, MemoryRegionKind kind, UInt128 size, IovaRange hostRange = default,
        MemoryRegion? aliasTarget = null, ulong aliasOffset = 0, IMemoryRegionOps? ops = null)
    {
        Map = map;
        Name = name;
        Kind = kind;
        Size = size;
        _hostRange = hostRange;
        AliasTarget = aliasTarget;
        AliasOffset = aliasOffset;
        Ops = ops;
        ReadOnly = kind == MemoryRegionKind.Rom;
    }

    /// <summary>The map the region belongs to; it may only be combined with regions of the same map.</summary>
    public MemoryMap Map { get; }

    /// <summary>The region's name (not required to be unique; shown by <see cref="MemoryTree"/>).</summary>
    public string Name { get; }

    /// <summary>The constructor kind.</summary>
    public MemoryRegionKind Kind { get; }

    /// <summary>The exact size in bytes, 0 .. 2^64.</summary>
    public UInt128 Size { get; private set; }

    /// <summary>
    /// The size as QEMU's <c>memory_region_size()</c> returns it: <see cref="ulong.MaxValue"/> for a 2^64 region
    /// (so the value round-trips through <see cref="SetSize(ulong)"/> and the factories).
    /// </summary>
    public ulong SizeAsUInt64 => Size >= IovaRange.SpaceSize ? ulong.MaxValue : (ulong)Size;

    /// <summary>The offset of the region inside its container (QEMU's <c>mr-&gt;addr</c>).</summary>
    public ulong Address { get; private set; }

    /// <summary>The priority among the siblings of its container; higher wins. 0 unless added with an explicit one.</summary>
    public int Priority { get; private set; }

    /// <summary>Whether the region (and everything below it) takes part in rendering.</summary>
    public bool Enabled { get; private set; } = true;

    /// <summary>The region this one is a subregion of, or null.</summary>
    public MemoryRegion? Container { get; private set; }

    /// <summary>The subregions in rendering order: descending priority, most recently added first among equals.</summary>
    public IReadOnlyList<MemoryRegion> Subregions => _subregions;

    /// <summary>The target of an alias, null for every other kind.</summary>
    public MemoryRegion? AliasTarget { get; }

    /// <summary>The offset inside <see cref="AliasTarget"/> where the alias window starts.</summary>
    public ulong AliasOffset { get; private set; }

    /// <summary>The region's own read-only flag (true from creation for ROM). Sections inherit it downward.</summary>
    public bool ReadOnly { get; private set; }

    /// <summary>The region's own non-volatile flag. Sections inherit it downward.</summary>
    public bool NonVolatile { get; private set; }

    /// <summary>ROM device mode: true (the default, for every region) means reads go straight to the backing memory.</summary>
    public bool RomdMode { get; private set; } = true;

    /// <summary>The MMIO callbacks of an I/O or ROM device region; null for a reservation region and every other kind.</summary>
    public IMemoryRegionOps? Ops { get; }

    /// <summary>True for RAM, ROM and ram_device: host memory that VFIO may DMA-map (QEMU's <c>memory_region_is_ram</c>).</summary>
    public bool IsRam => Kind is MemoryRegionKind.Ram or MemoryRegionKind.Rom or MemoryRegionKind.RamDevice;

    /// <summary>RAM that is read-only (QEMU's <c>memory_region_is_rom</c>: <c>ram &amp;&amp; readonly</c>).</summary>
    public bool IsRom => IsRam && ReadOnly;

    /// <summary>True for a ROM device.</summary>
    public bool IsRomDevice => Kind == MemoryRegionKind.RomDevice;

    /// <summary>A ROM device in romd mode (QEMU's <c>memory_region_is_romd</c>).</summary>
    public bool IsRomd => IsRomDevice && RomdMode;

    /// <summary>True for a ram_device region (a device BAR mapped as RAM).</summary>
    public bool IsRamDevice => Kind == MemoryRegionKind.RamDevice;

    /// <summary>True for an IOMMU region.</summary>
    public bool IsIommu => Kind == MemoryRegionKind.Iommu;

    /// <summary>True for an alias.</summary>
    public bool IsAlias => Kind == MemoryRegionKind.Alias;

    /// <summary>True for an I/O region with no ops: it claims addresses and answers nothing.</summary>
    public bool IsReservation => Kind == MemoryRegionKind.Io && Ops is null;

    /// <summary>
    /// True when the region has backing of its own and so ends the visibility search (QEMU's <c>terminates</c>):
    /// every kind but <see cref="MemoryRegionKind.Container"/> and <see cref="MemoryRegionKind.Alias"/>.
    /// </summary>
    public bool Terminates => Kind is not (MemoryRegionKind.Container or MemoryRegionKind.Alias);

    /// <summary>True when the region has host memory (RAM, ROM, ROM device, ram_device).</summary>
    public bool HasHostMemory => IsRam || IsRomDevice;

    /// <summary>
    /// The host virtual address of the region's first byte (QEMU's <c>memory_region_get_ram_ptr</c>): the
    /// <c>vaddr</c> the VFIO listener DMA-maps. Given at creation or assigned by the map so that no two assigned
    /// blocks overlap.
    /// </summary>
    /// <exception cref="InvalidOperationException">The region has no host memory (<see cref="HasHostMemory"/> is false).</exception>
    public ulong HostAddress => HostRange.First;

    /// <summary>The host virtual addresses of the region's memory block, sized at creation.</summary>
    /// <exception cref="InvalidOperationException">The region has no host memory.</exception>
    public IovaRange HostRange => HasHostMemory
        ? _hostRange
        : ThrowHelper.ThrowInvalidOperation<IovaRange>($"region '{Name}' ({Kind}) has no host memory");

    /// <summary>The guest vIOMMU behind an IOMMU region (null until one is attached).</summary>
    /// <exception cref="InvalidOperationException">Set on a region that is not an IOMMU region.</exception>
    public IIommuRegionHandler? IommuHandler
    {
        get => _iommuHandler;
        set
        {
            if (!IsIommu)
            {
                ThrowHelper.ThrowInvalidOperation($"region '{Name}' ({Kind}) is not an IOMMU region");
            }

            _iommuHandler = value;
        }
    }

    /// <summary>Adds <paramref name="subregion"/> at <paramref name="offset"/> with priority 0 (<c>memory_region_add_subregion</c>).</summary>
    /// <exception cref="ArgumentException">See <see cref="AddSubregionOverlap"/>.</exception>
    public void AddSubregion(ulong offset, MemoryRegion subregion) => AddSubregionOverlap(offset, subregion, 0);

    /// <summary>
    /// Adds <paramref name="subregion"/> at <paramref name="offset"/> with <paramref name="priority"/>
    /// (<c>memory_region_add_subregion_overlap</c>). It goes before the first sibling whose priority is less than or
    /// equal to its own, so among equal priorities the most recently added wins.
    /// </summary>
    /// <remarks>Marks an update pending when both regions are enabled.</remarks>
    /// <exception cref="ArgumentException">The subregion belongs to another map, already has a container, is this
    /// region, contains this region, or reaches it through an alias (a cycle); or this region is an alias.</exception>
    public void AddSubregionOverlap(ulong offset, MemoryRegion subregion, int priority)
    {
        ArgumentNullException.ThrowIfNull(subregion);
        ValidateNewSubregion(subregion);
        Map.BeginTransaction();
        try
        {
            subregion.Address = offset;
            subregion.Priority = priority;
            InsertSubregion(subregion);
            Map.MarkUpdatePending(Enabled && subregion.Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>Removes <paramref name="subregion"/> from this region (<c>memory_region_del_subregion</c>).</summary>
    /// <remarks>Marks an update pending when both regions are enabled.</remarks>
    /// <exception cref="ArgumentException"><paramref name="subregion"/> is not a subregion of this region.</exception>
    public void RemoveSubregion(MemoryRegion subregion)
    {
        ArgumentNullException.ThrowIfNull(subregion);
        if (!ReferenceEquals(subregion.Container, this))
        {
            ThrowHelper.ThrowArgument(nameof(subregion), $"region '{subregion.Name}' is not a subregion of '{Name}'");
        }

        Map.BeginTransaction();
        try
        {
            _subregions.Remove(subregion);
            subregion.Container = null;
            Map.MarkUpdatePending(Enabled && subregion.Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>Enables or disables the region (<c>memory_region_set_enabled</c>); nothing happens when unchanged.</summary>
    public void SetEnabled(bool enabled)
    {
        if (enabled == Enabled)
        {
            return;
        }

        Map.BeginTransaction();
        try
        {
            Enabled = enabled;
            Map.MarkUpdatePending(true);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>
    /// Sets the size (<c>memory_region_set_size</c>), <see cref="ulong.MaxValue"/> meaning 2^64 as in QEMU;
    /// nothing happens when unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">See <see cref="SetSize(UInt128)"/>.</exception>
    public void SetSize(ulong size) => SetSize(MemoryMap.QemuSize(size));

    /// <summary>Sets the exact size, 0 .. 2^64; nothing happens when unchanged.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is above 2^64, is 0 for a region with host memory, or
    /// is larger than the host memory block allocated at creation.</exception>
    public void SetSize(UInt128 size)
    {
        MemoryMap.ValidateSize(Kind, size, nameof(size));
        if (HasHostMemory && size > _hostRange.Size)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(size),
                $"size {ThrowHelper.Hex(size)} of '{Name}' exceeds its host memory block of {ThrowHelper.Hex(_hostRange.Size)} bytes");
        }

        if (size == Size)
        {
            return;
        }

        Map.BeginTransaction();
        try
        {
            Size = size;
            Map.MarkUpdatePending(true);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>
    /// Moves the region inside its container (<c>memory_region_set_address</c>). Without a container, or when
    /// unchanged, only the field is set and nothing is pending. Otherwise the region is removed and added again at
    /// its priority, so it becomes the most recently added among its equal-priority siblings.
    /// </summary>
    public void SetAddress(ulong address)
    {
        if (address == Address || Container is null)
        {
            Address = address;
            return;
        }

        Readd(address, Priority);
    }

    /// <summary>
    /// Changes the priority inside the container (an IommuKit extension: QEMU has no setter; this does what a
    /// del + add_subregion_overlap would). Nothing happens when unchanged or without a container (then only the
    /// field is set).
    /// </summary>
    public void SetPriority(int priority)
    {
        if (priority == Priority || Container is null)
        {
            Priority = priority;
            return;
        }

        Readd(Address, priority);
    }

    /// <summary>Sets the offset of an alias window in its target (<c>memory_region_set_alias_offset</c>).</summary>
    /// <exception cref="InvalidOperationException">The region is not an alias.</exception>
    public void SetAliasOffset(ulong offset)
    {
        if (!IsAlias)
        {
            ThrowHelper.ThrowInvalidOperation($"region '{Name}' ({Kind}) is not an alias");
        }

        if (offset == AliasOffset)
        {
            return;
        }

        Map.BeginTransaction();
        try
        {
            AliasOffset = offset;
            Map.MarkUpdatePending(Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>Sets the region's own read-only flag (<c>memory_region_set_readonly</c>).</summary>
    public void SetReadOnly(bool readOnly)
    {
        if (readOnly == ReadOnly)
        {
            return;
        }

        Map.BeginTransaction();
        try
        {
            ReadOnly = readOnly;
            Map.MarkUpdatePending(Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>Sets the region's own non-volatile flag (<c>memory_region_set_nonvolatile</c>).</summary>
    public void SetNonVolatile(bool nonVolatile)
    {
        if (nonVolatile == NonVolatile)
        {
            return;
        }

        Map.BeginTransaction();
        try
        {
            NonVolatile = nonVolatile;
            Map.MarkUpdatePending(Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>Switches a ROM device between romd mode and MMIO mode (<c>memory_region_rom_device_set_romd</c>).</summary>
    /// <exception cref="InvalidOperationException">The region is not a ROM device.</exception>
    public void SetRomdMode(bool romdMode)
    {
        if (!IsRomDevice)
        {
            ThrowHelper.ThrowInvalidOperation($"region '{Name}' ({Kind}) is not a ROM device");
        }

        if (romdMode == RomdMode)
        {
            return;
        }

        Map.BeginTransaction();
        try
        {
            RomdMode = romdMode;
            Map.MarkUpdatePending(Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    /// <summary>Returns the name.</summary>
    public override string ToString() => Name;

    private void Readd(ulong address, int priority)
    {
        MemoryRegion container = Container!;
        Map.BeginTransaction();
        try
        {
            container._subregions.Remove(this);
            Address = address;
            Priority = priority;
            container.InsertSubregion(this);
            Map.MarkUpdatePending(container.Enabled && Enabled);
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    private void InsertSubregion(MemoryRegion subregion)
    {
        // Before the first sibling whose priority is <= the new one: equal priorities put the newest first.
        int i = 0;
        while (i < _subregions.Count && _subregions[i].Priority > subregion.Priority)
        {
            i++;
        }

        _subregions.Insert(i, subregion);
        subregion.Container = this;
    }

    private void ValidateNewSubregion(MemoryRegion subregion)
    {
        if (!ReferenceEquals(subregion.Map, Map))
        {
            ThrowHelper.ThrowArgument(nameof(subregion), $"region '{subregion.Name}' belongs to another memory map");
        }

        if (IsAlias)
        {
            ThrowHelper.ThrowArgument(nameof(subregion),
                $"cannot add '{subregion.Name}' under alias '{Name}': an alias cannot have subregions");
        }

        if (ReferenceEquals(subregion, this))
        {
            ThrowHelper.ThrowArgument(nameof(subregion), $"cannot add region '{Name}' under itself: that is a cycle");
        }

        if (subregion.Container is not null)
        {
            ThrowHelper.ThrowArgument(nameof(subregion),
                $"region '{subregion.Name}' already has a container '{subregion.Container.Name}'; remove it from there first");
        }

        // The new edge this -> subregion closes a cycle exactly when this region is reachable from the subregion
        // through subregion and alias-target edges.
        List<string>? path = FindPath(subregion, this, []);
        if (path is not null)
        {
            var sb = new StringBuilder();
            sb.Append('\'').Append(Name).Append("' contains '").Append(subregion.Name).Append('\'');
            foreach (string step in path)
            {
                sb.Append(step);
            }

            ThrowHelper.ThrowArgument(nameof(subregion),
                $"cannot add '{subregion.Name}' under '{Name}': that would create a cycle {sb}");
        }
    }

    /// <summary>A path of " contains 'x'" / " aliases 'x'" steps from <paramref name="from"/> to <paramref name="to"/>, or null.</summary>
    private static List<string>? FindPath(MemoryRegion from, MemoryRegion to, HashSet<MemoryRegion> visited)
    {
        // Depth-first; the region graph is acyclic (the invariant this check keeps), visited only prunes diamonds.
        if (!visited.Add(from))
        {
            return null;
        }

        if (ReferenceEquals(from, to))
        {
            return [];
        }

        foreach (MemoryRegion child in from._subregions)
        {
            List<string>? rest = FindPath(child, to, visited);
            if (rest is not null)
            {
                rest.Insert(0, $" contains '{child.Name}'");
                return rest;
            }
        }

        if (from.AliasTarget is { } target)
        {
            List<string>? rest = FindPath(target, to, visited);
            if (rest is not null)
            {
                rest.Insert(0, $" aliases '{target.Name}'");
                return rest;
            }
        }

        return null;
    }
}
