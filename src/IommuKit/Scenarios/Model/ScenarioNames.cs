using IommuKit.Linux;

namespace IommuKit.Scenarios;

/// <summary>The spellings scenario files use for enum values (<c>vfio-type1v2</c>, <c>not-present</c>, <c>EINVAL</c>).</summary>
public static class ScenarioNames
{
    internal static readonly NameTable<IommuFormat> IommuFormats = new(
        ("x86-sl-4level", IommuFormat.X86Sl4Level),
        ("x86-sl-5level", IommuFormat.X86Sl5Level),
        ("arm-lpae-48", IommuFormat.ArmLpae48));

    internal static readonly NameTable<ContainerKind> ContainerKinds = new(
        ("vfio-type1", ContainerKind.VfioType1),
        ("vfio-type1v2", ContainerKind.VfioType1v2),
        ("iommufd", ContainerKind.Iommufd),
        ("iommufd-compat-type1", ContainerKind.IommufdCompatType1),
        ("iommufd-compat-type1v2", ContainerKind.IommufdCompatType1v2));

    internal static readonly NameTable<KernelVersion> KernelVersions = new(
        ("newest", KernelVersion.Newest),
        ("6.12", KernelVersion.V6_12),
        ("6.1", KernelVersion.V6_1));

    internal static readonly NameTable<AccessPermissions> Permissions = new(
        ("r", AccessPermissions.Read),
        ("w", AccessPermissions.Write),
        ("rw", AccessPermissions.ReadWrite));

    internal static readonly NameTable<RegionKind> RegionKinds = new(
        ("ram", RegionKind.Ram),
        ("rom", RegionKind.Rom),
        ("mmio", RegionKind.Mmio),
        ("alias", RegionKind.Alias),
        ("iommu", RegionKind.Iommu),
        ("container", RegionKind.Container),
        ("ram-device", RegionKind.RamDevice),
        ("rom-device", RegionKind.RomDevice));

    internal static readonly NameTable<ListenerKind> ListenerKinds = new(
        ("none", ListenerKind.None),
        ("vfio", ListenerKind.Vfio));

    internal static readonly NameTable<DeviceAttachment> Attachments = new(
        ("none", DeviceAttachment.None),
        ("guest-iommu", DeviceAttachment.GuestIommu));

    internal static readonly NameTable<MapStepFlags> MapFlags = new(
        ("read", MapStepFlags.Read),
        ("write", MapStepFlags.Write),
        ("vaddr", MapStepFlags.Vaddr));

    internal static readonly NameTable<UnmapStepFlags> UnmapFlags = new(
        ("all", UnmapStepFlags.All),
        ("vaddr", UnmapStepFlags.Vaddr),
        ("get-dirty-bitmap", UnmapStepFlags.GetDirtyBitmap));

    internal static readonly NameTable<IoasMapStepFlags> IoasMapFlags = new(
        ("fixed-iova", IoasMapStepFlags.FixedIova),
        ("readable", IoasMapStepFlags.Readable),
        ("writeable", IoasMapStepFlags.Writeable));

    internal static readonly NameTable<InvalidationScope> Scopes = new(
        ("global", InvalidationScope.Global),
        ("domain", InvalidationScope.Domain),
        ("page", InvalidationScope.Page));

    internal static readonly NameTable<DmaDirection> Directions = new(
        ("read", DmaDirection.Read),
        ("write", DmaDirection.Write));

    internal static readonly NameTable<ScenarioFaultKind> FaultKinds = new(
        ("not-present", ScenarioFaultKind.NotPresent),
        ("read-only", ScenarioFaultKind.ReadOnly),
        ("write-only", ScenarioFaultKind.WriteOnly),
        ("out-of-range", ScenarioFaultKind.OutOfRange));

    internal static readonly NameTable<TranslationStage> Stages = new(
        ("guest", TranslationStage.Guest),
        ("host", TranslationStage.Host));

    internal static readonly NameTable<ListenerCallKind> ListenerCalls = new(
        ("map", ListenerCallKind.Map),
        ("unmap", ListenerCallKind.Unmap),
        ("unmap-all", ListenerCallKind.UnmapAll));

    /// <summary>The file spelling of a page-table format.</summary>
    public static string Of(IommuFormat value) => IommuFormats.NameOf(value);

    /// <summary>The file spelling of a container kind.</summary>
    public static string Of(ContainerKind value) => ContainerKinds.NameOf(value);

    /// <summary>The file spelling of a kernel version.</summary>
    public static string Of(KernelVersion value) => KernelVersions.NameOf(value);

    /// <summary>The file spelling of a region kind.</summary>
    public static string Of(RegionKind value) => RegionKinds.NameOf(value);

    /// <summary>The file spelling of a fault kind.</summary>
    public static string Of(ScenarioFaultKind value) => FaultKinds.NameOf(value);

    /// <summary>The file spelling of a translation stage.</summary>
    public static string Of(TranslationStage value) => Stages.NameOf(value);

    /// <summary>The file spelling of a listener call.</summary>
    public static string Of(ListenerCallKind value) => ListenerCalls.NameOf(value);

    /// <summary>The file spelling of a permission set: <c>r</c>, <c>w</c>, <c>rw</c> (or <c>none</c>).</summary>
    public static string Of(AccessPermissions value) => value == AccessPermissions.None ? "none" : Permissions.NameOf(value);

    /// <summary>The file spelling of an errno: <c>ok</c> for <see cref="Errno.Ok"/>, else the name (<c>EINVAL</c>).</summary>
    public static string Of(Errno value) => value == Errno.Ok
        ? "ok"
        : Enum.IsDefined(value) ? value.ToString() : $"errno {(int)value}";

    /// <summary>
    /// Parses an expectation result: <c>ok</c> or an errno name spelled exactly as in <see cref="Errno"/>
    /// (<c>EINVAL</c>; not <c>einval</c>, not a number).
    /// </summary>
    public static bool TryParseErrno(string text, out Errno errno)
    {
        errno = Errno.Ok;
        if (text == "ok")
        {
            return true;
        }

        // Enum.TryParse also accepts numbers and comma lists: insist on a name, E followed by capitals and digits.
        if (text.Length < 2 || text[0] != 'E' || !text.AsSpan(1).ContainsOnlyUpperOrDigit())
        {
            return false;
        }

        return Enum.TryParse(text, ignoreCase: false, out errno) && errno != Errno.Ok && Enum.IsDefined(errno);
    }

    private static bool ContainsOnlyUpperOrDigit(this ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= '0' and <= '9')))
            {
                return false;
            }
        }

        return true;
    }
}
