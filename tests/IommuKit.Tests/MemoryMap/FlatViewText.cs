using System.Globalization;
using IommuKit.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

internal static class FlatViewText
{
    /// <summary>"name [first, last] @offset" per range, with " ro" / " nv" when set.</summary>
    public static string[] Of(AddressSpace space) => space.FlatView.Ranges.Select(Of).ToArray();

    public static string Of(FlatRange r) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{r.Region.Name} [0x{r.Range.First:x}, 0x{r.Range.Last:x}] @0x{r.OffsetInRegion:x}{(r.ReadOnly ? " ro" : "")}{(r.NonVolatile ? " nv" : "")}");
}
