using IommuKit.Iommu;

namespace IommuKit.Tests.Iommu;

public class FaultLogTests
{
    [Fact]
    public void Records_come_out_oldest_first_with_increasing_sequence()
    {
        var log = new FaultLog(4);
        log.Report(0x1000, DmaAccess.Read, DmaFaultReason.NotPresent, 1);
        log.Report(0x2000, DmaAccess.Write, DmaFaultReason.WriteToReadOnly, 2);

        DmaFault[] faults = log.Drain();

        Assert.Equal(
            [
                new DmaFault(0x1000, DmaAccess.Read, DmaFaultReason.NotPresent, 1, 0),
                new DmaFault(0x2000, DmaAccess.Write, DmaFaultReason.WriteToReadOnly, 2, 1),
            ],
            faults);
        Assert.Equal(0, log.Count);
        Assert.False(log.Overflow);
    }

    // VT-d FSTS_REG.PFO: "Hardware sets this field to indicate overflow of fault recording registers ... When this
    // field is Set, hardware does not record any new faults until software clears this field."
    [Fact]
    public void VtdPfo_fault_arriving_when_full_is_dropped_and_sets_overflow()
    {
        var log = new FaultLog(2);
        log.Report(0x1000, DmaAccess.Read, DmaFaultReason.NotPresent, 0);
        log.Report(0x2000, DmaAccess.Read, DmaFaultReason.NotPresent, 0);
        Assert.True(log.IsFull);
        Assert.False(log.Overflow);

        DmaFault third = log.Report(0x3000, DmaAccess.Read, DmaFaultReason.NotPresent, 0);

        Assert.True(log.Overflow);
        Assert.Equal(2L, third.Sequence);
        Assert.Equal(1L, log.Dropped);
        Assert.Equal([0x1000UL, 0x2000UL], log.ToArray().Select(f => f.Iova));
    }

    [Fact]
    public void VtdPfo_while_overflow_is_set_faults_are_dropped_even_with_room_until_cleared()
    {
        var log = new FaultLog(1);
        log.Report(0x1000, DmaAccess.Read, DmaFaultReason.NotPresent, 0);
        log.Report(0x2000, DmaAccess.Read, DmaFaultReason.NotPresent, 0); // overflow
        Assert.Single(log.Drain());
        Assert.True(log.Overflow); // draining does not clear PFO

        log.Report(0x3000, DmaAccess.Read, DmaFaultReason.NotPresent, 0);
        Assert.Equal(0, log.Count);
        Assert.Equal(2L, log.Dropped);

        log.ClearOverflow();
        log.Report(0x4000, DmaAccess.Read, DmaFaultReason.NotPresent, 0);
        Assert.Equal(new DmaFault(0x4000, DmaAccess.Read, DmaFaultReason.NotPresent, 0, 3), Assert.Single(log.ToArray()));
        Assert.Equal(4L, log.Seen);
    }

    [Fact]
    public void Ring_wraps_around_keeping_order()
    {
        var log = new FaultLog(3);
        for (ulong i = 0; i < 10; i++)
        {
            log.Report(i << 12, DmaAccess.Read, DmaFaultReason.NotPresent, 0);
            if (log.Count == 2)
            {
                Assert.True(log.TryTake(out DmaFault f));
                Assert.Equal((i - 1) << 12, f.Iova);
            }
        }

        Assert.False(log.Overflow);
        Assert.Equal(9UL << 12, log[0].Iova);
        Assert.Throws<ArgumentOutOfRangeException>(() => log[1]);
    }

    [Fact]
    public void Clear_empties_and_clears_overflow_but_sequence_goes_on()
    {
        var log = new FaultLog(1);
        log.Report(0, DmaAccess.Write, DmaFaultReason.BeyondWidth, 0);
        log.Report(0, DmaAccess.Write, DmaFaultReason.BeyondWidth, 0);
        log.Clear();
        Assert.False(log.Overflow);
        Assert.False(log.TryTake(out _));
        Assert.Equal(2L, log.Report(ulong.MaxValue, DmaAccess.Write, DmaFaultReason.BeyondWidth, 0).Sequence);
    }

    [Fact]
    public void Capacity_below_one_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FaultLog(0));
    }

    [Fact]
    public void Fault_formats_with_scenario_reason_names()
    {
        Assert.Equal("write 0xfff read-only dev 3 #7",
            new DmaFault(0xfff, DmaAccess.Write, DmaFaultReason.WriteToReadOnly, 3, 7).ToString());
        Assert.Equal("out-of-range", DmaFault.FormatReason(DmaFaultReason.BeyondWidth));
        Assert.Equal("write-only", DmaFault.FormatReason(DmaFaultReason.ReadOfWriteOnly));
        Assert.Equal("not-present", DmaFault.FormatReason(DmaFaultReason.NotPresent));
    }
}
