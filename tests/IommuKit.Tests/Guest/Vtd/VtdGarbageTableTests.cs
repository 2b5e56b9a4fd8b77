using IommuKit.Guest.Vtd;
using IommuKit.Iommu;
using IommuKit.PageTables;
using static IommuKit.Tests.Guest.Vtd.VtdFixture;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>Garbage guest tables end in faults or clear errors, never an exception or an endless walk.</summary>
public class VtdGarbageTableTests
{
    private static DmaTranslation Dma(VtdFixture f, ulong iova, DmaAccess access = DmaAccess.Read) =>
        f.Unit.TranslateDma(f.Device, iova, access, out _);

    [Fact]
    public void Random_bytes_in_every_table_fault_or_translate_and_walks_end()
    {
        var f = new VtdFixture(addressWidth: 48);
        var rng = new Random(12345);
        var page = new byte[4096];
        rng.NextBytes(page);
        f.GuestRam.Write(f.Domain.Table.RootPa, page);
        RecordingNotifier n = f.Register();
        f.Unit.ResetCounters();

        f.Device.Replay(n.Notifier);
        for (int i = 0; i < 64; i++)
        {
            ulong iova = (ulong)rng.NextInt64() & 0xffff_ffff_f000;
            DmaTranslation t = Dma(f, iova);
            Assert.True(t.IsOk || t.Fault.Reason is DmaFaultReason.NotPresent or DmaFaultReason.ReadOfWriteOnly);
        }

        // Each guest table page is read at most once per walk: the replay is bounded by guest RAM, not 512^4.
        Assert.True(f.Unit.PteReads < 512 * 4096, $"{f.Unit.PteReads} PTE reads");
    }

    [Fact]
    public void A_table_pointing_at_itself_is_walked_once_and_counted_malformed()
    {
        var f = new VtdFixture(addressWidth: 48);
        ulong root = f.Domain.Table.RootPa;
        ulong self = X86SecondLevelPte.Table(root).Raw;
        for (int i = 0; i < 512; i++)
        {
            f.GuestRam.WriteUInt64(root + ((ulong)i * 8), self); // every entry loops back to the root
        }

        RecordingNotifier n = f.Register();
        f.Unit.ResetCounters();
        f.Device.Replay(n.Notifier);
        Assert.Equal(512, f.Unit.PteReads); // the root once; every entry leading back into it is refused
        Assert.True(f.Unit.MalformedEntries > 0);

        // Translation walks exactly 4 levels (no loop can extend it); at L1 the self-pointer reads as a 4K leaf onto
        // the root table page itself, as hardware would.
        DmaTranslation t = Dma(f, 0x1234_5000);
        Assert.True(t.IsOk);
        Assert.Equal(root, t.Pa);
    }

    [Fact]
    public void Tables_outside_guest_ram_fault_not_present()
    {
        var f = new VtdFixture();
        ulong root = f.Domain.Table.RootPa;
        f.GuestRam.WriteUInt64(root, X86SecondLevelPte.Table(0x40_0000_0000).Raw); // 256 GiB: below aw 39, outside 1 GiB RAM

        DmaTranslation t = Dma(f, 0x1000);
        Assert.Equal(DmaFaultReason.NotPresent, t.Fault.Reason);
        Assert.Equal(f.Device.SourceId, t.Fault.DeviceId);
        RecordingNotifier n = f.Register();
        f.Device.Replay(n.Notifier);
        Assert.Single(n.Events); // the UNMAP of the range; the unreadable table yields nothing
    }

