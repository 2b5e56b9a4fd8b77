using IommuKit.Linux;

namespace IommuKit.Iommufd;

/// <summary>
/// The generic checks every iommufd ioctl applies to its <c>size</c> field before looking at the command
/// (<c>iommufd_fops_ioctl</c>, <c>copy_struct_from_user</c>; linux-vfio-iommufd.md §2.1).
/// </summary>
internal static class IommufdCommand
{
    /// <summary>
    /// <c>size</c> below the end of the last mandatory field gives EINVAL; above the kernel's struct size the extra bytes
    /// must be zero, else E2BIG.
    /// </summary>
    public static Errno CheckSize(uint size, uint minSize, uint kernelSize, bool trailingNonZero)
    {
        if (size < minSize)
        {
            return Errno.EINVAL;
        }

        if (size > kernelSize && trailingNonZero)
        {
            return Errno.E2BIG;
        }

        return Errno.Ok;
    }
}
