using IommuKit.Addressing;

namespace IommuKit.Vfio;

/// <content>Kernel-version rules that need state: the mappings pre-v6.18-rc4 kernels lose.</content>
public sealed partial class VfioContainer
{
    // Mappings ending at 2^64 under VfioKernelRules.LosesMappingsEndingAtTop, in map order. They may overlap each
    // other and _dmas (the overlap check never saw them), so they cannot live in the RangeMap. No lookup finds them:
    // MAP's overlap check, UNMAP by range, UNMAP_ALL and UNMAP{VADDR} all work on _dmas only, so their DMA_AVAIL slot
    // and pins are never given back. Invariant: every entry's range ends at 2^64-1. They are not replayed into a domain
    // attached later and take no part in dirty tracking (pre-fix kernels do iterate them in order there).
    private readonly List<(IovaRange Iova, DmaRecord Record)> _lostDmas = [];

    /// <summary>The mappings lost to every lookup (<see cref="VfioKernelRules.LosesMappingsEndingAtTop"/>), in map order.</summary>
    public IReadOnlyList<VfioDma> LostMappings => [.. _lostDmas.Select(l => l.Record.ToView(l.Iova))];

    // Whether a new mapping whose last byte is iovaLast is lost on this kernel (pre-fix: iova + size wraps to 0).
    private bool LosesMapping(ulong iovaLast) => Rules.LosesMappingsEndingAtTop && iovaLast == ulong.MaxValue;
}
