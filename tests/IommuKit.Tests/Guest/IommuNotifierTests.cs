using IommuKit.Linux;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Tests.Guest;

/// <summary>QEMU system/memory.c notifier rules (reference §3.2).</summary>
public class IommuNotifierTests
{
    private static IommuTlbEvent Map(ulong iova, ulong pa, ulong mask) =>
        new(IommuNotifierFlags.Map, new IommuTlbEntry(iova, pa, mask, Permissions.ReadWrite));

    private static IommuTlbEvent Unmap(ulong iova, ulong mask) =>
        new(IommuNotifierFlags.Unmap, new IommuTlbEntry(iova, 0, mask, Permissions.None));

    [Fact]
    public void Register_asserts_flags_not_none_and_start_not_above_end()
    {
        var list = new IommuNotifierList();
        Assert.Throws<ArgumentException>(() => list.Register(new RecordingNotifier(IommuNotifierFlags.None).Notifier));
        Assert.Throws<ArgumentException>(() => list.Register(new RecordingNotifier(IommuNotifierFlags.Map, 0x2000, 0x1fff).Notifier));
        Assert.Throws<ArgumentException>(() => list.Register(new IommuNotifier(IommuNotifierFlags.Map, 0, 1, (_, _) => { }, iommuIndex: 1)));
        Assert.Empty(list.Notifiers);
        Assert.Equal(IommuNotifierFlags.None, list.Flags);
    }

    [Fact]
    public void Register_inserts_at_the_head_and_ors_the_flags()
    {
        var list = new IommuNotifierList();
        var a = new RecordingNotifier(IommuNotifierFlags.Unmap);
        var b = new RecordingNotifier(IommuNotifierFlags.Map);
        Assert.True(list.Register(a.Notifier).IsOk);
        Assert.True(list.Register(b.Notifier).IsOk);
        Assert.Same(b.Notifier, list.Notifiers[0]);
        Assert.Equal(IommuNotifierFlags.IotlbEvents, list.Flags);
        Assert.True(list.Unregister(b.Notifier));
        Assert.Equal(IommuNotifierFlags.Unmap, list.Flags);
        Assert.False(list.Unregister(b.Notifier));
    }

    [Fact]
    public void A_refused_flag_change_removes_the_notifier_again()
    {
        var calls = new List<(IommuNotifierFlags, IommuNotifierFlags)>();
        var list = new IommuNotifierList((old, now) =>
        {
            calls.Add((old, now));
            return (now & IommuNotifierFlags.Map) != 0 ? IommuRegistrationResult.Fail(Errno.EOPNOTSUPP, "no MAP") : IommuRegistrationResult.Ok;
        });
        var unmapOnly = new RecordingNotifier(IommuNotifierFlags.Unmap);
        var map = new RecordingNotifier(IommuNotifierFlags.IotlbEvents);

        Assert.True(list.Register(unmapOnly.Notifier).IsOk);
        IommuRegistrationResult refused = list.Register(map.Notifier);

        Assert.Equal(Errno.EOPNOTSUPP, refused.Error);
        Assert.Equal([unmapOnly.Notifier], list.Notifiers);
        Assert.Equal(IommuNotifierFlags.Unmap, list.Flags);
        Assert.Equal([(IommuNotifierFlags.None, IommuNotifierFlags.Unmap), (IommuNotifierFlags.Unmap, IommuNotifierFlags.IotlbEvents)], calls);
    }

    [Fact]
    public void Events_outside_the_range_are_skipped_at_both_edges()
    {
        var n = new RecordingNotifier(IommuNotifierFlags.IotlbEvents, 0x1000, 0x1fff);
        IommuNotifierList.NotifyOne(n.Notifier, Map(0x0, 0x8000, 0xfff));   // ends at 0xfff, just below Start
        IommuNotifierList.NotifyOne(n.Notifier, Map(0x2000, 0x8000, 0xfff)); // starts at 0x2000, just above End
        Assert.Empty(n.Events);
        IommuNotifierList.NotifyOne(n.Notifier, Map(0x1000, 0x8000, 0xfff));
        Assert.Equal(["MAP {0x1000, mask 0xfff} -> 0x8000 rw"], n.Lines);
    }

