using System.Globalization;
using System.Text;
using IommuKit.Scenarios;

namespace IommuKit.Conformance;

/// <summary>
/// Turns a scenario file's container steps into a step file for the VM driver (<c>conformance/linux-vm/vfiotest.c</c>),
/// so the same operations can be run on a real kernel with <c>conformance/linux-vm/run.sh</c>.
/// </summary>
/// <remarks>
/// <para>Backends: <c>vfio-type1</c> → <c>type1v1</c>, <c>vfio-type1v2</c> → <c>type1v2</c>, the type1v2 compat
/// container → <c>compat</c> (<c>compat-nodev</c> with <c>domain: false</c>), <c>iommufd</c> → <c>ioas-dev</c>
/// (<c>ioas</c> with <c>domain: false</c>). The VM's type1 container always has the device's domain, and the VM has no
/// type1 compat-v1 backend (<see cref="Export"/> refuses it).</para>
/// <para>User addresses: the VM's memory is fixed (<c>buf</c>: 1024 read-write pages at <see cref="StepLine.Buf"/>,
/// <c>ro</c>: 16 read-only pages at <see cref="StepLine.Ro"/>). A scenario vaddr inside a host-memory region is
/// moved into <c>buf</c> (or <c>ro</c> for a read-only region) at its offset from the lowest vaddr the file uses in
/// that region, rounded down to 2 MiB so alignment (and iommufd's allocation) is kept, or to 4 KiB when the 2 MiB
/// rounding does not fit. A vaddr that does not fit, or
/// that is outside every region (unbacked), is written as a number, with a note.</para>
/// <para>Steps that are not kernel ioctls (<c>expect-mappings</c>, <c>ioas-reserve</c>, memory-map and guest ops) and
/// sizes of 2^64 or more are left out as comments naming the scenario line.</para>
/// </remarks>
public static class ScenarioStepExporter
{
    private const ulong BufSize = 1024 * 4096;
    private const ulong RoSize = 16 * 4096;
    private const ulong Align2M = 2 * 1024 * 1024;

