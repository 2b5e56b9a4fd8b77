using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Vfio;

namespace IommuKit.Tests.Vfio;

/// <summary>A container adapter that records calls and answers what the test says.</summary>
internal sealed class VfioListenerFakeBackend : IVfioListenerBackend
{
    public string Name => "fake";

    public ulong MinIommuPageSize { get; init; } = 0x1000;

    public bool SupportsUnmapAll { get; init; }

    public bool SupportsFullRange { get; init; }

    public Errno MapResult { get; set; } = Errno.Ok;

    public List<string> Log { get; } = [];

    public Errno Map(ulong iova, ulong size, ulong vaddr, bool readOnly)
    {
        Log.Add($"map 0x{iova:x} 0x{size:x} 0x{vaddr:x} {(readOnly ? "ro" : "rw")}");
        return MapResult;
    }

    public Errno Unmap(ulong iova, ulong size)
    {
        Log.Add($"unmap 0x{iova:x} 0x{size:x}");
        return Errno.Ok;
    }

    public Errno UnmapAll(out ulong iova, out ulong size)
    {
        iova = 0;
        size = 0;
        Log.Add("unmap-all");
        return Errno.Ok;
    }

    public Errno MapFullRange(IovaRange range, ulong vaddr, bool readOnly)
    {
        Log.Add($"map-full {range}");
        return Errno.Ok;
    }

    public Errno UnmapFullRange(IovaRange range)
    {
        Log.Add($"unmap-full {range}");
        return Errno.Ok;
    }
}