    [Fact]
    public void Events_are_cropped_to_the_notifier_range_and_the_translation_moves_with_the_start()
    {
        var n = new RecordingNotifier(IommuNotifierFlags.IotlbEvents, 0x1000, 0x1fff);
        IommuNotifierList.NotifyOne(n.Notifier, Map(0x0, 0x40_0000, 0x1f_ffff)); // a 2 MiB leaf around the notifier
        IommuNotifierList.NotifyOne(n.Notifier, Unmap(0x0, 0x1f_ffff));
        Assert.Equal(["MAP {0x1000, mask 0xfff} -> 0x401000 rw", "UNMAP {0x1000, mask 0xfff} -> 0x0 none"], n.Lines);
    }

    [Fact]
    public void Only_events_whose_type_is_in_the_flags_are_delivered()
    {
        var mapOnly = new RecordingNotifier(IommuNotifierFlags.Map);
        var unmapOnly = new RecordingNotifier(IommuNotifierFlags.Unmap);
        var list = new IommuNotifierList();
        list.Register(mapOnly.Notifier);
        list.Register(unmapOnly.Notifier);

        list.Notify(Map(0x1000, 0x2000, 0xfff));
        list.Notify(Unmap(0x1000, 0xfff));

        Assert.Equal(["MAP {0x1000, mask 0xfff} -> 0x2000 rw"], mapOnly.Lines);
        Assert.Equal(["UNMAP {0x1000, mask 0xfff} -> 0x0 none"], unmapOnly.Lines);
    }

    [Fact]
    public void An_unmap_event_must_carry_permission_none()
    {
        var n = new RecordingNotifier(IommuNotifierFlags.Unmap);
        var bad = new IommuTlbEvent(IommuNotifierFlags.Unmap, new IommuTlbEntry(0x1000, 0, 0xfff, Permissions.Read));
        Assert.Throws<ArgumentException>(() => IommuNotifierList.NotifyOne(n.Notifier, bad));
    }

    [Fact]
    public void The_full_space_is_one_event_with_mask_2_pow_64_minus_1_and_crops_to_the_upper_section()
    {
        var full = new RecordingNotifier(IommuNotifierFlags.Unmap);
        var upper = new RecordingNotifier(IommuNotifierFlags.Unmap, 0xfef0_0000, ulong.MaxValue);
        IommuTlbEvent all = Unmap(0, ulong.MaxValue);
        Assert.Equal((UInt128)1 << 64, all.Entry.Size);
        Assert.Equal(ulong.MaxValue, all.Entry.Last);

        IommuNotifierList.NotifyOne(full.Notifier, all);
        IommuNotifierList.NotifyOne(upper.Notifier, all);

        Assert.Equal(["UNMAP {0x0, mask 0xffffffffffffffff} -> 0x0 none"], full.Lines);
        Assert.Equal(["UNMAP {0xfef00000, mask 0xffffffff010fffff} -> 0x0 none"], upper.Lines);
    }

    [Fact]
    public void An_entry_passing_2_pow_64_cannot_be_built()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IommuTlbEntry(0x1000, 0, ulong.MaxValue, Permissions.None));
        Assert.Equal(ulong.MaxValue, new IommuTlbEntry(0xffff_ffff_ffff_f000, 0, 0xfff, Permissions.None).Last);
    }

    [Fact]
    public void Unmap_notifier_range_sends_one_unmap_of_start_to_end()
    {
        var n = new RecordingNotifier(IommuNotifierFlags.Unmap, 0x0, 0xfedf_ffff);
        IommuNotifierList.UnmapNotifierRange(n.Notifier);
        Assert.Equal(["UNMAP {0x0, mask 0xfedfffff} -> 0x0 none"], n.Lines);
    }
}
