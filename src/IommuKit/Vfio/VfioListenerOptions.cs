namespace IommuKit.Vfio;

/// <summary>Settings of a <see cref="VfioListener"/>.</summary>
public sealed record VfioListenerOptions
{
    /// <summary>The host page size the sections are aligned to (QEMU's <c>qemu_real_host_page_size()</c>); a power of two, 4 KiB by default.</summary>
    public ulong HostPageSize { get; init; } = 0x1000;

    /// <summary>
    /// When true, a 2^64 unmap is always two calls of 2^63 (QEMU v5.2 to 2025, commit 1b296c3def), even if the
    /// container has better primitives. Default false: native full-range, else unmap-all, else the halves.
    /// </summary>
    public bool SplitFullRangeUnmap { get; init; }

    /// <summary>The defaults: 4 KiB host pages, best 2^64 primitive.</summary>
    public static VfioListenerOptions Default { get; } = new();
}
