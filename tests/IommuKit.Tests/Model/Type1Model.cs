using IommuKit.Linux;

namespace IommuKit.Tests.Model;

// A deliberately naive VFIO type1 container written from linux-vfio-iommufd.md §1.2-§1.5 only (not from
// VfioContainer): a list of records kept sorted by first IOVA, scanned linearly for every question, UInt128 arithmetic
// everywhere so nothing can wrap. One domain at most (x86 second level, 48-bit aperture, the MSI window reserved),
// host memory described by a predicate.
internal sealed class Type1Model
{
    public const ulong Page = 0x1000;

    private readonly List<Rec> _records = [];
    private readonly Func<UInt128, UInt128, bool, bool> _canPin;
    private List<(UInt128 First, UInt128 Last)> _iovaList = []; // §1.2: empty means everything is valid

    public Type1Model(bool v2, uint limit, Func<UInt128, UInt128, bool, bool> canPin)
    {
        V2 = v2;
        Limit = limit;
        Avail = limit;
        _canPin = canPin;
    }

    public bool V2 { get; }

    public uint Limit { get; }

    public uint Avail { get; private set; }

    public bool HasDomain { get; private set; }

    public IReadOnlyList<Rec> Records => _records;

    public IReadOnlyList<(UInt128 First, UInt128 Last)> IovaList => _iovaList;

    public int InvalidCount => _records.Count(r => r.VaddrInvalid);

