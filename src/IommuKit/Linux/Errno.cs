namespace IommuKit.Linux;

/// <summary>
/// Linux error numbers (asm-generic/errno-base.h and errno.h, as on x86-64 and arm64), as returned by the
/// VFIO and iommufd ioctls that IommuKit models. <see cref="Ok"/> (0) is success.
/// </summary>
/// <remarks>
/// The enum member names are the spellings scenario files use (<c>expect: EINVAL</c>); the values are the kernel's
/// positive error numbers (an ioctl returns their negation).
/// </remarks>
public enum Errno
{
    /// <summary>Success (no error).</summary>
    Ok = 0,

    /// <summary>Operation not permitted.</summary>
    EPERM = 1,

    /// <summary>No such file or directory (no such mapping / object).</summary>
    ENOENT = 2,

    /// <summary>Interrupted system call.</summary>
    EINTR = 4,

    /// <summary>I/O error.</summary>
    EIO = 5,

    /// <summary>Argument list too long (iommufd: an array larger than the kernel accepts).</summary>
    E2BIG = 7,

    /// <summary>Bad file descriptor.</summary>
    EBADF = 9,

    /// <summary>Try again.</summary>
    EAGAIN = 11,

    /// <summary>Out of memory (or a pinning limit was reached).</summary>
    ENOMEM = 12,

    /// <summary>Permission denied.</summary>
    EACCES = 13,

    /// <summary>Bad address (an unbacked or unreadable user virtual address).</summary>
    EFAULT = 14,

    /// <summary>Device or resource busy.</summary>
    EBUSY = 16,

    /// <summary>The object already exists (an overlapping mapping).</summary>
    EEXIST = 17,

    /// <summary>No such device (no IOMMU domain / group attached).</summary>
    ENODEV = 19,

    /// <summary>Invalid argument.</summary>
    EINVAL = 22,

    /// <summary>No space left (type1: the dma-entry-limit was reached; iommufd: no free IOVA).</summary>
    ENOSPC = 28,

    /// <summary>Inappropriate ioctl for device.</summary>
    ENOTTY = 25,

    /// <summary>Result out of range.</summary>
    ERANGE = 34,

    /// <summary>Resource deadlock would occur (iommufd: an access owner kept refusing to unpin).</summary>
    EDEADLOCK = 35,

    /// <summary>Message too long (iommufd: a copy source/destination alignment the domain cannot express).</summary>
    EMSGSIZE = 90,

    /// <summary>Operation not supported.</summary>
    EOPNOTSUPP = 95,

    /// <summary>Address already in use (iommufd: an IOVA outside the allowed ranges or inside a reserved one).</summary>
    EADDRINUSE = 98,

    /// <summary>Value too large for the data type (an IOVA + size that wraps past 2^64).</summary>
    EOVERFLOW = 75,
}
