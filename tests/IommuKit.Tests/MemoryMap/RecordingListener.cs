using System.Globalization;
using IommuKit.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

/// <summary>Records every callback as a line "name op region [first, last] @offset" into a shared log.</summary>
internal sealed class RecordingListener(string name, List<string> log, int priority = 0) : IMemoryListener
{
    public int Priority => priority;

    public List<MemoryRegionSection> Added { get; } = [];

    public List<MemoryRegionSection> Deleted { get; } = [];

    public List<MemoryRegionSection> Nops { get; } = [];

    public void Begin() => log.Add($"{name} begin");

    public void Commit() => log.Add($"{name} commit");

    public void RegionAdd(MemoryRegionSection section)
    {
        Added.Add(section);
        log.Add($"{name} add {Describe(section)}");
    }

    public void RegionDel(MemoryRegionSection section)
    {
        Deleted.Add(section);
        log.Add($"{name} del {Describe(section)}");
    }

    public void RegionNop(MemoryRegionSection section)
    {
        Nops.Add(section);
        log.Add($"{name} nop {Describe(section)}");
    }

    public static string Describe(MemoryRegionSection s) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{s.Region.Name} [0x{s.Range.First:x}, 0x{s.Range.Last:x}] @0x{s.OffsetWithinRegion:x}{(s.ReadOnly ? " ro" : "")}");
}
