using IommuKit.Linux;

namespace IommuKit.Tests.Model;

// A deliberately naive iommufd context written from linux-vfio-iommufd.md §2.1-§2.10 only (not from Ioas/Iommufd):
// per IOAS a list of areas kept sorted by first IOVA, a list of reserved ranges and a list of allowed ranges, all
// scanned linearly; a dictionary of pages objects (one per MAP, shared by COPY). UInt128 arithmetic everywhere so
// nothing can wrap. No domain is attached (lazy pinning: nothing is pinned), so the IOVA alignment is 1, or PAGE_SIZE
// while huge pages are disabled (§2.2, §2.10).
internal sealed class IoasModel
{
    public const ulong Page = 0x1000;
    public const uint FixedIova = 1, Writeable = 2, Readable = 4;
    private static readonly UInt128 U64Max = ulong.MaxValue;

    private readonly Dictionary<int, PagesObject> _pages = []; // the "page dictionary": pages objects by id
    private int _nextPages;

    public IoasModel(int ioasCount, bool thp)
    {
        for (int i = 0; i < ioasCount; i++)
        {
            Spaces.Add(new Space((uint)(i + 1)));
        }

        MaxAlignment = thp ? 0x20_0000UL : Page;
    }

    public List<Space> Spaces { get; } = [];

    public ulong MaxAlignment { get; }

    public IReadOnlyDictionary<int, PagesObject> Pages => _pages;

    private Space? Find(uint id) => Spaces.FirstOrDefault(s => s.Id == id);

    // §2.1 ABI struct sizes (u32 fields then u64 fields): MAP 4*4+3*8, UNMAP 2*4+2*8, COPY 4*4+3*8, IOVA_RANGES 4*4+2*8,
    // ALLOW_IOVAS 4*4+8. The mandatory fields end with the struct for all five.
    public const uint MapSize = 40, UnmapSize = 24, CopySize = 40, IovaRangesSize = 32, AllowIovasSize = 24;

    // §2.1 generic rules, before the command runs: a size below the mandatory fields is EINVAL; a larger struct is
    // accepted only when the extra bytes are zero (E2BIG otherwise).
    public static Errno Header(uint size, bool trailingNonZero, uint structSize) =>
        size < structSize ? Errno.EINVAL : size > structSize && trailingNonZero ? Errno.E2BIG : Errno.Ok;

    // §2.3, checks in order. Returns the errno and, on success, the IOVA written back.
    public (Errno Errno, ulong Iova) Map(uint id, uint flags, ulong userVa, ulong length, ulong iova, uint reserved = 0)
    {
        if ((flags & ~7u) != 0 || reserved != 0)
        {
            return (Errno.EOPNOTSUPP, 0);
        }

        if (iova >= ulong.MaxValue || length >= ulong.MaxValue)
        {
            return (Errno.EOVERFLOW, 0);
        }

        if ((flags & (Readable | Writeable)) == 0)
        {
            return (Errno.EINVAL, 0);
        }

        Space? s = Find(id);
        if (s is null)
        {
            return (Errno.ENOENT, 0);
        }

        // iopt_alloc_user_pages: the exclusive end user_va + length must fit in 64 bits; then iopt_alloc_pages refuses
        // length 0 and lengths above SIZE_MAX - PAGE_SIZE (code-derived; the reference lists only the overflow).
        if ((UInt128)userVa + length > U64Max)
        {
            return (Errno.EOVERFLOW, 0);
        }

        if (length == 0 || length > ulong.MaxValue - Page)
        {
            return (Errno.EINVAL, 0);
        }

        var pages = new PagesObject(userVa & ~(Page - 1), (flags & Writeable) != 0);
        var pieces = new List<(PagesObject Pages, UInt128 Offset, UInt128 Length)> { (pages, userVa % Page, length) };
        return MapPieces(s, pieces, length, iova, flags, userVa);
    }

