using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using IommuKit.Scenarios.Executors;
using IommuKit.Vfio;

namespace IommuKit.Tests.Vfio;

/// <summary>One test per rule of QEMU's VFIO listener (qemu-memory-vfio.md §2), with numbers.</summary>
public class VfioListenerTests
{
    private const ulong Host = 0x7f00_0000_0000;

    private static (global::IommuKit.MemoryMap.MemoryMap Map, MemoryRegion Root, AddressSpace Space) NewMap()
    {
        var map = new global::IommuKit.MemoryMap.MemoryMap();
        MemoryRegion root = map.CreateContainer("system", ulong.MaxValue);
        return (map, root, map.CreateAddressSpace("memory", root));
    }

    private static (VfioListener Listener, VfioListenerFakeBackend Backend) Attach(AddressSpace space,
        VfioListenerFakeBackend? backend = null, VfioListenerOptions? options = null)
    {
        backend ??= new VfioListenerFakeBackend();
        var listener = new VfioListener(backend, space, options);
        space.RegisterListener(listener);
        return (listener, backend);
    }

    [Fact]
    public void RegionAdd_MapsRamAtHostAddressPlusOffset_Section2_2()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x20000, Host));
        var (_, backend) = Attach(space);
        Assert.Equal(["map 0x0 0x20000 0x7f0000000000 rw"], backend.Log);
    }

    [Fact]
    public void RegionAdd_SkipsMmioAndContainersAndRomDevice_Section2_1_1()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0x1000_0000, map.CreateIo("mmio", 0x1000, null));
        root.AddSubregion(0x2000_0000, map.CreateRomDevice("romd", 0x1000));
        var (listener, backend) = Attach(space);
        Assert.Empty(backend.Log);
        Assert.Empty(listener.Errors);
    }

    [Fact]
    public void RegionAdd_SkipsBit63_ButMapsTheLastPageBelowIt_Section2_1_1()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0x8000_0000_0000_0000, map.CreateRam("bar-sizing", 0x1000, Host));
        root.AddSubregion(0xffff_ffff_ffff_f000, map.CreateRam("top", 0x1000, Host + 0x1000));
        root.AddSubregion(0x7fff_ffff_ffff_f000, map.CreateRam("below", 0x1000, Host + 0x2000));
        var (_, backend) = Attach(space);
        Assert.Equal(["map 0x7ffffffffffff000 0x1000 0x7f0000002000 rw"], backend.Log);
    }

    [Fact]
    public void RegionAdd_UnalignedRegion_IsReportedAndNotMapped_Section2_1_2()
    {
        var (map, root, space) = NewMap();
        MemoryRegion ram = map.CreateRam("ram0", 0x10000, Host);
        // oas 0x20000 (low bits 0x000) but offset within region 0x800 (low bits 0x800).
        root.AddSubregion(0x20000, map.CreateAlias("win", ram, 0x800, 0x2000));
        var (listener, backend) = Attach(space);
        Assert.Empty(backend.Log);
        VfioListenerError error = Assert.Single(listener.Errors);
        Assert.Equal(VfioListenerErrorKind.Reported, error.Kind);
        Assert.Contains("received unaligned region ram0", error.Message, StringComparison.Ordinal);
        Assert.Null(listener.SetupError);
    }

    [Fact]
    public void RegionAdd_PartiallyAlignedSection_MapsTheWholePagesInside_Vaddr_Section2_1_3()
    {
        var (map, root, space) = NewMap();
        MemoryRegion ram = map.CreateRam("ram0", 0x10000, Host);
        // oas 0x20800, ofr 0x3800: same low bits; iova = ALIGN_UP(0x20800) = 0x21000, llend = 0x23800 & ~0xfff = 0x23000.
        root.AddSubregion(0x20800, map.CreateAlias("win", ram, 0x3800, 0x3000));
        var (_, backend) = Attach(space);
        // vaddr = host + ofr + (iova - oas) = 0x7f0000000000 + 0x3800 + 0x800.
        Assert.Equal(["map 0x21000 0x2000 0x7f0000004000 rw"], backend.Log);
    }

    [Fact]
    public void RegionAdd_SectionSmallerThanAPageAfterAlignment_IsIgnored_Section2_1_3()
    {
        var (map, root, space) = NewMap();
        MemoryRegion ram = map.CreateRam("ram0", 0x1000, Host);
        // oas 0x1800, ofr 0x800, 0x800 bytes: ALIGN_UP(0x1800) = 0x2000 = llend, nothing left.
        root.AddSubregion(0x1800, map.CreateAlias("tiny", ram, 0x800, 0x800));
        var (listener, backend) = Attach(space);
        Assert.Empty(backend.Log);
        Assert.Empty(listener.Errors);
    }

    [Theory]
    [InlineData(0x1800UL, 0x2000UL, 0x1000UL, true, 0x2000UL, 0x2fffUL)]
    [InlineData(0x1800UL, 0x700UL, 0x1000UL, false, 0UL, 0UL)]
    [InlineData(0x0UL, 0x18000UL, 0x10000UL, true, 0x0UL, 0xffffUL)]
    [InlineData(0xffff_ffff_ffff_f000UL, 0x1000UL, 0x1000UL, true, 0xffff_ffff_ffff_f000UL, ulong.MaxValue)]
    [InlineData(0xffff_ffff_ffff_f800UL, 0x800UL, 0x1000UL, false, 0UL, 0UL)]
    public void IovaRange_Is128BitAligned_AndAnEndOf2Pow64Survives_Section2_1_3(ulong oas, ulong size, ulong page, bool nonEmpty, ulong first, ulong last)
    {
        var map = new global::IommuKit.MemoryMap.MemoryMap();
        MemoryRegion ram = map.CreateRam("r", 0x100000, Host);
        var section = new MemoryRegionSection(ram, oas, oas & (page - 1), size, false, false);
        Assert.Equal(nonEmpty, VfioListener.TryGetIovaRange(section, page, out IovaRange range));
        if (nonEmpty)
        {
            Assert.Equal(IovaRange.FromFirstLast(first, last), range);
        }
    }

    [Fact]
    public void IovaRange_Of2Pow64Section_IsTheFullSpace_NotAnOverflow_Section0_1()
    {
        var map = new global::IommuKit.MemoryMap.MemoryMap();
        MemoryRegion iommu = map.CreateIommu("dmar", ulong.MaxValue);
        var section = new MemoryRegionSection(iommu, 0, 0, IovaRange.SpaceSize, false, false);
        Assert.True(VfioListener.TryGetIovaRange(section, 0x1000, out IovaRange range));
        Assert.True(range.IsFull);
        Assert.Equal(IovaRange.SpaceSize, range.Size);
    }

    [Fact]
    public void HostPageSize64K_DrivesAlignment_RealHostPageAlign_Section2_1_2()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x18000, Host));
        root.AddSubregion(0x101000, map.CreateRam("odd", 0x20000, Host + 0x100000));
        var (listener, backend) = Attach(space, options: new VfioListenerOptions { HostPageSize = 0x10000 });
        // ram0 keeps [0, 0xffff]; odd is at 0x101000 with ofr 0: unaligned for 64K pages (fine for 4K).
        Assert.Equal(["map 0x0 0x10000 0x7f0000000000 rw"], backend.Log);
        Assert.Contains(listener.Errors, e => e.Message.Contains("unaligned region odd", StringComparison.Ordinal));
    }

    [Fact]
    public void RomAndReadOnlySections_AreMappedReadOnly_Section1_2()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0xfff0_0000, map.CreateRom("bios", 0x10000, Host));
        MemoryRegion ro = map.CreateRam("ro", 0x1000, Host + 0x10000);
        ro.SetReadOnly(true);
        root.AddSubregion(0x1000, ro);
        var (_, backend) = Attach(space);
        Assert.Equal(["map 0x1000 0x1000 0x7f0000010000 ro", "map 0xfff00000 0x10000 0x7f0000000000 ro"], backend.Log);
    }

    [Fact]
    public void RamDevice_SubIommuPageBar_IsSilentlyNotMapped_Section2_2_6()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0xc000_0000, map.CreateRamDevice("bar-4k", 0x1000, Host));
        root.AddSubregion(0xd000_0000, map.CreateRamDevice("bar-64k", 0x10000, Host + 0x10000));
        var backend = new VfioListenerFakeBackend { MinIommuPageSize = 0x10000 };
        var (listener, _) = Attach(space, backend);
        Assert.Equal(["map 0xd0000000 0x10000 0x7f0000010000 rw"], backend.Log);
        Assert.Empty(listener.Errors);
    }

    [Fact]
    public void RamDevice_MapFailure_IsAWarning_NotASetupError_Section2_2_7()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0xc000_0000, map.CreateRamDevice("bar", 0x1000, Host));
        var backend = new VfioListenerFakeBackend { MapResult = Errno.EINVAL };
        var (listener, _) = Attach(space, backend);
        Assert.Null(listener.SetupError);
        Assert.Equal(VfioListenerErrorKind.Warning, Assert.Single(listener.Errors).Kind);
    }

    [Fact]
    public void FirstErrorDuringRegistration_FailsSetup_NamingTheRegion_Section2_2_7()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x1000, Host));
        root.AddSubregion(0x10000, map.CreateRam("ram1", 0x1000, Host + 0x1000));
        var backend = new VfioListenerFakeBackend { MapResult = Errno.ENOSPC };
        var (listener, _) = Attach(space, backend);
        Assert.NotNull(listener.SetupError);
        Assert.StartsWith("Region ram0: ", listener.SetupError!.Value.Message, StringComparison.Ordinal);
        Assert.Equal(Errno.ENOSPC, listener.SetupError.Value.Errno);
        Assert.Equal(2, listener.Errors.Count);
        Assert.False(listener.HasFatalError);
    }

    [Fact]
    public void MapErrorAtRunTime_IsFatal_RecordedNotThrown_Section2_2_7()
    {
        var (map, root, space) = NewMap();
        var backend = new VfioListenerFakeBackend();
        var (listener, _) = Attach(space, backend);
        Assert.True(listener.Initialized);
        backend.MapResult = Errno.EEXIST;
        root.AddSubregion(0, map.CreateRam("ram0", 0x1000, Host));
        Assert.True(listener.HasFatalError);
        Assert.Contains("unable to continue", listener.Errors[0].Message, StringComparison.Ordinal);
        Assert.Null(listener.SetupError);
    }

    [Fact]
    public void RegionDel_UnmapsTheSameAlignedRange_Section2_4()
    {
        var (map, root, space) = NewMap();
        MemoryRegion ram = map.CreateRam("ram0", 0x10000, Host);
        MemoryRegion win = map.CreateAlias("win", ram, 0x3800, 0x3000);
        root.AddSubregion(0x20800, win);
        var (_, backend) = Attach(space);
        root.RemoveSubregion(win);
        Assert.Equal(["map 0x21000 0x2000 0x7f0000004000 rw", "unmap 0x21000 0x2000"], backend.Log);
    }

    [Theory]
    [InlineData(true, false, false, "unmap-full [0x0, 0xffffffffffffffff]")]
    [InlineData(false, true, false, "unmap-all")]
    [InlineData(false, false, false, "unmap 0x0 0x8000000000000000|unmap 0x8000000000000000 0x8000000000000000")]
    [InlineData(true, true, true, "unmap 0x0 0x8000000000000000|unmap 0x8000000000000000 0x8000000000000000")]
    public void RegionDel_Of2Pow64Section_UsesTheBestPrimitive_Section2_4_5(bool native, bool unmapAll, bool split, string expected)
    {
        var (map, root, space) = NewMap();
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue, new MemoryMapIommuHandler());
        root.AddSubregion(0, dmar);
        var backend = new VfioListenerFakeBackend { SupportsFullRange = native, SupportsUnmapAll = unmapAll };
        var (listener, _) = Attach(space, backend, new VfioListenerOptions { SplitFullRangeUnmap = split });
        Assert.Empty(backend.Log);
        root.RemoveSubregion(dmar);
        Assert.Equal(expected.Split('|'), backend.Log);
        Assert.Empty(listener.Errors);
        Assert.Empty(listener.Notifiers);
    }

    [Fact]
    public void IommuSection_RegistersNotifierOverItsRange_WithIommuOffset_AndReplays_Section2_2_4()
    {
        var (map, root, space) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x100000, Host));
        var handler = new MemoryMapIommuHandler();
        handler.Map(new IommuTlbEntry(0x4000, 0x5000, 0xfff, Permissions.ReadWrite));
        MemoryRegion dmar = map.CreateIommu("dmar", 0x1_0000_0000, handler);
        // Seen through an alias at 0x2_0000_0000 starting 0x1000 into the IOMMU region: ofr 0x1000, oas 0x2_0000_1000.
        MemoryRegion win = map.CreateAlias("win", dmar, 0x1000, 0x10000);
        root.AddSubregion(0x2_0000_1000, win);
        var (listener, backend) = Attach(space, options: null, backend: null);
        IommuNotifier n = Assert.Single(listener.Notifiers);
        Assert.Equal(0x1000UL, n.Start);
        Assert.Equal(0x10fffUL, n.End);
        Assert.Equal(IommuNotifierFlags.IotlbEvents, n.Flags);
        // Replay: guest iova 0x4000 -> gpa 0x5000 becomes iova 0x4000 + (oas - ofr) = 0x2_0000_4000 -> ram0 host + 0x5000.
        Assert.Equal(["map 0x0 0x100000 0x7f0000000000 rw", "map 0x200004000 0x1000 0x7f0000005000 rw"], backend.Log);
    }

    [Fact]
    public void IommuSections_AroundTheVtdInterruptWindow_GetTwoNotifiers_Section3_3()
    {
        var (map, root, space) = NewMap();
        var handler = new MemoryMapIommuHandler();
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue, handler);
        dmar.AddSubregionOverlap(0xfee0_0000, map.CreateIo("vtd-ir", 0x100000, null), 1);
        root.AddSubregion(0, dmar);
        var (listener, backend) = Attach(space);
        Assert.Equal(2, listener.Notifiers.Count);
        Assert.Equal((0UL, 0xfedf_ffffUL), (listener.Notifiers[0].Start, listener.Notifiers[0].End));
        Assert.Equal((0xfef0_0000UL, ulong.MaxValue), (listener.Notifiers[1].Start, listener.Notifiers[1].End));
        root.RemoveSubregion(dmar);
        // The second section ends at 2^64 but is smaller: one ordinary unmap of 0xffffffff01100000 bytes.
        Assert.Equal(["unmap 0x0 0xfee00000", "unmap 0xfef00000 0xffffffff01100000"], backend.Log);
    }

    [Fact]
    public void NotifierUnmapWithAddrMaskU64Max_Is2Pow64_NotSizeZero_Section2_3()
    {
        var (map, root, space) = NewMap();
        var handler = new MemoryMapIommuHandler();
        root.AddSubregion(0, map.CreateIommu("dmar", ulong.MaxValue, handler));
        var backend = new VfioListenerFakeBackend { SupportsUnmapAll = true };
        var (listener, _) = Attach(space, backend);
        handler.Unmap(0, ulong.MaxValue);
        Assert.Equal(["unmap-all"], backend.Log);
        VfioListenerCall call = Assert.Single(listener.Calls);
        Assert.Equal(VfioListenerCallKind.UnmapAll, call.Kind);
    }

    [Fact]
    public void NotifierMap_TranslatesThroughSystemMemory_ReadOnlyWithoutWrite_Section2_3()
    {
        // Two address spaces as QEMU has them: system memory (the target) and the device's IOMMU space (watched).
        var (map, root, system) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x100000, Host));
        var handler = new MemoryMapIommuHandler();
        MemoryRegion deviceRoot = map.CreateContainer("dev", ulong.MaxValue);
        deviceRoot.AddSubregion(0, map.CreateIommu("dmar", ulong.MaxValue, handler));
        AddressSpace device = map.CreateAddressSpace("dev", deviceRoot);
        var backend = new VfioListenerFakeBackend();
        var listener = new VfioListener(backend, system);
        device.RegisterListener(listener);
        handler.Map(new IommuTlbEntry(0x1_0000_0000, 0x8000, 0x1fff, Permissions.Read));
        handler.Map(new IommuTlbEntry(0x2_0000_0000, 0x2000_0000, 0xfff, Permissions.ReadWrite));
        Assert.Equal(["map 0x100000000 0x2000 0x7f0000008000 ro"], backend.Log);
        Assert.Contains(listener.Errors, e => e.Message.Contains("non memory area", StringComparison.Ordinal));
        Assert.False(listener.HasFatalError);
    }

    [Fact]
    public void Type1Container_SeedCase_IommuRegionOf2Pow64_AddedAndRemoved_OneUnmapAll()
    {
        var host = new global::IommuKit.Memory.HostMemory(new global::IommuKit.Memory.PhysicalMemory());
        var container = new VfioContainer(host);
        Assert.Equal(Errno.Ok, container.SetIommu(VfioIommuType.Type1v2));
        var (map, root, space) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x10000, Host));
        var listener = new VfioListener(new VfioListenerType1Backend(container), space);
        space.RegisterListener(listener);
        Assert.Single(container.Mappings);
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue, new MemoryMapIommuHandler());
        root.AddSubregionOverlap(0, dmar, 1);
        Assert.Empty(container.Mappings);
        listener.TakeCalls();
        root.RemoveSubregion(dmar);
        Assert.Equal([VfioListenerCallKind.UnmapAll, VfioListenerCallKind.Map], listener.TakeCalls().Select(c => c.Kind));
        Assert.Single(container.Mappings);
        Assert.Empty(listener.Errors);
    }

    [Fact]
    public void IommufdContainer_SeedCase_2Pow64Unmap_IsOneNativeCallOf2Pow64()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(new global::IommuKit.Memory.HostMemory(new global::IommuKit.Memory.PhysicalMemory()));
        global::IommuKit.Iommufd.Ioas ioas = fd.CreateIoas();
        var (map, root, space) = NewMap();
        root.AddSubregion(0, map.CreateRam("ram0", 0x10000, Host));
        var listener = new VfioListener(new VfioListenerIommufdBackend(fd, ioas.Id), space);
        space.RegisterListener(listener);
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue, new MemoryMapIommuHandler());
        root.AddSubregionOverlap(0, dmar, 1);
        listener.TakeCalls();
        root.RemoveSubregion(dmar);
        VfioListenerCall[] calls = [.. listener.TakeCalls()];
        Assert.Equal(VfioListenerCallKind.Unmap, calls[0].Kind);
        Assert.Equal(IovaRange.SpaceSize, calls[0].Size);
        Assert.True(calls[0].Native);
        Assert.Equal(VfioListenerCallKind.Map, calls[1].Kind);
        Assert.Single(ioas.Mappings);
        Assert.Empty(listener.Errors);
    }

    [Fact]
    public void IommufdContainer_WithoutNative_UnmapsAllAs0AndU64Max_Section2_4_5()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(new global::IommuKit.Memory.HostMemory(new global::IommuKit.Memory.PhysicalMemory()));
        global::IommuKit.Iommufd.Ioas ioas = fd.CreateIoas();
        var (map, root, space) = NewMap();
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue, new MemoryMapIommuHandler());
        root.AddSubregion(0, dmar);
        var listener = new VfioListener(new VfioListenerIommufdBackend(fd, ioas.Id, nativeFullRange: false), space);
        space.RegisterListener(listener);
        root.RemoveSubregion(dmar);
        VfioListenerCall call = Assert.Single(listener.Calls);
        Assert.Equal((VfioListenerCallKind.UnmapAll, 0UL, (UInt128)ulong.MaxValue, Errno.Ok), (call.Kind, call.Iova, call.Size, call.Result));
    }
}
