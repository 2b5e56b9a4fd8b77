using System.Globalization;

namespace IommuKit.Guest.Vtd;

/// <summary>
/// A 128-bit queued-invalidation descriptor (VT-d specification, "Invalidation Queue Interface"). Type in bits 3:0
/// of the low word; granularity in bits 5:4.
/// </summary>
/// <remarks>
/// <para>Context-cache (type 1): G 5:4 (1 global, 2 domain, 3 device), DID 31:16, SID 47:32, FM 49:48.</para>
/// <para>IOTLB (type 2): G 5:4 (1 global, 2 domain, 3 page), DW 6, DR 7, DID 31:16; high word AM 5:0, IH 6,
/// ADDR 63:12. A page-selective invalidation covers <c>4 KiB &lt;&lt; AM</c> bytes at ADDR (aligned down to that
/// size); AM above MAMV (18, 1 GiB) is rejected.</para>
/// <para>Device-IOTLB (type 3): SID 31:16; high word S bit 0, ADDR 63:12. Invalidation wait (type 5): SW 5,
/// status data 63:32; high word status address 63:2.</para>
/// </remarks>
public readonly record struct VtdInvalidationDescriptor(ulong Low, ulong High)
{
    /// <summary>Bytes per descriptor.</summary>
    public const int Bytes = 16;

    /// <summary>Type of a context-cache invalidation.</summary>
    public const int TypeContextCache = 1;

    /// <summary>Type of an IOTLB invalidation.</summary>
    public const int TypeIotlb = 2;

    /// <summary>Type of a device-IOTLB invalidation.</summary>
    public const int TypeDeviceIotlb = 3;

    /// <summary>Type of an invalidation wait.</summary>
    public const int TypeWait = 5;

    /// <summary>Granularity 1: global.</summary>
    public const int GranularityGlobal = 1;

    /// <summary>Granularity 2: domain.</summary>
    public const int GranularityDomain = 2;

    /// <summary>Granularity 3: device (context cache) or page (IOTLB).</summary>
    public const int GranularityDeviceOrPage = 3;

    /// <summary>The largest address mask VT-d accepts in a page-selective invalidation (MAMV): 18, 4 KiB &lt;&lt; 18 = 1 GiB.</summary>
    public const int MaxAddressMask = 18;

    /// <summary>The descriptor type.</summary>
    public int Type => (int)(Low & 0xf);

    /// <summary>The granularity.</summary>
    public int Granularity => (int)((Low >> 4) & 3);

    /// <summary>The domain id (context-cache and IOTLB).</summary>
    public int DomainId => (int)((Low >> 16) & 0xffff);

    /// <summary>The source id (context-cache: bits 47:32; device-IOTLB: bits 31:16).</summary>
    public int SourceId => Type == TypeDeviceIotlb ? (int)((Low >> 16) & 0xffff) : (int)((Low >> 32) & 0xffff);

    /// <summary>The function mask (context-cache): how many low bits of the SID's function to ignore.</summary>
    public int FunctionMask => (int)((Low >> 48) & 3);

    /// <summary>AM (IOTLB page-selective).</summary>
    public int AddressMask => (int)(High & 0x3f);

    /// <summary>ADDR (IOTLB page-selective and device-IOTLB).</summary>
    public ulong Address => High & ~0xfffUL;

    /// <summary>A context-cache global invalidation.</summary>
    public static VtdInvalidationDescriptor ContextGlobal() => new(TypeContextCache | (GranularityGlobal << 4), 0);

    /// <summary>A context-cache domain-selective invalidation.</summary>
    public static VtdInvalidationDescriptor ContextDomain(int domainId) =>
        new(TypeContextCache | (GranularityDomain << 4) | ((ulong)(ushort)domainId << 16), 0);

    /// <summary>A context-cache device-selective invalidation of <paramref name="sourceId"/> with function mask <paramref name="functionMask"/> (0..3).</summary>
    public static VtdInvalidationDescriptor ContextDevice(int domainId, int sourceId, int functionMask = 0) =>
        new(TypeContextCache | (GranularityDeviceOrPage << 4) | ((ulong)(ushort)domainId << 16) | ((ulong)(ushort)sourceId << 32)
            | ((ulong)(functionMask & 3) << 48), 0);

    /// <summary>An IOTLB global invalidation (drain reads and writes).</summary>
    public static VtdInvalidationDescriptor IotlbGlobal() => new(TypeIotlb | (GranularityGlobal << 4) | 0xc0, 0);

    /// <summary>An IOTLB domain-selective invalidation.</summary>
    public static VtdInvalidationDescriptor IotlbDomain(int domainId) =>
        new(TypeIotlb | (GranularityDomain << 4) | 0xc0 | ((ulong)(ushort)domainId << 16), 0);

    /// <summary>An IOTLB page-selective invalidation of <c>4 KiB &lt;&lt; am</c> bytes at <paramref name="address"/>; AM is written as given (up to 63).</summary>
    public static VtdInvalidationDescriptor IotlbPage(int domainId, ulong address, int am) =>
        new(TypeIotlb | (GranularityDeviceOrPage << 4) | 0xc0 | ((ulong)(ushort)domainId << 16), (address & ~0xfffUL) | ((ulong)am & 0x3f));

    /// <summary>An invalidation wait that writes <paramref name="statusData"/> at <paramref name="statusAddress"/> (SW = 1).</summary>
    public static VtdInvalidationDescriptor Wait(ulong statusAddress, uint statusData) =>
        new(TypeWait | (1UL << 5) | ((ulong)statusData << 32), statusAddress & ~3UL);

    /// <summary>Formats as <c>iotlb-page did 1 addr 0x1000 am 0</c>.</summary>
    public override string ToString() => (Type, Granularity) switch
    {
        (TypeContextCache, GranularityGlobal) => "cc-global",
        (TypeContextCache, GranularityDomain) => string.Create(CultureInfo.InvariantCulture, $"cc-domain did {DomainId}"),
        (TypeContextCache, _) => string.Create(CultureInfo.InvariantCulture, $"cc-device sid 0x{SourceId:x4} fm {FunctionMask}"),
        (TypeIotlb, GranularityGlobal) => "iotlb-global",
        (TypeIotlb, GranularityDomain) => string.Create(CultureInfo.InvariantCulture, $"iotlb-domain did {DomainId}"),
        (TypeIotlb, _) => string.Create(CultureInfo.InvariantCulture, $"iotlb-page did {DomainId} addr {ThrowHelper.Hex(Address)} am {AddressMask}"),
        (TypeWait, _) => "wait",
        _ => string.Create(CultureInfo.InvariantCulture, $"type {Type} {ThrowHelper.Hex(Low)}:{ThrowHelper.Hex(High)}"),
    };
}
