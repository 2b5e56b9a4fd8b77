namespace IommuKit.Scenarios;

/// <summary>An entry of <c>expect-listener-calls</c>: <c>{op, iova, size}</c>.</summary>
/// <param name="Kind">The call.</param>
/// <param name="Iova">The IOVA; <see langword="null"/> when left out of an <c>unmap-all</c> (not checked).</param>
/// <param name="Size">The size, up to 2^64; <see langword="null"/> when left out of an <c>unmap-all</c> (not checked).</param>
public readonly record struct ExpectedListenerCall(ListenerCallKind Kind, ulong? Iova, UInt128? Size);