    /// <summary>The step file text for <paramref name="document"/>.</summary>
    /// <exception cref="ArgumentException">The container kind has no VM backend (type1 v1 compat).</exception>
    public static string Export(ScenarioDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        ContainerConfig container = document.Container;
        string backend = container.Kind switch
        {
            ContainerKind.VfioType1 => "type1v1",
            ContainerKind.VfioType1v2 => "type1v2",
            ContainerKind.IommufdCompatType1v2 => container.Domain ? "compat" : "compat-nodev",
            ContainerKind.Iommufd => container.Domain ? "ioas-dev" : "ioas",
            _ => "",
        };
        if (backend.Length == 0)
        {
            ThrowHelper.ThrowArgument(nameof(document), $"{document.File}: container kind {container.Kind} has no VM backend (vfiotest runs type1 v1/v2, type1v2 compat and native IOAS)");
        }

        Dictionary<HostMemoryRegion, ulong> bases = Bases(document, Align2M);
        Dictionary<HostMemoryRegion, ulong> pageBases = Bases(document, 4096);
        foreach ((ulong va, UInt128 size) in UserAddresses(document.Steps))
        {
            // Keep 2 MiB alignment when everything fits that way; otherwise fall back to 4K alignment.
            if (Region(document, va) is { } r && (UInt128)(va - bases[r]) + size > Capacity(r))
            {
                bases[r] = pageBases[r];
            }
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# exported by `iommukit conformance export` from {Path.GetFileName(document.File)}");
        text.Append(document.Name is null ? "\n" : $": {document.Name}\n");
        string kernel = container.Kernel switch
        {
            KernelVersion.V6_12 => "6.12",
            KernelVersion.V6_1 => "6.1",
            _ => "newest",
        };
        text.Append(CultureInfo.InvariantCulture, $"# scenario: kind {container.Kind}, domain {(container.Domain ? "on" : "off")}, kernel {kernel}\n");
        if (!container.Domain && backend.StartsWith("type1", StringComparison.Ordinal))
        {
            text.Append("# note: the scenario has no IOMMU domain; the VM's type1 container always has the device's domain (pinning, aperture)\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"backend {backend}\n");
        foreach (ScenarioStep step in document.Steps)
        {
            string at = $"{Path.GetFileName(document.File)}:{step.Position.Line}";
            string? line = Line(document, bases, step, out string? note);
            if (line is null)
            {
                text.Append(CultureInfo.InvariantCulture, $"# skipped {at}: {step.Op}: {note}\n");
                continue;
            }

            text.Append(CultureInfo.InvariantCulture, $"{line}  # {at}{(note is null ? "" : "; " + note)}\n");
        }

        return text.ToString();
    }

    private static string? Line(ScenarioDocument doc, Dictionary<HostMemoryRegion, ulong> bases, ScenarioStep step, out string? note)
    {
        note = null;
        switch (step)
        {
            case MapStep m when m.Size <= ulong.MaxValue:
                {
                    string va = Va(doc, bases, m.Vaddr, m.Size, ref note);
                    string flags = Flags(
                        ((m.Flags & MapStepFlags.Read) != 0, "r"), ((m.Flags & MapStepFlags.Write) != 0, "w"), ((m.Flags & MapStepFlags.Vaddr) != 0, "vaddr"));
                    return $"map iova={Hex(m.Iova)} size={Hex((ulong)m.Size)} va={va} flags={flags}";
                }

            case UnmapStep u when u.Size <= ulong.MaxValue:
                {
                    bool dirty = (u.Flags & UnmapStepFlags.GetDirtyBitmap) != 0;
                    string flags = Flags(((u.Flags & UnmapStepFlags.All) != 0, "all"), ((u.Flags & UnmapStepFlags.Vaddr) != 0, "vaddr"), (dirty, "dirty"));
                    return $"unmap iova={Hex(u.Iova)} size={Hex((ulong)u.Size)} flags={flags}{(dirty ? " argsz=48" : "")}";
                }

            case GetInfoStep:
                return "info";
            case IoasMapStep m when m.Length <= ulong.MaxValue:
                {
                    string va = Va(doc, bases, m.UserVa, m.Length, ref note);
                    bool fixedIova = (m.Flags & IoasMapStepFlags.FixedIova) != 0;
                    string iova = fixedIova ? $" iova={Hex(m.Iova ?? 0)}" : " alloc=1";
                    return $"ioas-map length={Hex((ulong)m.Length)}{iova} va={va} flags={IoasFlags(m.Flags)}";
                }

            case IoasUnmapStep u when u.Length <= ulong.MaxValue:
                return $"ioas-unmap iova={Hex(u.Iova)} length={((ulong)u.Length == ulong.MaxValue ? "max" : Hex((ulong)u.Length))}";
            case IoasCopyStep c when c.Length <= ulong.MaxValue:
                {
                    bool fixedIova = (c.Flags & IoasMapStepFlags.FixedIova) != 0;
                    string dst = fixedIova ? $" dst={Hex(c.DstIova ?? 0)}" : " alloc=1";
                    return $"ioas-copy src={Hex(c.SrcIova)} length={Hex((ulong)c.Length)}{dst} flags={IoasFlags(c.Flags)}";
                }

            case IoasIovaRangesStep r:
                if (r.Capacity > 64)
                {
                    note = "capacity above vfiotest's 64";
                    return null;
                }

                return r.Capacity is uint cap ? $"ioas-iova-ranges capacity={cap}" : "ioas-iova-ranges";
            case IoasAllowIovasStep a:
                return "ioas-allow-iovas ranges=" + string.Join(',', a.Ranges.Select(r => $"{Hex(r.Start)}-{Hex(r.Last)}"));
            case MapStep or UnmapStep or IoasMapStep or IoasUnmapStep or IoasCopyStep:
                note = "a size of 2^64 or more does not fit the UAPI's u64";
                return null;
            default:
                note = "not a kernel ioctl";
                return null;
        }
    }

    private static string Va(ScenarioDocument doc, Dictionary<HostMemoryRegion, ulong> bases, ulong va, UInt128 size, ref string? note)
    {
        if (Region(doc, va) is { } r && bases.TryGetValue(r, out ulong b))
        {
            bool readOnly = (r.Perm & AccessPermissions.Write) == 0;
            ulong offset = va - b; // b <= va: the lowest 2M boundary of the addresses used in r
            if ((UInt128)offset + size <= (readOnly ? RoSize : BufSize))
            {
                string name = readOnly ? "ro" : "buf";
                return offset == 0 ? name : $"{name}+{Hex(offset)}";
            }

            note = $"vaddr {Hex(va)} does not fit the VM's {(readOnly ? "16-page ro" : "1024-page buf")} region";
            return Hex(va);
        }

        note = $"vaddr {Hex(va)} is unbacked in the scenario";
        return Hex(va);
    }

    // The lowest address the file uses in each region, rounded down to align.
    private static Dictionary<HostMemoryRegion, ulong> Bases(ScenarioDocument doc, ulong align)
    {
        var bases = new Dictionary<HostMemoryRegion, ulong>();
        foreach ((ulong va, _) in UserAddresses(doc.Steps))
        {
            if (Region(doc, va) is { } r)
            {
                ulong b = va & ~(align - 1);
                bases[r] = bases.TryGetValue(r, out ulong old) ? Math.Min(old, b) : b;
            }
        }

        return bases;
    }

    private static ulong Capacity(HostMemoryRegion r) => (r.Perm & AccessPermissions.Write) == 0 ? RoSize : BufSize;

    private static HostMemoryRegion? Region(ScenarioDocument doc, ulong va) =>
        doc.HostMemory.FirstOrDefault(r => va >= r.Vaddr && (UInt128)(va - r.Vaddr) < r.Size);

    private static IEnumerable<(ulong Va, UInt128 Size)> UserAddresses(IEnumerable<ScenarioStep> steps)
    {
        foreach (ScenarioStep s in steps)
        {
            switch (s)
            {
                case MapStep m:
                    yield return (m.Vaddr, m.Size);
                    break;
                case IoasMapStep m:
                    yield return (m.UserVa, m.Length);
                    break;
            }
        }
    }

    private static string IoasFlags(IoasMapStepFlags flags) =>
        Flags(((flags & IoasMapStepFlags.Readable) != 0, "r"), ((flags & IoasMapStepFlags.Writeable) != 0, "w"));

    private static string Flags(params (bool On, string Name)[] flags)
    {
        string joined = string.Join(',', flags.Where(f => f.On).Select(f => f.Name));
        return joined.Length == 0 ? "none" : joined;
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}
