using System.Globalization;

namespace IommuKit.MemoryMap;

/// <summary>
/// A subscriber to an IOMMU region's translations (QEMU's <c>IOMMUNotifier</c>): the events it wants
/// (<see cref="Flags"/>), the inclusive IOVA range <c>[Start, End]</c> it cares about, and the callback.
/// </summary>
/// <remarks>The values are checked at registration (<see cref="IommuNotifierList.Register"/>), as QEMU asserts them
/// there: flags not None, <c>Start &lt;= End</c>, index in range. A notifier is registered on at most one region at a
/// time.</remarks>
public sealed class IommuNotifier
{
    private readonly Action<IommuNotifier, IommuTlbEvent> _notify;

    /// <summary>Creates a notifier.</summary>
    /// <param name="flags">The events to deliver.</param>
    /// <param name="start">The first IOVA of interest.</param>
    /// <param name="end">The last IOVA of interest (inclusive; <see cref="ulong.MaxValue"/> for the top of the space).</param>
    /// <param name="notify">Called for each delivered event, already cropped to <c>[start, end]</c>.</param>
    /// <param name="iommuIndex">The IOMMU index (QEMU's <c>iommu_idx</c>); 0 for VT-d.</param>
    public IommuNotifier(IommuNotifierFlags flags, ulong start, ulong end, Action<IommuNotifier, IommuTlbEvent> notify, int iommuIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(notify);
        Flags = flags;
        Start = start;
        End = end;
        IommuIndex = iommuIndex;
        _notify = notify;
    }

    /// <summary>The events delivered.</summary>
    public IommuNotifierFlags Flags { get; }

    /// <summary>The first IOVA of interest.</summary>
    public ulong Start { get; }

    /// <summary>The last IOVA of interest, inclusive.</summary>
    public ulong End { get; }

    /// <summary>The IOMMU index.</summary>
    public int IommuIndex { get; }

    /// <summary>Events delivered so far.</summary>
    public long Delivered { get; private set; }

    /// <summary>Delivers <paramref name="evt"/> (already filtered and cropped).</summary>
    internal void Deliver(IommuTlbEvent evt)
    {
        Delivered++;
        _notify(this, evt);
    }

    /// <summary>Formats as <c>MAP|UNMAP [0x0, 0xfedfffff]</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Flags} [{ThrowHelper.Hex(Start)}, {ThrowHelper.Hex(End)}]");
}
