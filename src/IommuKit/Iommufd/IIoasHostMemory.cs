namespace IommuKit.Iommufd;

/// <summary>
/// What an <see cref="Ioas"/> needs from the calling process's memory: translate and pin host pages.
/// <see cref="HostMemoryTarget"/> adapts <c>IommuKit.Memory.HostMemory</c>.
/// </summary>
internal interface IIoasHostMemory
{
    /// <summary>The physical address backing <paramref name="va"/>; false when the page is not backed.</summary>
    bool TryTranslate(ulong va, out ulong pa);

    /// <summary>Pins the page at <paramref name="pageVa"/>; false (nothing pinned) when it is not backed or, with
    /// <paramref name="write"/>, not writable (the kernel's <c>pin_user_pages</c> failing with EFAULT).</summary>
    bool TryPin(ulong pageVa, bool write);

    /// <summary>Drops one pin of the page at <paramref name="pageVa"/>.</summary>
    void Unpin(ulong pageVa);
}
