namespace IommuKit.MemoryMap;

/// <summary>
/// An address space (QEMU's <c>AddressSpace</c>): a root region, the flat view currently rendered from it, and the
/// listeners registered on it. Created by <see cref="MemoryMap.CreateAddressSpace"/>.
/// </summary>
/// <remarks>Invariant: <see cref="FlatView"/> is the rendering of <see cref="Root"/> as of the last committed update
/// (or of creation); changes inside an open transaction are not visible until the outermost commit.</remarks>
public sealed class AddressSpace
{
    private readonly List<IMemoryListener> _listeners = [];
    private readonly List<int> _priorities = [];

    internal AddressSpace(MemoryMap map, string name, MemoryRegion root, FlatView view)
    {
        Map = map;
        Name = name;
        Root = root;
        FlatView = view;
    }

    /// <summary>The map the address space belongs to.</summary>
    public MemoryMap Map { get; }

    /// <summary>The name (QEMU's <c>as-&gt;name</c>, e.g. <c>memory</c>).</summary>
    public string Name { get; }

    /// <summary>The root region.</summary>
    public MemoryRegion Root { get; }

    /// <summary>The current flat view.</summary>
    public FlatView FlatView { get; internal set; }

    /// <summary>The listeners registered on this address space, ascending priority (registration order among equals).</summary>
    public IReadOnlyList<IMemoryListener> Listeners => _listeners;

    /// <summary>
    /// Registers <paramref name="listener"/> (<c>memory_listener_register</c>) and replays the current view to it
    /// alone: <see cref="IMemoryListener.Begin"/>, <see cref="IMemoryListener.RegionAdd"/> for each range ascending,
    /// <see cref="IMemoryListener.Commit"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The listener is already registered on an address space of this map.</exception>
    /// <exception cref="InvalidOperationException">Called from inside a listener callback.</exception>
    public void RegisterListener(IMemoryListener listener) => Map.RegisterListener(this, listener);

    /// <summary>
    /// Unregisters <paramref name="listener"/> (<c>memory_listener_unregister</c>) after tearing the view down for it
    /// alone: <see cref="IMemoryListener.Begin"/>, <see cref="IMemoryListener.RegionDel"/> for each range ascending,
    /// <see cref="IMemoryListener.Commit"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The listener is not registered on this address space.</exception>
    /// <exception cref="InvalidOperationException">Called from inside a listener callback.</exception>
    public void UnregisterListener(IMemoryListener listener) => Map.UnregisterListener(this, listener);

    /// <summary>Returns the name.</summary>
    public override string ToString() => Name;

    internal bool HasListener(IMemoryListener listener) => _listeners.Contains(listener);

    internal void InsertListener(IMemoryListener listener, int priority)
    {
        // After every listener of lower or equal priority: equal priorities keep registration order.
        int i = 0;
        while (i < _priorities.Count && _priorities[i] <= priority)
        {
            i++;
        }

        _listeners.Insert(i, listener);
        _priorities.Insert(i, priority);
    }

    internal void RemoveListener(IMemoryListener listener)
    {
        int i = _listeners.IndexOf(listener);
        _listeners.RemoveAt(i);
        _priorities.RemoveAt(i);
    }
}