    [Fact]
    public void Reserved_bits_fault_and_are_skipped_by_walks()
    {
        var f = new VtdFixture();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), 0x10_0000, Permissions.ReadWrite);
        ulong l1 = L1(f);
        ulong pte = f.GuestRam.ReadUInt64(l1 + 8);
        f.GuestRam.WriteUInt64(l1 + 8, pte | (1UL << 11)); // SNP: reserved without snoop control

        Assert.Equal(DmaFaultReason.NotPresent, Dma(f, 0x1000).Fault.Reason);
        RecordingNotifier n = f.Register();
        f.Device.Replay(n.Notifier);
        Assert.Equal(["UNMAP {0x0, mask 0x7fffffffff} -> 0x0 none"], n.Lines);

        f.GuestRam.WriteUInt64(l1 + 8, pte | (1UL << 40)); // above aw 39 (bits 39..51 reserved)
        Assert.False(Dma(f, 0x1000).IsOk);
        f.GuestRam.WriteUInt64(l1 + 8, pte);
        Assert.True(Dma(f, 0x1000).IsOk);
    }

    [Fact]
    public void A_misaligned_huge_leaf_address_is_reserved()
    {
        var f = new VtdFixture();
        f.Driver.Map(f.Domain, R(0x20_0000, 0x20_0000), 0x20_0000, Permissions.ReadWrite);
        ulong l2 = f.GuestRam.ReadUInt64(f.Domain.Table.RootPa) & X86SecondLevelPte.AddressMask;
        ulong pde = f.GuestRam.ReadUInt64(l2 + 8);
        f.GuestRam.WriteUInt64(l2 + 8, pde | 0x1000); // bit 12 inside a 2 MiB leaf's offset
        Assert.Equal(DmaFaultReason.NotPresent, Dma(f, 0x20_0000).Fault.Reason);
    }

    [Fact]
    public void Garbage_root_and_context_entries_fault_without_throwing()
    {
        var f = new VtdFixture(cachingMode: false, attach: false);
        ulong root = f.Driver.RootTable;
        f.GuestRam.WriteUInt64(root, 0xdead_beef_0000_0ffe); // not present, reserved bits
        Assert.Equal(VtdContextStatus.RootNotPresent, f.Device.LookupContext(out _));
        f.GuestRam.WriteUInt64(root, 0x7000_0000_0000 | 1); // context table beyond guest RAM
        Assert.Equal(VtdContextStatus.Unreadable, f.Device.LookupContext(out _));
        Assert.Equal(DmaFaultReason.NotPresent, Dma(f, 0).Fault.Reason);

        ulong ctx = f.Frames.Allocate();
        f.GuestRam.WriteUInt64(root, ctx | 1);
        ulong at = ctx + ((ulong)VtdFixture.DevFn * 16);
        f.GuestRam.WriteUInt64(at, f.Domain.Table.RootPa | 1 | (3 << 2)); // TT = 11: reserved
        Assert.Equal(VtdContextStatus.Malformed, f.Device.LookupContext(out _));
        f.GuestRam.WriteUInt64(at, f.Domain.Table.RootPa | 1);
        f.GuestRam.WriteUInt64(at + 8, (1 << 8) | VtdContextEntry.AddressWidth48); // AW 48 on a 39-bit unit
        Assert.Equal(VtdContextStatus.Malformed, f.Device.LookupContext(out _));
        f.GuestRam.WriteUInt64(at + 8, (1 << 8) | VtdContextEntry.AddressWidth39);
        Assert.Equal(VtdContextStatus.Ok, f.Device.LookupContext(out VtdContextEntry ce));
        Assert.Equal(1, ce.DomainId);
        Assert.Equal(39, ce.AddressWidth);
    }

    [Fact]
    public void A_queue_descriptor_of_unknown_type_stops_the_queue()
    {
        var f = new VtdFixture();
        VtdInvalidationResult r = f.Driver.Submit(new VtdInvalidationDescriptor(0xf, 0));
        Assert.True(r.Error);
        Assert.Contains("unknown invalidation descriptor type 15", r.Message);
        f.Unit.ClearQueueError();
    }

    private static ulong L1(VtdFixture f)
    {
        ulong table = f.Domain.Table.RootPa;
        for (int level = 3; level > 1; level--)
        {
            table = f.GuestRam.ReadUInt64(table) & X86SecondLevelPte.AddressMask;
        }

        return table;
    }
}
