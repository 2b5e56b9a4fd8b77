namespace IommuKit.Memory;

/// <summary>Access permissions of a range of the calling process's memory (its VMA flags).</summary>
[Flags]
public enum HostMemoryPermissions
{
    /// <summary>Mapped but inaccessible (<c>PROT_NONE</c>): nothing can be pinned.</summary>
    None = 0,

    /// <summary>Readable: pages can be pinned for read.</summary>
    Read = 1,

    /// <summary>Writable: pages can be pinned for write.</summary>
    Write = 2,

    /// <summary>Readable and writable.</summary>
    ReadWrite = Read | Write,
}