    // §2.8, checks in order. The reference lists the flags and overflow checks without an order; pinned from the
    // kernel (drivers/iommu/iommufd/ioas.c, iommufd_ioas_copy): unknown flags (EOPNOTSUPP) before the >= ULONG_MAX
    // checks (EOVERFLOW), then no access (EINVAL), the source id, iopt_get_pages, and only then the destination id.
    public (Errno Errno, ulong Iova) Copy(uint dstId, uint srcId, uint flags, ulong srcIova, ulong length, ulong dstIova)
    {
        if ((flags & ~7u) != 0)
        {
            return (Errno.EOPNOTSUPP, 0);
        }

        if (length >= ulong.MaxValue || srcIova >= ulong.MaxValue || dstIova >= ulong.MaxValue)
        {
            return (Errno.EOVERFLOW, 0);
        }

        if ((flags & (Readable | Writeable)) == 0)
        {
            return (Errno.EINVAL, 0);
        }

        Space? src = Find(srcId);
        if (src is null)
        {
            return (Errno.ENOENT, 0);
        }

        if (length == 0)
        {
            return (Errno.EINVAL, 0);
        }

        UInt128 last = (UInt128)srcIova + length - 1;
        if (last > U64Max)
        {
            return (Errno.EOVERFLOW, 0);
        }

        // The source range must be covered contiguously by areas (a sub-range of an area is fine).
        var pieces = new List<(PagesObject Pages, UInt128 Offset, UInt128 Length)>();
        UInt128 cur = srcIova;
        while (cur <= last)
        {
            Area? a = src.Areas.FirstOrDefault(x => x.First <= cur && cur <= x.Last);
            if (a is null)
            {
                return (Errno.ENOENT, 0);
            }

            UInt128 pieceLast = UInt128.Min(a.Last, last);
            pieces.Add((a.Pages, a.Offset + (cur - a.First), pieceLast - cur + 1));
            cur = pieceLast + 1;
        }

        Space? dst = Find(dstId);
        if (dst is null)
        {
            return (Errno.ENOENT, 0);
        }

        UInt128 uptr = pieces[0].Pages.Base + pieces[0].Offset;
        return MapPieces(dst, pieces, length, dstIova, flags, (ulong)uptr);
    }

    // iopt_alloc_area_pages + iopt_insert_area: length alignment, the IOVA (fixed or allocated), then per piece
    // EPERM for a writeable map of read-only pages and EINVAL for a misaligned sub-page offset. All-or-nothing.
    private (Errno Errno, ulong Iova) MapPieces(Space s, List<(PagesObject Pages, UInt128 Offset, UInt128 Length)> pieces,
        UInt128 length, ulong iova, uint flags, ulong uptr)
    {
        if (length == 0 || length % s.Alignment != 0)
        {
            return (Errno.EINVAL, 0);
        }

        UInt128 dst;
        if ((flags & FixedIova) != 0)
        {
            if (iova % s.Alignment != 0)
            {
                return (Errno.EINVAL, 0);
            }

            UInt128 last = (UInt128)iova + length - 1;
            if (last > U64Max)
            {
                return (Errno.EOVERFLOW, 0);
            }

            if (s.Reserved.Any(r => r.First <= last && iova <= r.Last))
            {
                return (Errno.EINVAL, 0);
            }

            if (s.Areas.Any(a => a.First <= last && iova <= a.Last))
            {
                return (Errno.EEXIST, 0);
            }

            dst = iova;
        }
        else
        {
            (Errno rc, UInt128 at) = Allocate(s, uptr, length);
            if (rc != Errno.Ok)
            {
                return (rc, 0);
            }

            dst = at;
        }

        bool write = (flags & Writeable) != 0;
        foreach ((PagesObject p, UInt128 offset, _) in pieces)
        {
            if (write && !p.Writable)
            {
                return (Errno.EPERM, 0);
            }

            if ((offset % Page) % s.Alignment != 0)
            {
                return (Errno.EINVAL, 0);
            }
        }

        UInt128 at2 = dst;
        foreach ((PagesObject p, UInt128 offset, UInt128 len) in pieces)
        {
            if (!_pages.ContainsValue(p))
            {
                _pages.Add(_nextPages++, p);
            }

            s.Insert(new Area(at2, at2 + len - 1, p, offset, (flags & Readable) != 0, write));
            at2 += len;
        }

        return (Errno.Ok, (ulong)dst);
    }

