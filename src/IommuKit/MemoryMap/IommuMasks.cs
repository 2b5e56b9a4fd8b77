using System.Numerics;

namespace IommuKit.MemoryMap;

/// <summary>Naturally aligned power-of-two splitting of IOVA ranges, as vIOMMUs notify them.</summary>
public static class IommuMasks
{
    /// <summary>
    /// The mask (length - 1) of the largest naturally aligned power-of-two block that starts at
    /// <paramref name="start"/>, ends at or before <paramref name="end"/> and is at most 2^<paramref name="maxAddressBits"/>
    /// long (QEMU's <c>dma_aligned_pow2_mask</c>, 2021). <c>[0, 2^64-1]</c> with 64 bits gives
    /// <see cref="ulong.MaxValue"/>, the whole space, without computing 2^64.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="end"/> is below <paramref name="start"/>, or the width is not 1..64.</exception>
    public static ulong AlignedPow2Mask(ulong start, ulong end, int maxAddressBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(end, start);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAddressBits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxAddressBits, 64);
        ulong maxMask = maxAddressBits == 64 ? ulong.MaxValue : (1UL << maxAddressBits) - 1;
        ulong addrMask = end - start;

        // start & -start isolates the lowest set bit; for start == 0 every alignment holds.
        ulong alignmentMask = start == 0 ? maxMask : Math.Min((start & (~start + 1)) - 1, maxMask);
        ulong sizeMask = Math.Min(addrMask, maxMask);
        if (alignmentMask <= sizeMask)
        {
            return alignmentMask;
        }

        if (addrMask == ulong.MaxValue)
        {
            return ulong.MaxValue;
        }

        // addrMask < 2^64 - 1 here, so addrMask + 1 does not wrap; take its highest power of two.
        return (1UL << (63 - BitOperations.LeadingZeroCount(addrMask + 1))) - 1;
    }

    /// <summary>
    /// Splits <c>[start, end]</c> into naturally aligned power-of-two blocks of at most
    /// 2^<paramref name="maxAddressBits"/> bytes, ascending (how VT-d unmaps a notifier's range and virtio-iommu
    /// splits a mapping). Each block is <c>(iova, mask)</c>.
    /// </summary>
    public static List<(ulong Iova, ulong Mask)> AlignedPow2Blocks(ulong start, ulong end, int maxAddressBits)
    {
        var blocks = new List<(ulong, ulong)>();
        ulong cur = start;
        while (true)
        {
            ulong mask = AlignedPow2Mask(cur, end, maxAddressBits);
            blocks.Add((cur, mask));

            // cur + mask <= end, so neither sum wraps; stop once the block reaches end.
            if (cur + mask >= end)
            {
                return blocks;
            }

            cur += mask + 1;
        }
    }
}
