namespace IommuKit.Vfio;

/// <summary>
/// <c>struct vfio_bitmap</c>: a user buffer receiving one dirty bit per page, bit <c>n</c> of the buffer
/// (little-endian 64-bit words) standing for the page at <c>iova + n * Pgsize</c>.
/// </summary>
public sealed class VfioBitmap
{
    /// <summary>The size in bytes of <c>struct vfio_bitmap</c> (pgsize, size, data pointer).</summary>
    public const uint StructSize = 24;

    /// <summary>Creates a bitmap description.</summary>
    /// <param name="pgsize">The page size one bit stands for.</param>
    /// <param name="size">The buffer size in bytes the caller claims.</param>
    /// <param name="data">The buffer; null models an unreadable/unwritable user pointer (EFAULT on copy).</param>
    public VfioBitmap(ulong pgsize, ulong size, byte[]? data)
    {
        Pgsize = pgsize;
        Size = size;
        Data = data;
    }

    /// <summary>Creates a bitmap with a zeroed buffer of exactly <paramref name="size"/> bytes.</summary>
    public static VfioBitmap Allocate(ulong pgsize, int size) => new(pgsize, (ulong)size, new byte[size]);

    /// <summary>The page size one bit stands for.</summary>
    public ulong Pgsize { get; set; }

    /// <summary>The buffer size in bytes the caller claims.</summary>
    public ulong Size { get; set; }

    /// <summary>The buffer. Only the first <see cref="Size"/> bytes are the caller's.</summary>
    public byte[]? Data { get; set; }

    /// <summary>True when bit <paramref name="page"/> is set.</summary>
    public bool IsSet(ulong page) =>
        Data is not null && page / 8 < (ulong)Data.Length && (Data[page / 8] & (1 << (int)(page % 8))) != 0;
}
