namespace IommuKit.MemoryMap;

/// <summary>
/// The MMIO callbacks of an <see cref="MemoryRegionKind.Io"/> or <see cref="MemoryRegionKind.RomDevice"/> region
/// (QEMU's <c>MemoryRegionOps</c>). An I/O region without ops is a reservation region.
/// </summary>
public interface IMemoryRegionOps
{
    /// <summary>Reads <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/> within the region.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes the low <paramref name="size"/> bytes (1, 2, 4 or 8) of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
