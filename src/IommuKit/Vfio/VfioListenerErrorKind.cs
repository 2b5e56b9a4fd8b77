namespace IommuKit.Vfio;

/// <summary>How QEMU treats a <see cref="VfioListener"/> error (qemu-memory-vfio.md §2.2 step 7).</summary>
public enum VfioListenerErrorKind
{
    /// <summary>During initial registration: the first one fails the device setup ("memory listener initialization failed").</summary>
    Setup,

    /// <summary>At run time: QEMU calls <c>hw_error</c> and aborts; IommuKit records it and keeps running.</summary>
    Fatal,

    /// <summary>Only reported (<c>error_report</c>): unaligned regions, failed unmaps, failed shadow maps from a notifier.</summary>
    Reported,

    /// <summary>A warning (<c>warn_report</c>): a ram_device map failure (peer-to-peer DMA not supported).</summary>
    Warning,
}
