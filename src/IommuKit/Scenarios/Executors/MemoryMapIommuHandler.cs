using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Scenarios.Executors;

/// <summary>
/// A minimal in-memory guest IOMMU for an <c>iommu</c> region of a scenario or a listener test: a list of
/// translations, a notifier list, and a replay that sends every translation in a notifier's range. It stands in for a
/// real vIOMMU (<c>Guest/</c>) where only the listener side is under test.
/// </summary>
public sealed class MemoryMapIommuHandler : IIommuRegionHandler
{
    private readonly List<IommuTlbEntry> _entries = [];

    /// <summary>The notifiers registered (QEMU's per-region list).</summary>
    public IommuNotifierList NotifierList { get; } = new();

    /// <summary>The translations, in insertion order.</summary>
    public IReadOnlyList<IommuTlbEntry> Entries => _entries;

    /// <summary>Adds a translation and sends MAP to every notifier (caching-mode behaviour).</summary>
    public void Map(IommuTlbEntry entry)
    {
        _entries.Add(entry);
        NotifierList.Notify(new IommuTlbEvent(IommuNotifierFlags.Map, entry));
    }

    /// <summary>
    /// Removes the translations inside <c>[iova, iova + addrMask]</c> and sends one UNMAP of that range;
    /// <paramref name="addrMask"/> = <see cref="ulong.MaxValue"/> with iova 0 is the whole 2^64 space.
    /// </summary>
    public void Unmap(ulong iova, ulong addrMask)
    {
        var unmap = new IommuTlbEntry(iova, 0, addrMask, Permissions.None);
        _entries.RemoveAll(e => e.Iova >= unmap.Iova && e.Last <= unmap.Last);
        NotifierList.Notify(new IommuTlbEvent(IommuNotifierFlags.Unmap, unmap));
    }

    /// <inheritdoc />
    public IommuTlbEntry Translate(ulong address, Permissions access, int iommuIndex)
    {
        foreach (IommuTlbEntry e in _entries)
        {
            if (address >= e.Iova && address <= e.Last)
            {
                return e;
            }
        }

        return new IommuTlbEntry(address & ~0xfffUL, 0, 0xfff, Permissions.None);
    }

    /// <inheritdoc />
    public IommuRegistrationResult RegisterNotifier(IommuNotifier notifier) => NotifierList.Register(notifier);

    /// <inheritdoc />
    public bool UnregisterNotifier(IommuNotifier notifier) => NotifierList.Unregister(notifier);

    /// <inheritdoc />
    public void Replay(IommuNotifier notifier)
    {
        foreach (IommuTlbEntry e in _entries.ToArray())
        {
            IommuNotifierList.NotifyOne(notifier, new IommuTlbEvent(IommuNotifierFlags.Map, e));
        }
    }
}