    // §2.4, as the pseudo-code there: first fit at the lowest address. Pinned from the kernel (io_pagetable.c,
    // iopt_alloc_iova): the THP cap is applied before the "below the IOAS alignment" EINVAL, and the hole search runs
    // over [aligned span start, span last] of each merged allowed span.
    private (Errno Errno, UInt128 Iova) Allocate(Space s, ulong uptr, UInt128 length)
    {
        UInt128 pageOffset = uptr % Page;
        if (length == 0 || length >= ulong.MaxValue / 2)
        {
            return (Errno.EOVERFLOW, 0);
        }

        UInt128 align = 1;
        while (align < length)
        {
            align *= 2;
        }

        if (uptr != 0)
        {
            UInt128 lowBit = (UInt128)1 << (int)ulong.TrailingZeroCount(uptr);
            align = UInt128.Min(align, lowBit);
        }

        align = UInt128.Min(align, MaxAlignment);
        if (align < s.Alignment)
        {
            return (Errno.EINVAL, 0);
        }

        List<(UInt128 First, UInt128 Last)> spans = s.Allowed.Count == 0
            ? [(Page, U64Max - Page)]
            : Clip(Merge(s.Allowed), Page, U64Max - Page);
        foreach ((UInt128 first, UInt128 last) in spans)
        {
            if (!CheckRange(first, last, length, align, pageOffset, out UInt128 start))
            {
                continue;
            }

            List<(UInt128 First, UInt128 Last)> used = Merge([.. s.Reserved, .. s.Areas.Select(a => (a.First, a.Last))]);
            foreach ((UInt128 holeFirst, UInt128 holeLast) in Holes(used, start, last))
            {
                if (CheckRange(holeFirst, holeLast, length, align, pageOffset, out UInt128 cand))
                {
                    return (Errno.Ok, cand);
                }
            }
        }

        return (Errno.ENOSPC, 0);
    }

    // ALIGN_UP (skipped when it passes U64_MAX), OR the page offset, then strictly below last with room for length.
    private static bool CheckRange(UInt128 first, UInt128 last, UInt128 length, UInt128 align, UInt128 pageOffset, out UInt128 start)
    {
        start = 0;
        UInt128 up = (first + align - 1) / align * align;
        if (first + align - 1 > U64Max)
        {
            return false;
        }

        UInt128 aligned = up | pageOffset;
        if (aligned >= last || last - aligned < length - 1)
        {
            return false;
        }

        start = aligned;
        return true;
    }

    // §2.5, checks in order (the IOAS id is looked up first: iommufd_ioas_unmap). Returns the errno and, on success,
    // the u64 length written back.
    public (Errno Errno, ulong Length) Unmap(uint id, ulong iova, ulong length)
    {
        Space? s = Find(id);
        if (s is null)
        {
            return (Errno.ENOENT, 0);
        }

        UInt128 first, last;
        bool all = iova == 0 && length == ulong.MaxValue;
        if (all)
        {
            (first, last) = (0, U64Max);
        }
        else
        {
            if (iova >= ulong.MaxValue || length >= ulong.MaxValue)
            {
                return (Errno.EOVERFLOW, 0);
            }

            if (length == 0)
            {
                return (Errno.EINVAL, 0);
            }

            (first, last) = (iova, (UInt128)iova + length - 1);
            if (last > U64Max)
            {
                return (Errno.EOVERFLOW, 0);
            }
        }

        // Lowest first; an area sticking out stops the walk with ENOENT, earlier removals stay done.
        UInt128 unmapped = 0;
        foreach (Area a in s.Areas.Where(a => a.First <= last && first <= a.Last).ToList())
        {
            if (a.First < first || a.Last > last)
            {
                return (Errno.ENOENT, 0);
            }

            s.Areas.Remove(a);
            unmapped += a.Last - a.First + 1;
        }

        if (!all && unmapped == 0)
        {
            return (Errno.ENOENT, 0);
        }

        return (Errno.Ok, (ulong)(unmapped & U64Max)); // u64 field: a 2^64 total shows as 0
    }

