using IommuKit.Addressing;
using IommuKit.PageTables;

namespace IommuKit.Iommufd;

/// <summary>One area of an <see cref="Ioas"/> as seen from outside: its IOVA range, user VA and access.</summary>
/// <param name="Iova">The inclusive IOVA range.</param>
/// <param name="UserVa">The user VA of <see cref="IovaRange.First"/>.</param>
/// <param name="Permissions">The device's access.</param>
public readonly record struct IoasMapping(IovaRange Iova, ulong UserVa, Permissions Permissions);
