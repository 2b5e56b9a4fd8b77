namespace IommuKit.PageTables;

/// <summary>Temporary stand-in until the pagetables branch is merged.</summary>
[Flags]
public enum Permissions
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Read.</summary>
    Read = 1,

    /// <summary>Write.</summary>
    Write = 2,

    /// <summary>Both.</summary>
    ReadWrite = Read | Write,
}
