using IommuKit.Iommu;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Conformance.StepOutput;

namespace IommuKit.Conformance;

/// <summary>
/// Replays the iommufd steps of a step file against IommuKit's <see cref="Iommufd.Iommufd"/>: <c>backend compat</c>
/// (<c>/dev/iommu</c> as a VFIO container, <see cref="IommufdVfioCompat"/>, the device's domain attached when the
/// device fd opens), <c>compat-nodev</c> (no domain), <c>ioas</c> (a native IOAS, no device) and <c>ioas-dev</c> (the
/// device attached to the IOAS), with the VFIO ops (<c>map</c>, <c>unmap</c>, <c>info</c>, <c>ext</c>) on compat and
/// the <c>ioas-*</c> ops on every iommufd backend.
/// </summary>
/// <remarks>
/// The kernel used here (custom 6.12.117) has transparent huge pages, so the IOAS allocator's alignment cap is 2 MiB.
/// The device object is not modelled: <c>devid</c> is the harness constant 2 (the id the kernel gave it after the IOAS).
/// </remarks>
public sealed class IommufdReplayer
{
    private const int MaxRanges = 64; // vfiotest's MAX_RANGES: the default ioas-iova-ranges capacity

    private readonly IommuModel _model;
    private Iommufd.Iommufd? _fd;
    private IommufdVfioCompat? _compat;
    private uint _ioasId;

    /// <summary>Creates a replayer whose device sits behind <paramref name="model"/>.</summary>
    public IommufdReplayer(IommuModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>Whether a backend is an iommufd one.</summary>
    public static bool Supports(string backend) => backend is "compat" or "compat-nodev" or "ioas" or "ioas-dev";

    /// <summary>IommuKit's answer for one step; null when the step is outside what the replayer models.</summary>
    public StepResult? Run(StepLine step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Op == "backend")
        {
            return Backend(step.Positional ?? "");
        }

        if (_fd is null)
        {
            return null;
        }

        return step.Op switch
        {
            "map" => _compat is null ? null : Result(_compat.MapDma(MapArgs(step))),
            "unmap" => _compat is null ? null : Unmap(_compat, step),
            "info" => _compat is null ? IovaRanges(_fd, MaxRanges) : Info(_compat, step),
            "ext" => _compat is null ? null : Ok(("ext", Extensions(_compat.CheckExtension))),
            "ioas-map" => IoasMap(_fd, step),
            "ioas-unmap" => IoasUnmap(_fd, step),
            "ioas-copy" => IoasCopy(_fd, step),
            "ioas-iova-ranges" => IovaRanges(_fd, (int)step.Number("capacity", MaxRanges)),
            "ioas-allow-iovas" => AllowIovas(_fd, step),
            _ => null,
        };
    }

    private StepResult? Backend(string kind)
    {
        _fd = null;
        _compat = null;
        if (!Supports(kind))
        {
            return null;
        }

        var physical = new PhysicalMemory();
        var fd = new Iommufd.Iommufd(VmHostMemory(physical), transparentHugePages: true);
        Errno attached;
        uint hwpt;
        if (kind is "ioas" or "ioas-dev")
        {
            var alloc = new IommuIoasAlloc();
            Errno rc = fd.IoasAlloc(ref alloc);
            if (rc != Errno.Ok)
            {
                return Fail(rc, ("stage", "ioas-alloc"));
            }

            _fd = fd;
            _ioasId = alloc.OutIoasId;
            if (kind == "ioas")
            {
                return Ok(("ioas", Dec(_ioasId)));
            }

            attached = Attach(fd, physical, out hwpt);
            return attached == Errno.Ok
                ? Ok(("ioas", Dec(_ioasId)), ("devid", "2"), ("pt", Dec(hwpt)))
                : Fail(attached, ("ioas", Dec(_ioasId)), ("devid", "2"), ("stage", "attach-pt"));
        }

        var compat = new IommufdVfioCompat(fd);
        string pre = Extensions(compat.CheckExtension);
        _ioasId = fd.GetOrCreateCompatIoas().Id; // VFIO_GROUP_SET_CONTAINER with an iommufd
        Errno set = compat.SetIommu(VfioIommuType.Type1v2);
        if (set != Errno.Ok)
        {
            return Fail(set, ("stage", "set-iommu"));
        }

        string post = Extensions(compat.CheckExtension);
        var get = new IommuVfioIoas { Op = IommuVfioIoas.OpGet };
        string ioas = fd.VfioIoas(ref get) == Errno.Ok ? Dec(get.IoasId) : "0";
        if (kind == "compat")
        {
            attached = Attach(fd, physical, out _); // VFIO_GROUP_GET_DEVICE_FD attaches the domain
            if (attached != Errno.Ok)
            {
                return Fail(attached, ("stage", "get-device-fd"));
            }
        }

        _fd = fd;
        _compat = compat;
        return Ok(("group_flags", "0x1"), ("ext_pre", pre), ("ext_post", post), ("ioas", ioas));
    }

