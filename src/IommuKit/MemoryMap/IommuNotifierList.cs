using IommuKit.PageTables;

namespace IommuKit.MemoryMap;

/// <summary>
/// The notifier list of one IOMMU region and QEMU's delivery rules (<c>system/memory.c</c>,
/// <c>memory_region_register_iommu_notifier</c> / <c>memory_region_notify_iommu_one</c>).
/// </summary>
/// <remarks>
/// <para>Register: checks flags (not None), <c>Start &lt;= End</c> and the index (caller mistakes, thrown as QEMU
/// asserts); inserts at the <b>head</b>; recomputes the OR of every notifier's flags and calls the flag-changed hook
/// with (old, new). When the hook refuses, the notifier is removed again and the refusal returned: nothing changed.
/// Unregister: remove, recompute, call the hook (which must accept a shrinking set).</para>
/// <para>Delivery of an event to one notifier: an UNMAP must carry <see cref="Permissions.None"/>; the event is
/// skipped when <c>[iova, iova + mask]</c> misses <c>[Start, End]</c>; otherwise cropped to it (the 2025 rule: every
/// notifier, not only DEVIOTLB ones); delivered only when its type is in the notifier's flags.</para>
/// </remarks>
public sealed class IommuNotifierList
{
    private readonly List<IommuNotifier> _notifiers = [];
    private readonly Func<IommuNotifierFlags, IommuNotifierFlags, IommuRegistrationResult>? _flagChanged;
    private readonly int _indexCount;

    /// <summary>Creates an empty list.</summary>
    /// <param name="flagChanged">The vIOMMU's <c>notify_flag_changed</c> hook (old, new); null accepts everything.</param>
    /// <param name="indexCount">The number of IOMMU indexes (QEMU's <c>num_indexes</c>); 1 by default.</param>
    public IommuNotifierList(Func<IommuNotifierFlags, IommuNotifierFlags, IommuRegistrationResult>? flagChanged = null, int indexCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(indexCount, 1);
        _flagChanged = flagChanged;
        _indexCount = indexCount;
    }

    /// <summary>The registered notifiers, most recently registered first (QEMU inserts at the head).</summary>
    public IReadOnlyList<IommuNotifier> Notifiers => _notifiers;

    /// <summary>The OR of every registered notifier's flags.</summary>
    public IommuNotifierFlags Flags { get; private set; }

    /// <summary>True when some notifier wants MAP events.</summary>
    public bool HasMapNotifier => (Flags & IommuNotifierFlags.Map) != 0;

    /// <summary>Registers <paramref name="notifier"/>; see the remarks for the order of checks.</summary>
    /// <exception cref="ArgumentException">Flags are None, <c>Start &gt; End</c>, the index is out of range, or the
    /// notifier is already registered here.</exception>
    public IommuRegistrationResult Register(IommuNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        if (notifier.Flags == IommuNotifierFlags.None)
        {
            ThrowHelper.ThrowArgument(nameof(notifier), "an IOMMU notifier needs at least one of MAP, UNMAP, DEVIOTLB_UNMAP");
        }

        if (notifier.Start > notifier.End)
        {
            ThrowHelper.ThrowArgument(nameof(notifier),
                $"IOMMU notifier start {ThrowHelper.Hex(notifier.Start)} is above its end {ThrowHelper.Hex(notifier.End)}");
        }

        if (notifier.IommuIndex < 0 || notifier.IommuIndex >= _indexCount)
        {
            ThrowHelper.ThrowArgument(nameof(notifier), $"IOMMU index {notifier.IommuIndex} is not below {_indexCount}");
        }

        if (_notifiers.Contains(notifier))
        {
            ThrowHelper.ThrowArgument(nameof(notifier), $"notifier {notifier} is already registered");
        }

        _notifiers.Insert(0, notifier);
        IommuRegistrationResult result = Recompute();
        if (!result.IsOk)
        {
            _notifiers.RemoveAt(0);
            Flags = Or();
        }

        return result;
    }

    /// <summary>Unregisters <paramref name="notifier"/>; false when it was not registered here.</summary>
    public bool Unregister(IommuNotifier notifier)
    {
        if (!_notifiers.Remove(notifier))
        {
            return false;
        }

        Recompute();
        return true;
    }

    /// <summary>Delivers <paramref name="evt"/> to every notifier of its index (QEMU's <c>memory_region_notify_iommu</c>).</summary>
    public void Notify(IommuTlbEvent evt, int iommuIndex = 0)
    {
        // Copy: a callback may unregister (QEMU uses the _SAFE list walk).
        IommuNotifier[] notifiers = [.. _notifiers];
        foreach (IommuNotifier n in notifiers)
        {
            if (n.IommuIndex == iommuIndex)
            {
                NotifyOne(n, evt);
            }
        }
    }

    /// <summary>Delivers <paramref name="evt"/> to <paramref name="notifier"/> alone, with the skip / crop / flag rules.</summary>
    /// <exception cref="ArgumentException">An UNMAP event carries permissions (QEMU asserts).</exception>
    public static void NotifyOne(IommuNotifier notifier, IommuTlbEvent evt)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        IommuTlbEntry e = evt.Entry;
        if (evt.Type == IommuNotifierFlags.Unmap && e.Permissions != Permissions.None)
        {
            ThrowHelper.ThrowArgument(nameof(evt), $"UNMAP event {e} must carry permission none");
        }

        ulong last = e.Last;
        if (notifier.Start > last || notifier.End < e.Iova)
        {
            return;
        }

        if ((evt.Type & notifier.Flags) == 0)
        {
            return;
        }

        ulong first = Math.Max(e.Iova, notifier.Start);
        ulong cropLast = Math.Min(last, notifier.End);

        // Cropping moves the start up: the translated address moves with it (first - iova <= mask, no wrap for a
        // real mapping; UNMAP events carry 0 and stay 0).
        ulong translated = e.Permissions == Permissions.None ? e.TranslatedAddress : e.TranslatedAddress + (first - e.Iova);
        var cropped = first == e.Iova && cropLast == last ? e : new IommuTlbEntry(first, translated, cropLast - first, e.Permissions);
        notifier.Deliver(new IommuTlbEvent(evt.Type, cropped));
    }

    /// <summary>Sends one UNMAP covering <c>[Start, End]</c> to <paramref name="notifier"/> (QEMU's <c>memory_region_unmap_iommu_notifier_range</c>).</summary>
    public static void UnmapNotifierRange(IommuNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        NotifyOne(notifier, new IommuTlbEvent(IommuNotifierFlags.Unmap,
            new IommuTlbEntry(notifier.Start, 0, notifier.End - notifier.Start, Permissions.None)));
    }

    private IommuRegistrationResult Recompute()
    {
        IommuNotifierFlags old = Flags;
        IommuNotifierFlags now = Or();
        IommuRegistrationResult result = old == now || _flagChanged is null ? IommuRegistrationResult.Ok : _flagChanged(old, now);
        if (result.IsOk)
        {
            Flags = now;
        }

        return result;
    }

    private IommuNotifierFlags Or()
    {
        IommuNotifierFlags flags = IommuNotifierFlags.None;
        foreach (IommuNotifier n in _notifiers)
        {
            flags |= n.Flags;
        }

        return flags;
    }
}
