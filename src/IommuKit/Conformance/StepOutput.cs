using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;

namespace IommuKit.Conformance;

/// <summary>Result lines printed exactly as <c>vfiotest</c> prints them, and the VM's fixed user memory.</summary>
internal static class StepOutput
{
    public static readonly Dictionary<string, uint> MapFlagNames = new(StringComparer.Ordinal)
    {
        ["rw"] = 3,
        ["r"] = 1,
        ["w"] = 2,
        ["vaddr"] = 4,
        ["none"] = 0,
    };

    public static readonly Dictionary<string, uint> UnmapFlagNames = new(StringComparer.Ordinal)
    {
        ["all"] = 2,
        ["vaddr"] = 4,
        ["dirty"] = 1,
        ["none"] = 0,
    };

    // IOMMU_IOAS_MAP_*: FIXED_IOVA = 1, WRITEABLE = 2, READABLE = 4.
    public static readonly Dictionary<string, uint> IoasFlagNames = new(StringComparer.Ordinal)
    {
        ["rw"] = 6,
        ["r"] = 4,
        ["w"] = 2,
        ["fixed"] = 1,
        ["none"] = 0,
    };

    /// <summary>The VM's user memory: 1024 read-write pages at <c>buf</c>, 16 read-only pages at <c>ro</c>.</summary>
    public static HostMemory VmHostMemory(PhysicalMemory physical) => new(physical,
    [
        new HostMemoryRegion(IovaRange.FromStartSize(StepLine.Buf, 1024 * PageSizes.Size4K), HostMemoryPermissions.ReadWrite),
        new HostMemoryRegion(IovaRange.FromStartSize(StepLine.Ro, 16 * PageSizes.Size4K), HostMemoryPermissions.Read),
    ]);

    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    public static string Dec(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static StepResult Ok(params (string Key, string Value)[] outs) => new(0, "0", ToDict(outs));

    public static StepResult Fail(Errno e, params (string Key, string Value)[] outs) => new(-1, e.ToString(), ToDict(outs));

    public static StepResult Result(Errno e, params (string Key, string Value)[] outs) => e == Errno.Ok ? Ok(outs) : Fail(e, outs);

    /// <summary>CHECK_EXTENSION 1..10 as a comma list; a negative answer is an errno name.</summary>
    public static string Extensions(Func<VfioExtension, int> check) =>
        string.Join(',', Enumerable.Range(1, 10).Select(i =>
        {
            int r = check((VfioExtension)i);
            return r < 0 ? ((Errno)(-r)).ToString() : r.ToString(CultureInfo.InvariantCulture);
        }));

    /// <summary>The out fields of a successful GET_INFO.</summary>
    public static StepResult Info(VfioIommuInfo info)
    {
        var outs = new List<(string, string)>
        {
            ("argsz", info.Argsz.ToString(CultureInfo.InvariantCulture)),
            ("flags", Hex((ulong)info.Flags)),
            ("pgsizes", Hex(info.IovaPgsizes)),
            ("cap_offset", Hex(info.CapOffset)),
        };
        if (info.Caps.Count > 0)
        {
            outs.Add(("caps", string.Join(',', info.Caps.Select(cap => $"{cap.Id}.v{cap.Version}"))));
            if (info.Find<VfioInfoCapMigration>() is { } mig)
            {
                outs.Add(("mig_flags", Hex(mig.Flags)));
                outs.Add(("mig_pgsizes", Hex(mig.PgsizeBitmap)));
                outs.Add(("mig_max_bitmap", Hex(mig.MaxDirtyBitmapSize)));
            }

            if (info.Find<VfioInfoCapDmaAvail>() is { } avail)
            {
                outs.Add(("avail", avail.Avail.ToString(CultureInfo.InvariantCulture)));
            }

            if (info.Find<VfioInfoCapIovaRange>() is { } ranges)
            {
                outs.Add(("ranges", Ranges(ranges.Ranges.Select(r => (r.First, r.Last)))));
            }
        }

        return Ok([.. outs]);
    }

    public static string Ranges(IEnumerable<(ulong First, ulong Last)> ranges) =>
        string.Join(',', ranges.Select(r => $"{Hex(r.First)}-{Hex(r.Last)}"));

    private static Dictionary<string, string> ToDict((string Key, string Value)[] outs) =>
        outs.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);
}