    private Errno Attach(Iommufd.Iommufd fd, PhysicalMemory physical, out uint hwpt) => _model.HasPageTable
        ? fd.AttachDomain(_ioasId, new IommuDomain(new FrameAllocator(physical), _model.ToDomainOptions()), out hwpt)
        : fd.AttachDomain(_ioasId, new ApertureDomain(_model), out hwpt);

    private static VfioDmaMap MapArgs(StepLine step) =>
        new(step.Number("iova"), step.Number("size"), step.Va(), (VfioDmaMapFlags)step.Flags(MapFlagNames, 3))
        {
            Argsz = (uint)step.Number("argsz", VfioDmaMap.MinArgsz),
        };

    private static StepResult Unmap(IommufdVfioCompat compat, StepLine step)
    {
        VfioDmaUnmap u = Type1Replayer.UnmapArgs(step);
        Errno e = compat.UnmapDma(ref u);
        return Result(e, ("size", Hex(u.Size)));
    }

    private static StepResult Info(IommufdVfioCompat compat, StepLine step)
    {
        var info = new VfioIommuInfo((uint)step.Number("argsz", 4096));
        Errno e = compat.GetInfo(info);
        return e == Errno.Ok ? StepOutput.Info(info) : Fail(e);
    }

    private StepResult IoasMap(Iommufd.Iommufd fd, StepLine step)
    {
        IoasMapFlags flags = (IoasMapFlags)step.Flags(IoasFlagNames, 6);
        if (step.Number("alloc") == 0)
        {
            flags |= IoasMapFlags.FixedIova;
        }

        var cmd = new IommuIoasMap
        {
            Flags = flags,
            IoasId = _ioasId,
            UserVa = step.Va(),
            Length = step.Number("length"),
            Iova = step.Number("iova"),
        };
        Errno e = fd.IoasMap(ref cmd);
        return Result(e, ("iova", Hex(cmd.Iova)));
    }

    private StepResult IoasUnmap(Iommufd.Iommufd fd, StepLine step)
    {
        var cmd = new IommuIoasUnmap { IoasId = _ioasId, Iova = step.Number("iova"), Length = step.Number("length") };
        Errno e = fd.IoasUnmap(ref cmd);
        return Result(e, ("length", Hex(cmd.Length)));
    }

    private StepResult IoasCopy(Iommufd.Iommufd fd, StepLine step)
    {
        IoasMapFlags flags = (IoasMapFlags)step.Flags(IoasFlagNames, 6);
        if (step.Number("alloc") == 0)
        {
            flags |= IoasMapFlags.FixedIova;
        }

        var cmd = new IommuIoasCopy
        {
            Flags = flags,
            DstIoasId = _ioasId,
            SrcIoasId = _ioasId,
            Length = step.Number("length"),
            DstIova = step.Number("dst"),
            SrcIova = step.Number("src"),
        };
        Errno e = fd.IoasCopy(ref cmd);
        return Result(e, ("dst", Hex(cmd.DstIova)));
    }

    private StepResult IovaRanges(Iommufd.Iommufd fd, int capacity)
    {
        var ranges = new IommuIovaRange[capacity];
        var cmd = new IommuIoasIovaRanges { IoasId = _ioasId, NumIovas = (uint)capacity, AllowedIovas = ranges };
        Errno e = fd.IoasIovaRanges(ref cmd);
        if (e is not (Errno.Ok or Errno.EMSGSIZE))
        {
            return Fail(e);
        }

        int n = (int)Math.Min(cmd.NumIovas, (uint)capacity);
        return Result(e,
            ("num", Dec(cmd.NumIovas)),
            ("align", Hex(cmd.OutIovaAlignment)),
            ("ranges", Ranges(ranges.Take(n).Select(r => (r.Start, r.Last)))));
    }

    private StepResult AllowIovas(Iommufd.Iommufd fd, StepLine step)
    {
        string text = step.Args.TryGetValue("ranges", out string? v) ? v : "";
        IommuIovaRange[] ranges = [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r =>
        {
            string[] ends = r.Split('-', 2);
            return new IommuIovaRange(StepLine.ParseNumber(ends[0]), StepLine.ParseNumber(ends[1]));
        })];
        var cmd = new IommuIoasAllowIovas { IoasId = _ioasId, NumIovas = (uint)ranges.Length, AllowedIovas = ranges };
        return Result(fd.IoasAllowIovas(ref cmd));
    }
}
