namespace IommuKit.MemoryMap;

/// <summary>
/// A transaction scope from <see cref="MemoryMap.Transaction"/>: <c>using (map.Transaction()) { ... }</c> commits
/// once when disposed, so listeners see one Begin/Commit and one diff for everything done inside.
/// </summary>
public sealed class MemoryTransaction : IDisposable
{
    private MemoryMap? _map;

    internal MemoryTransaction(MemoryMap map) => _map = map;

    /// <summary>Commits the transaction; later calls do nothing.</summary>
    public void Dispose()
    {
        MemoryMap? map = _map;
        _map = null;
        map?.CommitTransaction();
    }
}
