namespace IommuKit.Guest.Vtd;

/// <summary>What processing the invalidation queue did.</summary>
/// <param name="Processed">Descriptors consumed (the head moved by this many).</param>
/// <param name="Error">True when a descriptor was refused (VT-d FSTS.IQE): the head stays on it, later ones wait.</param>
/// <param name="Message">Why, when <paramref name="Error"/>.</param>
public readonly record struct VtdInvalidationResult(int Processed, bool Error, string? Message);
