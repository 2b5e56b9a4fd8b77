namespace IommuKit.Scenarios;

/// <summary>Whose rules the container follows (<c>container.kernel</c>).</summary>
public enum KernelVersion
{
    /// <summary><c>newest</c>: the newest Linux rules IommuKit models (the default).</summary>
    Newest,

    /// <summary><c>6.12</c>: Linux 6.12.</summary>
    V6_12,

    /// <summary><c>6.1</c>: Linux 6.1.</summary>
    V6_1,
}
