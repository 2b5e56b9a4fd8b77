namespace IommuKit.Scenarios;

/// <summary>Read / write permission as a scenario writes it: <c>r</c>, <c>w</c> or <c>rw</c>.</summary>
[Flags]
public enum AccessPermissions
{
    /// <summary>No access (not written in files; the empty set).</summary>
    None = 0,

    /// <summary><c>r</c>: readable.</summary>
    Read = 1,

    /// <summary><c>w</c>: writable.</summary>
    Write = 2,

    /// <summary><c>rw</c>: readable and writable.</summary>
    ReadWrite = Read | Write,
}
