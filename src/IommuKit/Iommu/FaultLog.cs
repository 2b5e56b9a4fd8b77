namespace IommuKit.Iommu;

/// <summary>
/// A bounded ring of <see cref="DmaFault"/> records with an overflow flag: the IOMMU's primary fault log.
/// </summary>
/// <remarks>
/// <para>Modelled on VT-d primary fault logging: a fixed number of fault recording registers and the Primary
/// Fault Overflow (PFO) bit of the fault status register. The rule (VT-d FSTS_REG.PFO): hardware sets PFO when a
/// fault arrives and every recording register is in use; while PFO is set, hardware records no new fault until
/// software clears it. So here: a fault arriving while the ring is full is dropped and sets
/// <see cref="Overflow"/>; while <see cref="Overflow"/> is set every fault is dropped, even after
/// <see cref="Drain"/> made room, until <see cref="ClearOverflow"/> (or <see cref="Clear"/>).</para>
/// <para>Invariants: <c>0 &lt;= Count &lt;= Capacity</c>; records come out oldest first; every arriving fault,
/// recorded or dropped, takes the next <see cref="DmaFault.Sequence"/>, so <c>Seen = Recorded + Dropped</c>.
/// Recording allocates nothing.</para>
/// </remarks>
public sealed class FaultLog
{
    private readonly DmaFault[] _ring;
    private int _head; // index of the oldest record
    private int _count;
    private long _seen;

    /// <summary>Creates an empty log of <paramref name="capacity"/> records.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 1.</exception>
    public FaultLog(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new DmaFault[capacity];
    }

    /// <summary>The number of records the log can hold (VT-d: the number of fault recording registers).</summary>
    public int Capacity => _ring.Length;

    /// <summary>The number of records held.</summary>
    public int Count => _count;

    /// <summary>True when <see cref="Count"/> equals <see cref="Capacity"/>.</summary>
    public bool IsFull => _count == _ring.Length;

    /// <summary>The overflow flag (VT-d PFO): set when a fault was dropped; new faults are dropped while it is set.</summary>
    public bool Overflow { get; private set; }

    /// <summary>Faults that arrived, recorded or dropped: the next fault gets this as its sequence number.</summary>
    public long Seen => _seen;

    /// <summary>Faults that arrived but were not recorded (the log was full, or <see cref="Overflow"/> was set).</summary>
    public long Dropped { get; private set; }

    /// <summary>
    /// Reports a fault: gives it the next sequence number and records it unless the log is full or overflowed.
    /// </summary>
    /// <returns>The fault with its sequence number (whether recorded or not).</returns>
    public DmaFault Report(ulong iova, DmaAccess access, DmaFaultReason reason, int deviceId)
    {
        var fault = new DmaFault(iova, access, reason, deviceId, _seen);
        _seen++;
        if (Overflow || _count == _ring.Length)
        {
            Overflow = true;
            Dropped++;
            return fault;
        }

        // _head < Capacity and _count < Capacity, so the sum is below 2 * Capacity and fits in an int.
        int tail = _head + _count;
        if (tail >= _ring.Length)
        {
            tail -= _ring.Length;
        }

        _ring[tail] = fault;
        _count++;
        return fault;
    }

    /// <summary>The record at <paramref name="index"/>, 0 being the oldest.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not below <see cref="Count"/>.</exception>
    public DmaFault this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
            int i = _head + index;
            return _ring[i >= _ring.Length ? i - _ring.Length : i];
        }
    }

    /// <summary>Removes and returns the oldest record; false when the log is empty. Does not clear <see cref="Overflow"/>.</summary>
    public bool TryTake(out DmaFault fault)
    {
        if (_count == 0)
        {
            fault = default;
            return false;
        }

        fault = _ring[_head];
        _ring[_head] = default;
        _head = _head + 1 == _ring.Length ? 0 : _head + 1;
        _count--;
        return true;
    }

    /// <summary>Removes every record and returns them, oldest first. Does not clear <see cref="Overflow"/>.</summary>
    public DmaFault[] Drain()
    {
        var faults = new DmaFault[_count];
        for (int i = 0; i < faults.Length; i++)
        {
            TryTake(out faults[i]);
        }

        return faults;
    }

    /// <summary>The records, oldest first, without removing them.</summary>
    public DmaFault[] ToArray()
    {
        var faults = new DmaFault[_count];
        for (int i = 0; i < faults.Length; i++)
        {
            faults[i] = this[i];
        }

        return faults;
    }

    /// <summary>Clears the overflow flag (software writing 1 to PFO) so faults are recorded again when there is room.</summary>
    public void ClearOverflow() => Overflow = false;

    /// <summary>Removes every record and clears <see cref="Overflow"/>. Sequence numbering and counters go on.</summary>
    public void Clear()
    {
        Array.Clear(_ring);
        _head = 0;
        _count = 0;
        Overflow = false;
    }
}
