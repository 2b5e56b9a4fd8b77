using IommuKit.Addressing;

namespace IommuKit.Iommufd;

/// <content>Reverse lookup: user VA to IOVA through an index of the areas by user VA (issue 6).</content>
public sealed partial class Ioas
{
    private readonly ReverseRangeIndex _byUserVa = new();

    /// <summary>
    /// The IOVA at which the user (host virtual) address <paramref name="userVa"/> is mapped, the lowest when several
    /// areas map it (a COPY, or one buffer mapped twice); false when no area maps it.
    /// </summary>
    /// <remarks>
    /// O(log n) at n areas plus the areas whose user range overlaps another's (see <see cref="ReverseRangeIndex"/>);
    /// QEMU's iova-tree answers the same question by walking every mapping. Not a kernel operation: iommufd has no
    /// reverse lookup, so nothing here changes what the ioctls do.
    /// </remarks>
    public bool TryFindIova(ulong userVa, out ulong iova) => _byUserVa.TryFind(userVa, out iova);

    /// <summary>The user-VA index (for tests that count the nodes a lookup visits).</summary>
    internal ReverseRangeIndex UserVaIndex => _byUserVa;

    // Every change to _areas goes through these two, so the user-VA index always holds exactly the areas.
    private void AddAreaEntry(IovaRange range, IoasArea area)
    {
        _areas.Add(range, area);
        if (TryUserRange(range, area, out IovaRange user))
        {
            _byUserVa.Add(user, range.First);
        }
    }

    private void RemoveAreaEntry(IovaRange range, IoasArea area)
    {
        _areas.Remove(range);
        if (TryUserRange(range, area, out IovaRange user))
        {
            _byUserVa.Remove(user, range.First);
        }
    }

    // The user range of an area: [UserVaAt(0), UserVaAt(0) + size - 1]; map checks keep it below 2^64 (EOVERFLOW).
    private static bool TryUserRange(IovaRange range, IoasArea area, out IovaRange user) =>
        IovaRange.TryFromStartSize(area.UserVaAt(0), range.Size, out user);
}
