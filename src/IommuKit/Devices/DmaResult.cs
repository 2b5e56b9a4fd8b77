using System.Globalization;
using IommuKit.Iommu;

namespace IommuKit.Devices;

/// <summary>The outcome of one <see cref="DmaDevice"/> access: every byte transferred, or a fault and nothing transferred.</summary>
public readonly record struct DmaResult
{
    private DmaResult(DmaStage stage, DmaFault fault, ulong length, bool isStale)
    {
        Stage = stage;
        Fault = fault;
        Length = length;
        IsStale = isStale;
    }

    /// <summary>True when the access transferred every byte.</summary>
    public bool IsOk => Stage == DmaStage.None;

    /// <summary>The stage that refused it; <see cref="DmaStage.None"/> on success.</summary>
    public DmaStage Stage { get; }

    /// <summary>The fault (first refused page); default on success.</summary>
    public DmaFault Fault { get; }

    /// <summary>Bytes transferred: the whole length on success, 0 on a fault.</summary>
    public ulong Length { get; }

    /// <summary>True when some page went through a stale IOTLB entry (see <see cref="DmaDevice.StaleReports"/>).</summary>
    public bool IsStale { get; }

    /// <summary>A completed access.</summary>
    public static DmaResult Ok(ulong length, bool isStale) => new(DmaStage.None, default, length, isStale);

    /// <summary>A refused access.</summary>
    public static DmaResult Faulted(DmaStage stage, DmaFault fault) => new(stage, fault, 0, false);

    /// <summary>Formats as <c>ok 4096</c> or <c>fault guest: write 0x1000 not-present dev 8 #0</c>.</summary>
    public override string ToString() => IsOk
        ? string.Create(CultureInfo.InvariantCulture, $"ok {Length}{(IsStale ? " (stale)" : "")}")
        : $"fault {(Stage == DmaStage.Guest ? "guest" : "host")}: {Fault}";
}
