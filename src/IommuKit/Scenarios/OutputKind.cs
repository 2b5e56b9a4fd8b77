namespace IommuKit.Scenarios;

/// <summary>How the parser reads an expected output value.</summary>
internal enum OutputKind
{
    /// <summary>A number that fits in 64 bits.</summary>
    Number,

    /// <summary>A size: at most 2^64.</summary>
    Size,

    /// <summary>A list of page sizes, or one number read as a page-size bitmap (reported as the list of sizes).</summary>
    PageSizes,

    /// <summary>A list of <c>[first, last]</c> pairs.</summary>
    RangeList,

    /// <summary>Hex bytes.</summary>
    Bytes,
}