    // §1.3, checks in order.
    public Errno Map(uint argsz, uint flags, ulong vaddr, ulong iova, ulong size)
    {
        if (argsz < 32 || (flags & ~7u) != 0)
        {
            return Errno.EINVAL;
        }

        if (size == 0)
        {
            return Errno.EINVAL;
        }

        UInt128 last = (UInt128)iova + size - 1;
        UInt128 vaLast = (UInt128)vaddr + size - 1;
        if (last > ulong.MaxValue || vaLast > ulong.MaxValue)
        {
            return Errno.EOVERFLOW;
        }

        bool read = (flags & 1) != 0, write = (flags & 2) != 0, setVaddr = (flags & 4) != 0;
        if ((read || write) == setVaddr)
        {
            return Errno.EINVAL;
        }

        if (((size | iova | vaddr) & (Page - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        List<Rec> overlapping = _records.Where(r => r.First <= last && iova <= r.Last).ToList();
        if (setVaddr)
        {
            if (overlapping.Count == 0)
            {
                return Errno.ENOENT;
            }

            Rec hit = overlapping[0];
            if (!hit.VaddrInvalid || hit.First != iova || hit.Last != last)
            {
                return Errno.EINVAL;
            }

            hit.Vaddr = vaddr;
            hit.VaddrInvalid = false;
            return Errno.Ok;
        }

        if (overlapping.Count > 0)
        {
            return Errno.EEXIST;
        }

        if (Avail == 0)
        {
            return Errno.ENOSPC;
        }

        if (_iovaList.Count > 0 && !_iovaList.Any(v => v.First <= iova && last <= v.Last))
        {
            return Errno.EINVAL;
        }

        if (HasDomain && !_canPin(vaddr, vaLast, write))
        {
            return Errno.EFAULT;
        }

        var rec = new Rec((ulong)iova, (ulong)last, vaddr, read, write) { PinnedVaddr = HasDomain ? vaddr : null };
        int at = _records.FindIndex(r => r.First > iova);
        _records.Insert(at < 0 ? _records.Count : at, rec);
        Avail--;
        return Errno.Ok;
    }

    // §1.4, checks in order. Returns the errno and, on success, the exact bytes unmapped or invalidated.
    public (Errno Errno, UInt128 Bytes) Unmap(uint argsz, uint flags, ulong iova, ulong size)
    {
        bool dirty = (flags & 1) != 0, all = (flags & 2) != 0, vaddr = (flags & 4) != 0;
        if (argsz < 24 || (flags & ~7u) != 0 || (dirty && (all || vaddr)))
        {
            return (Errno.EINVAL, 0);
        }

        if (dirty)
        {
            return (Errno.EINVAL, 0); // argsz < 24 + sizeof(vfio_bitmap): the model never passes a bitmap
        }

        if ((iova & (Page - 1)) != 0)
        {
            return (Errno.EINVAL, 0);
        }

        UInt128 first, last;
        if (all)
        {
            if (iova != 0 || size != 0)
            {
                return (Errno.EINVAL, 0);
            }

            (first, last) = (0, ulong.MaxValue);
        }
        else
        {
            if (size == 0 || (size & (Page - 1)) != 0)
            {
                return (Errno.EINVAL, 0);
            }

            (first, last) = (iova, (UInt128)iova + size - 1);
            if (last > ulong.MaxValue)
            {
                return (Errno.EOVERFLOW, 0);
            }
        }

        if (V2 && !all && _records.Any(r => (r.First < first && first <= r.Last) || (r.First <= last && last < r.Last)))
        {
            return (Errno.EINVAL, 0);
        }

        List<Rec> targets = _records.Where(r => r.First <= last && first <= r.Last).ToList();
        if (!V2 && targets.Count > 0 && targets[0].First < first)
        {
            return (Errno.Ok, 0);
        }

        UInt128 bytes = 0;
        if (vaddr)
        {
            if (targets.Any(t => t.VaddrInvalid))
            {
                return (Errno.EINVAL, 0);
            }

            foreach (Rec t in targets)
            {
                t.VaddrInvalid = true;
                bytes += t.Size;
            }

            return (Errno.Ok, bytes);
        }

        foreach (Rec t in targets)
        {
            bytes += t.Size;
            _records.Remove(t);
            Avail++;
        }

        return (Errno.Ok, bytes);
    }

    // §1.5 attach: EBUSY with an invalid vaddr; EINVAL when the aperture or a reserved region conflicts with a
    // record; EFAULT when a record's memory cannot be pinned. Only one domain is modelled.
    public Errno Attach(UInt128 apertureLast, UInt128 reservedFirst, UInt128 reservedLast)
    {
        if (_records.Any(r => r.VaddrInvalid))
        {
            return Errno.EBUSY;
        }

        // vfio_iommu_aper_conflict answers "no conflict" while the valid list is empty (the first domain): a record
        // outside the aperture is only caught by the replay below.
        if (_records.Any(r => r.First <= reservedLast && reservedFirst <= r.Last))
        {
            return Errno.EINVAL;
        }

        // Replay in ascending order: pin the record, then map it; the first failure decides the errno.
        foreach (Rec r in _records)
        {
            if (!_canPin(r.Vaddr, r.Vaddr + r.Size - 1, r.Write))
            {
                return Errno.EFAULT;
            }

            if (r.Last > apertureLast)
            {
                // intel_iommu_map: an address wider than the domain's guest address width is -EFAULT.
                return Errno.EFAULT;
            }
        }

        foreach (Rec r in _records)
        {
            r.PinnedVaddr = r.Vaddr;
        }

        _iovaList = [(0, reservedFirst - 1), (reservedLast + 1, apertureLast)];
        HasDomain = true;
        return Errno.Ok;
    }

    // The record holding iova, if any (device DMA keeps working through an invalidated vaddr: §1.4 VADDR).
    public Rec? Find(ulong iova) => _records.FirstOrDefault(r => r.First <= iova && iova <= r.Last);

    internal sealed class Rec(ulong first, ulong last, ulong vaddr, bool read, bool write)
    {
        public ulong First { get; } = first;

        public ulong Last { get; } = last;

        public UInt128 Size => (UInt128)Last - First + 1;

        public ulong Vaddr { get; set; } = vaddr;

        public bool Read { get; } = read;

        public bool Write { get; } = write;

        public bool VaddrInvalid { get; set; }

        public ulong? PinnedVaddr { get; set; }

        public override string ToString() =>
            $"[0x{First:x}, 0x{Last:x}] va 0x{Vaddr:x} {(Read ? "r" : "-")}{(Write ? "w" : "-")}{(VaddrInvalid ? " invalid" : "")} pinned {PinnedVaddr?.ToString("x") ?? "-"}";
    }
}
