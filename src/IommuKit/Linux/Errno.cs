namespace IommuKit.Linux;

/// <summary>
/// Linux error numbers as userspace sees them from VFIO and iommufd ioctls (x86-64 / asm-generic values).
/// <see cref="Ok"/> (0) means success. Scenario files name them as written here (<c>EINVAL</c>, <c>EEXIST</c>, ...).
/// </summary>
public enum Errno
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>Operation not permitted.</summary>
    EPERM = 1,

    /// <summary>No such file, entry or mapping.</summary>
    ENOENT = 2,

    /// <summary>Bad address (unbacked user memory).</summary>
    EFAULT = 14,

    /// <summary>Argument list too long (iommufd: non-zero trailing bytes in an oversized struct).</summary>
    E2BIG = 7,

    /// <summary>Out of memory (or locked-memory limit).</summary>
    ENOMEM = 12,

    /// <summary>Permission denied.</summary>
    EACCES = 13,

    /// <summary>Device or resource busy.</summary>
    EBUSY = 16,

    /// <summary>Already exists (an overlapping mapping).</summary>
    EEXIST = 17,

    /// <summary>No such device.</summary>
    ENODEV = 19,

    /// <summary>Invalid argument.</summary>
    EINVAL = 22,

    /// <summary>Inappropriate ioctl.</summary>
    ENOTTY = 25,

    /// <summary>No space left (type1: dma_avail exhausted; iommufd: no IOVA hole).</summary>
    ENOSPC = 28,

    /// <summary>Resource deadlock would occur.</summary>
    EDEADLOCK = 35,

    /// <summary>Message too long (iommufd IOVA_RANGES capacity too small).</summary>
    EMSGSIZE = 90,

    /// <summary>Operation not supported.</summary>
    EOPNOTSUPP = 95,

    /// <summary>Address already in use (iommufd reserved/allowed conflicts).</summary>
    EADDRINUSE = 98,

    /// <summary>Value too large (arithmetic overflow of iova + size).</summary>
    EOVERFLOW = 75,
}
