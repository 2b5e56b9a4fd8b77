using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;

namespace IommuKit.Conformance;

/// <summary>
/// Replays a step file against IommuKit's <see cref="VfioContainer"/> on the machine the golden kernel had: the VM's
/// fixed user memory as <see cref="HostMemory"/> regions and the IOMMU model's geometry.
/// </summary>
/// <remarks>
/// intel: a 39-bit domain (QEMU 7.2 intel-iommu default), page sizes 4K|2M|1G, reserved MSI window. virtio and amd
/// have 64-bit apertures that IommuKit's 48-bit page tables cannot hold, so their container has no domain: its
/// pgsize bitmap is PAGE_MASK and every iova is valid, but nothing is pinned and no window is reserved (known
/// divergences). Backends other than type1 (iommufd compat, IOAS) are not replayed: <see cref="Run"/> returns null.
/// </remarks>
public sealed class Type1Replayer(string iommu, VfioKernelRules rules)
{
    private static readonly IovaRange MsiWindow = IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff);

    private static readonly Dictionary<string, uint> MapFlagNames = new(StringComparer.Ordinal)
    {
        ["rw"] = 3,
        ["r"] = 1,
        ["w"] = 2,
        ["vaddr"] = 4,
        ["none"] = 0,
    };

    private static readonly Dictionary<string, uint> UnmapFlagNames = new(StringComparer.Ordinal)
    {
        ["all"] = 2,
        ["vaddr"] = 4,
        ["dirty"] = 1,
        ["none"] = 0,
    };

    private VfioContainer? _container;

    /// <summary>Whether a backend can be replayed.</summary>
    public static bool Supports(string backend) => backend is "type1v1" or "type1v2";

    /// <summary>IommuKit's answer for one step; null when the step is outside what the replayer models.</summary>
    public StepResult? Run(StepLine step) => step.Op switch
    {
        "backend" => Backend(step.Positional ?? ""),
        "map" => Map(step),
        "unmap" => Unmap(step),
        "info" => Info(step),
        "ext" => _container is null ? null : Ok(("ext", Extensions(_container))),
        _ => null, // early-set-iommu: VfioContainer has no group model
    };

    private StepResult? Backend(string kind)
    {
        if (!Supports(kind))
        {
            _container = null;
            return null;
        }

        var physical = new PhysicalMemory();
        var host = new HostMemory(physical,
        [
            new HostMemoryRegion(IovaRange.FromStartSize(StepLine.Buf, 1024 * PageSizes.Size4K), HostMemoryPermissions.ReadWrite),
            new HostMemoryRegion(IovaRange.FromStartSize(StepLine.Ro, 16 * PageSizes.Size4K), HostMemoryPermissions.Read),
        ]);
        var c = new VfioContainer(host, VfioContainer.DefaultDmaEntryLimit, rules);
        string pre = Extensions(c);
        Errno set = c.SetIommu(kind == "type1v2" ? VfioIommuType.Type1v2 : VfioIommuType.Type1);
        if (set != Errno.Ok)
        {
            return Fail(set, ("stage", "set-iommu"));
        }

        if (iommu == "intel")
        {
            var domain = new IommuDomain(new FrameAllocator(physical), new IommuDomainOptions
            {
                Aperture = IovaRange.FromFirstLast(0, (1UL << 39) - 1),
                PageSizes = PageSizes.X86,
                Reserved = [MsiWindow],
                EnforceCacheCoherency = false, // QEMU 7.2 intel-iommu has no snoop control
            });
            Errno attached = c.AttachDomain(domain);
            if (attached != Errno.Ok)
            {
                return Fail(attached, ("stage", "set-iommu"));
            }
        }

        _container = c;
        // group_flags (viable) and api (VFIO_API_VERSION) are harness constants: IommuKit has no group model.
        return Ok(("group_flags", "0x1"), ("api", "0"), ("ext_pre", pre), ("ext_post", Extensions(c)));
    }

    private StepResult? Map(StepLine step)
    {
        if (_container is null)
        {
            return null;
        }

        var map = new VfioDmaMap(step.Number("iova"), step.Number("size"), step.Va(), (VfioDmaMapFlags)step.Flags(MapFlagNames, 3))
        {
            Argsz = (uint)step.Number("argsz", VfioDmaMap.MinArgsz),
        };
        Errno e = _container.MapDma(map);
        return e == Errno.Ok ? Ok() : Fail(e);
    }

    private StepResult? Unmap(StepLine step)
    {
        if (_container is null)
        {
            return null;
        }

        uint argsz = (uint)step.Number("argsz", VfioDmaUnmap.MinArgsz);
        var u = new VfioDmaUnmap(step.Number("iova"), step.Number("size"), (VfioDmaUnmapFlags)step.Flags(UnmapFlagNames, 0))
        {
            Argsz = argsz,
            // vfiotest passes a zeroed 4 KiB argument block: any vfio_bitmap it carries is all zero.
            Bitmap = argsz >= VfioDmaUnmap.MinArgsz + VfioBitmap.StructSize ? new VfioBitmap(0, 0, null) : null,
        };
        Errno e = _container.UnmapDma(ref u);
        (string, string) size = ("size", Hex(u.Size));
        return e == Errno.Ok ? Ok(size) : Fail(e, size);
    }

    private StepResult? Info(StepLine step)
    {
        if (_container is null)
        {
            return null;
        }

        var info = new VfioIommuInfo((uint)step.Number("argsz", 4096));
        Errno e = _container.GetInfo(info);
        if (e != Errno.Ok)
        {
            return Fail(e);
        }

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
                outs.Add(("ranges", string.Join(',', ranges.Ranges.Select(r => $"{Hex(r.First)}-{Hex(r.Last)}"))));
            }
        }

        return Ok([.. outs]);
    }

    private static string Extensions(VfioContainer c) =>
        string.Join(',', Enumerable.Range(1, 10).Select(i => c.CheckExtension((VfioExtension)i).ToString(CultureInfo.InvariantCulture)));

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static StepResult Ok(params (string Key, string Value)[] outs) => new(0, "0", ToDict(outs));

    private static StepResult Fail(Errno e, params (string Key, string Value)[] outs) => new(-1, e.ToString(), ToDict(outs));

    private static Dictionary<string, string> ToDict((string Key, string Value)[] outs) =>
        outs.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);
}
