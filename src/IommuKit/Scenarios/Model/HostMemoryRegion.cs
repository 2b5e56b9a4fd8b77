namespace IommuKit.Scenarios;

/// <summary>A backed range of the calling process's address space (an entry of <c>host-memory</c>).</summary>
/// <param name="Vaddr">The first virtual address.</param>
/// <param name="Size">The size in bytes (1 .. 2^64; <c>Vaddr + Size</c> does not pass 2^64).</param>
/// <param name="Perm">The access the process has.</param>
public sealed record HostMemoryRegion(ulong Vaddr, UInt128 Size, AccessPermissions Perm)
{
    /// <summary>The default when <c>host-memory</c> is absent: all of <c>[0, 2^47-1]</c>, read-write.</summary>
    public static IReadOnlyList<HostMemoryRegion> Default { get; } = [new HostMemoryRegion(0, (UInt128)1 << 47, AccessPermissions.ReadWrite)];
}