    // §2.7, checks in order.
    public Errno AllowIovas(uint id, IReadOnlyList<(ulong Start, ulong Last)> ranges, uint reserved = 0)
    {
        if (reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        Space? s = Find(id);
        if (s is null)
        {
            return Errno.ENOENT;
        }

        var list = new List<(UInt128 First, UInt128 Last)>();
        foreach ((ulong start, ulong last) in ranges)
        {
            if (start >= last)
            {
                return Errno.EINVAL;
            }

            if (list.Any(r => r.First <= last && start <= r.Last))
            {
                return Errno.EINVAL;
            }

            list.Add((start, last));
        }

        if (list.Any(a => s.Reserved.Any(r => r.First <= a.Last && a.First <= r.Last)))
        {
            return Errno.EADDRINUSE;
        }

        s.Allowed = [.. list.OrderBy(r => r.First)];
        return Errno.Ok;
    }

    // §2.2 iopt_reserve_iova: EADDRINUSE when the range meets an area or an allowed range.
    public Errno Reserve(uint id, ulong first, ulong last)
    {
        Space s = Find(id)!;
        if (s.Areas.Any(a => a.First <= last && first <= a.Last) || s.Allowed.Any(a => a.First <= last && first <= a.Last))
        {
            return Errno.EADDRINUSE;
        }

        s.Reserved.Add((first, last));
        return Errno.Ok;
    }

    // §2.6: the holes of the reserved ranges over [0, U64_MAX]; EMSGSIZE when the capacity is too small.
    public (Errno Errno, List<(UInt128 First, UInt128 Last)> Ranges, ulong Alignment) IovaRanges(uint id, uint capacity, uint reserved = 0)
    {
        if (reserved != 0)
        {
            return (Errno.EOPNOTSUPP, [], 0);
        }

        Space? s = Find(id);
        if (s is null)
        {
            return (Errno.ENOENT, [], 0);
        }

        List<(UInt128 First, UInt128 Last)> holes = s.IovaRanges;
        return (holes.Count > capacity ? Errno.EMSGSIZE : Errno.Ok, holes, s.Alignment);
    }

    // §2.10 IOMMU_OPTION_HUGE_PAGES with no domain: disabling raises the alignment to PAGE_SIZE (EADDRINUSE when an
    // area's IOVA, length or sub-page offset does not conform); enabling lowers it back to 1.
    public Errno SetHugePages(uint id, bool enabled)
    {
        Space s = Find(id)!;
        if (!enabled && !s.HugeDisabled
            && s.Areas.Any(a => a.First % Page != 0 || (a.Last - a.First + 1) % Page != 0 || a.Offset % Page != 0))
        {
            return Errno.EADDRINUSE;
        }

        s.HugeDisabled = !enabled;
        return Errno.Ok;
    }

    // IommuKit's native map (Ioas.Map remarks, not a kernel call): the FIXED_IOVA rules on an inclusive range, so the
    // size may be 2^64; EINVAL for no access, EOVERFLOW when [userVa, userVa + size - 1] passes 2^64-1.
    public Errno NativeMap(uint id, ulong first, ulong last, ulong userVa, bool read, bool write)
    {
        Space s = Find(id)!;
        if (!read && !write)
        {
            return Errno.EINVAL;
        }

        UInt128 size = (UInt128)last - first + 1;
        if ((UInt128)userVa + size - 1 > U64Max)
        {
            return Errno.EOVERFLOW;
        }

        uint flags = FixedIova | (read ? Readable : 0) | (write ? Writeable : 0);
        var pages = new PagesObject(userVa & ~(Page - 1), write);
        return MapPieces(s, [(pages, userVa % Page, size)], size, first, flags, userVa).Errno;
    }

    // IommuKit's native unmap (Ioas.Unmap remarks): all-or-nothing; ENOENT when an area crosses an end or nothing is
    // covered, except the full space (unmap-all, success even when empty). Returns the exact bytes, up to 2^64.
    public (Errno Errno, UInt128 Bytes) NativeUnmap(uint id, ulong first, ulong last)
    {
        Space s = Find(id)!;
        List<Area> hit = [.. s.Areas.Where(a => a.First <= last && first <= a.Last)];
        if (hit.Any(a => a.First < first || a.Last > last))
        {
            return (Errno.ENOENT, 0);
        }

        if (hit.Count == 0 && !(first == 0 && last == ulong.MaxValue))
        {
            return (Errno.ENOENT, 0);
        }

        UInt128 bytes = 0;
        foreach (Area a in hit)
        {
            s.Areas.Remove(a);
            bytes += a.Last - a.First + 1;
        }

        return (Errno.Ok, bytes);
    }

    // §2.10 VFIO compat MAP_DMA on the compat IOAS (id 1): EINVAL for a short argsz or a flag other than READ/WRITE,
    // then a FIXED_IOVA map without MAP's up-front iova / length checks.
    public Errno CompatMap(uint argsz, uint flags, ulong vaddr, ulong iova, ulong size)
    {
        if (argsz < 32 || (flags & ~3u) != 0)
        {
            return Errno.EINVAL;
        }

        if ((UInt128)vaddr + size > U64Max)
        {
            return Errno.EOVERFLOW;
        }

        if (size == 0 || size > ulong.MaxValue - Page)
        {
            return Errno.EINVAL;
        }

        // VFIO READ = 1, WRITE = 2; IOAS READABLE = 4, WRITEABLE = 2.
        uint ioasFlags = FixedIova | ((flags & 1) != 0 ? Readable : 0) | ((flags & 2) != 0 ? Writeable : 0);
        var pages = new PagesObject(vaddr & ~(Page - 1), (flags & 2) != 0);
        return MapPieces(Spaces[0], [(pages, vaddr % Page, size)], size, iova, ioasFlags, vaddr).Errno;
    }

    // §2.10 VFIO compat UNMAP_DMA: EINVAL for a short argsz or a flag other than ALL; ALL needs iova = size = 0; a
    // range unmap first cuts (v1: huge pages disabled) at iova + size - 1 and iova - 1 (u64 wrapping, the second
    // skipped for iova 0), keeping cuts done before a failing one (§2.9), then the iopt rules, where covering nothing
    // is success with 0. The size is written back whatever the result once past the argument checks.
    public (Errno Errno, ulong Size, bool WrittenBack) CompatUnmap(uint argsz, uint flags, ulong iova, ulong size)
    {
        if (argsz < 24 || (flags & ~2u) != 0)
        {
            return (Errno.EINVAL, 0, false);
        }

        Space s = Spaces[0];
        UInt128 first, last;
        if ((flags & 2) != 0)
        {
            if (iova != 0 || size != 0)
            {
                return (Errno.EINVAL, 0, false);
            }

            (first, last) = (0, U64Max);
        }
        else
        {
            if (s.HugeDisabled)
            {
                ulong[] cuts = iova != 0 ? [unchecked(iova + size - 1), unchecked(iova - 1)] : [unchecked(iova + size - 1)];
                foreach (ulong cut in cuts)
                {
                    Errno rc = Cut(s, cut);
                    if (rc != Errno.Ok)
                    {
                        return (rc, 0, false);
                    }
                }
            }

            if (size == 0)
            {
                return (Errno.EINVAL, 0, true);
            }

            (first, last) = (iova, (UInt128)iova + size - 1);
            if (last > U64Max)
            {
                return (Errno.EOVERFLOW, 0, true);
            }
        }

        UInt128 unmapped = 0;
        foreach (Area a in s.Areas.Where(a => a.First <= last && first <= a.Last).ToList())
        {
            if (a.First < first || a.Last > last)
            {
                return (Errno.ENOENT, (ulong)(unmapped & U64Max), true);
            }

            s.Areas.Remove(a);
            unmapped += a.Last - a.First + 1;
        }

        return (Errno.Ok, (ulong)(unmapped & U64Max), true);
    }

    // §2.9 iopt_area_split: the area holding 'at' becomes [first, at] and [at + 1, last]; a no-op at either end;
    // EINVAL when the new start or the right half's sub-page offset is misaligned. No domain: nothing else refuses.
    private static Errno Cut(Space s, ulong at)
    {
        Area? a = s.Areas.FirstOrDefault(x => x.First <= at && at <= x.Last);
        if (a is null || a.First == at || a.Last == at)
        {
            return Errno.Ok;
        }

        UInt128 newStart = (UInt128)at + 1;
        UInt128 rhsOffset = a.Offset + (newStart - a.First);
        if (newStart % s.Alignment != 0 || rhsOffset % s.Alignment != 0)
        {
            return Errno.EINVAL;
        }

        s.Areas.Remove(a);
        s.Insert(new Area(a.First, at, a.Pages, a.Offset, a.Read, a.Write));
        s.Insert(new Area(newStart, a.Last, a.Pages, rhsOffset, a.Read, a.Write));
        return Errno.Ok;
    }

    // Overlapping or touching ranges merged, ascending (the kernel's span iterators merge touching nodes).
    internal static List<(UInt128 First, UInt128 Last)> Merge(IEnumerable<(UInt128 First, UInt128 Last)> ranges)
    {
        var merged = new List<(UInt128 First, UInt128 Last)>();
        foreach ((UInt128 f, UInt128 l) in ranges.OrderBy(r => r.First))
        {
            if (merged.Count > 0 && f <= merged[^1].Last + 1)
            {
                merged[^1] = (merged[^1].First, UInt128.Max(merged[^1].Last, l));
            }
            else
            {
                merged.Add((f, l));
            }
        }

        return merged;
    }

    private static List<(UInt128 First, UInt128 Last)> Clip(List<(UInt128 First, UInt128 Last)> spans, UInt128 first, UInt128 last) =>
        [.. spans.Where(s => s.First <= last && first <= s.Last).Select(s => (UInt128.Max(s.First, first), UInt128.Min(s.Last, last)))];

    // The holes of the merged 'used' list inside [first, last].
    internal static List<(UInt128 First, UInt128 Last)> Holes(List<(UInt128 First, UInt128 Last)> used, UInt128 first, UInt128 last)
    {
        var holes = new List<(UInt128 First, UInt128 Last)>();
        UInt128 cursor = first;
        foreach ((UInt128 f, UInt128 l) in used)
        {
            if (l < cursor)
            {
                continue;
            }

            if (f > last)
            {
                break;
            }

            if (f > cursor)
            {
                holes.Add((cursor, f - 1));
            }

            cursor = l + 1;
        }

        if (cursor <= last)
        {
            holes.Add((cursor, last));
        }

        return holes;
    }

    internal sealed class PagesObject(ulong @base, bool writable)
    {
        public ulong Base { get; } = @base;

        public bool Writable { get; } = writable;
    }

    internal sealed class Area(UInt128 first, UInt128 last, PagesObject pages, UInt128 offset, bool read, bool write)
    {
        public UInt128 First { get; } = first;

        public UInt128 Last { get; } = last;

        public PagesObject Pages { get; } = pages;

        // Byte offset of the area's first byte from the pages object's (page-aligned) base.
        public UInt128 Offset { get; } = offset;

        public UInt128 UserVa => Pages.Base + Offset;

        public bool Read { get; } = read;

        public bool Write { get; } = write;

        public override string ToString() =>
            $"[0x{(ulong)First:x}, 0x{(ulong)Last:x}] va 0x{(ulong)UserVa:x} {(Read ? "r" : "-")}{(Write ? "w" : "-")}";
    }

    internal sealed class Space(uint id)
    {
        public uint Id { get; } = id;

        public List<Area> Areas { get; } = [];

        public List<(UInt128 First, UInt128 Last)> Reserved { get; } = [];

        public List<(UInt128 First, UInt128 Last)> Allowed { get; set; } = [];

        public bool HugeDisabled { get; set; }

        public ulong Alignment => HugeDisabled ? Page : 1;

        public List<(UInt128 First, UInt128 Last)> IovaRanges => Holes(Merge(Reserved), 0, U64Max);

        public void Insert(Area a)
        {
            int at = Areas.FindIndex(x => x.First > a.First);
            Areas.Insert(at < 0 ? Areas.Count : at, a);
        }
    }
}
