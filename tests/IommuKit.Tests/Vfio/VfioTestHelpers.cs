using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;

namespace IommuKit.Tests.Vfio;

internal static class VfioTestHelpers
{
    public const ulong P = 0x1000;
    public const ulong Top = ulong.MaxValue;
    public const ulong LastPage = 0xffff_ffff_ffff_f000;
    public const VfioDmaMapFlags RW = VfioDmaMapFlags.Read | VfioDmaMapFlags.Write;

    public static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    public static VfioContainer Container(VfioIommuType type = VfioIommuType.Type1v2, uint limit = VfioContainer.DefaultDmaEntryLimit, HostMemory? host = null)
    {
        var c = new VfioContainer(host ?? new HostMemory(new PhysicalMemory()), limit);
        Assert.Equal(Errno.Ok, c.SetIommu(type));
        return c;
    }

    public static Errno Map(this VfioContainer c, ulong iova, ulong size, ulong vaddr = 0x1000_0000, VfioDmaMapFlags flags = RW) =>
        c.MapDma(new VfioDmaMap(iova, size, vaddr, flags));

    public static (Errno Errno, ulong Size) Unmap(this VfioContainer c, ulong iova, ulong size, VfioDmaUnmapFlags flags = VfioDmaUnmapFlags.None)
    {
        var u = new VfioDmaUnmap(iova, size, flags);
        Errno e = c.UnmapDma(ref u);
        return (e, u.Size);
    }

    public static IovaRange[] Ranges(this VfioContainer c) => c.Mappings.Select(m => m.Iova).ToArray();
}
