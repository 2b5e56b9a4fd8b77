using IommuKit.Addressing;

namespace IommuKit.MemoryMap;

/// <summary>
/// Renders a region tree into a <see cref="FlatView"/>, reproducing QEMU's <c>render_memory_region</c> followed by
/// <c>flatview_simplify</c> (reference notes, section 1.4).
/// </summary>
/// <remarks>
/// All arithmetic is signed 128-bit: an alias whose offset exceeds its own position puts its target's base below 0,
/// and a region may end at 2^64. Internally a piece is <c>[Start, End)</c> with an exclusive <see cref="Int128"/> end
/// (2^64 is representable there); every piece is clipped to <c>[0, 2^64)</c> and converted to an inclusive
/// <see cref="IovaRange"/> at the end.
/// Bounds: a clip is always inside <c>[0, 2^64)</c> and a region's base is only used while its range meets the
/// clip, so every base lies in <c>(-2^64, 2^64)</c>; adding an address or subtracting an alias offset (each
/// below 2^64) keeps it inside <c>(-2^65, 2^65)</c>, far from the <see cref="Int128"/> limits.
/// </remarks>
internal static class FlatViewRenderer
{
    private static readonly Int128 SpaceEnd = (Int128)1 << 64;

    public static FlatView Render(MemoryRegion root)
    {
        var pieces = new List<Piece>();
        RenderRegion(pieces, root, Int128.Zero, Int128.Zero, SpaceEnd, readOnly: false, nonVolatile: false);
        return new FlatView(root, Simplify(pieces));
    }

    private static void RenderRegion(List<Piece> view, MemoryRegion mr, Int128 regionBase, Int128 clipStart, Int128 clipEnd,
        bool readOnly, bool nonVolatile)
    {
        // 1. A disabled region renders nothing, nor does anything below it.
        if (!mr.Enabled)
        {
            return;
        }

        // 2. Position and inherited attributes.
        regionBase += mr.Address;
        readOnly |= mr.ReadOnly;
        nonVolatile |= mr.NonVolatile;

        // 3. Clip to the region; nothing to do when it does not meet the clip.
        Int128 start = Int128.Max(regionBase, clipStart);
        Int128 end = Int128.Min(regionBase + (Int128)mr.Size, clipEnd);
        if (end <= start)
        {
            return;
        }

        // 4. An alias renders its target, shifted so that target offset AliasOffset lands on the alias's base. The
        // target's own address is subtracted because its rendering adds it back.
        if (mr.AliasTarget is { } target)
        {
            regionBase -= target.Address;
            regionBase -= mr.AliasOffset;
            RenderRegion(view, target, regionBase, start, end, readOnly, nonVolatile);
            return;
        }

        // 5. Subregions first, highest priority first: what they claim is never overwritten.
        foreach (MemoryRegion sub in mr.Subregions)
        {
            RenderRegion(view, sub, regionBase, start, end, readOnly, nonVolatile);
        }

        // 6. A pure container has nothing of its own.
        if (!mr.Terminates)
        {
            return;
        }

        // 7. Fill the holes left in [start, end) with the region's own backing. start >= regionBase, so the offset
        // is in [0, Size) and fits 64 bits for every piece inserted.
        Int128 offset = start - regionBase;
        Int128 pos = start;
        int i = 0;
        while (pos < end && i < view.Count)
        {
            Piece existing = view[i];
            if (pos >= existing.End)
            {
                i++;
                continue;
            }

            if (pos < existing.Start)
            {
                Int128 gapEnd = Int128.Min(end, existing.Start);
                view.Insert(i, new Piece(mr, pos, gapEnd, (ulong)offset, readOnly, nonVolatile, mr.RomdMode));
                i++;
                offset += gapEnd - pos;
                pos = gapEnd;
                continue;
            }

            // pos is inside a range rendered earlier: skip over it.
            Int128 skipEnd = Int128.Min(end, existing.End);
            offset += skipEnd - pos;
            pos = skipEnd;
            i++;
        }

        if (pos < end)
        {
            view.Add(new Piece(mr, pos, end, (ulong)offset, readOnly, nonVolatile, mr.RomdMode));
        }
    }

    private static FlatRange[] Simplify(List<Piece> pieces)
    {
        var result = new List<Piece>(pieces.Count);
        foreach (Piece piece in pieces)
        {
            if (result.Count > 0 && CanMerge(result[^1], piece))
            {
                Piece last = result[^1];
                result[^1] = last with { End = piece.End };
            }
            else
            {
                result.Add(piece);
            }
        }

        var ranges = new FlatRange[result.Count];
        for (int i = 0; i < ranges.Length; i++)
        {
            Piece p = result[i];

            // Clipping keeps 0 <= Start < End <= 2^64, so both ends fit 64 bits as an inclusive range.
            ranges[i] = new FlatRange(p.Region, IovaRange.FromFirstLast((ulong)p.Start, (ulong)(p.End - 1)), p.Offset,
                p.ReadOnly, p.NonVolatile, p.RomdMode);
        }

        return ranges;
    }

    /// <summary>QEMU's <c>can_merge</c>: adjacent, same region, contiguous offsets, same flags.</summary>
    private static bool CanMerge(Piece a, Piece b) =>
        a.End == b.Start
        && ReferenceEquals(a.Region, b.Region)
        && (Int128)a.Offset + (a.End - a.Start) == (Int128)b.Offset
        && a.RomdMode == b.RomdMode
        && a.ReadOnly == b.ReadOnly
        && a.NonVolatile == b.NonVolatile;

    private readonly record struct Piece(MemoryRegion Region, Int128 Start, Int128 End, ulong Offset, bool ReadOnly,
        bool NonVolatile, bool RomdMode);
}
