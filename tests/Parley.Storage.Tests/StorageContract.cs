namespace Parley.Storage.Tests;

/// <summary>
/// The base of every store contract: each implementation subclasses a contract with a fresh, empty database per test.
/// </summary>
public abstract class StorageContract : IAsyncLifetime
{
    private IParleyStorage? _storage;

    protected IParleyStorage Storage => _storage ?? throw new InvalidOperationException("The storage is opened in InitializeAsync.");

    /// <summary>Opens storage on a new, empty database.</summary>
    protected abstract Task<IParleyStorage> OpenStorageAsync();

    public async Task InitializeAsync() => _storage = await OpenStorageAsync();

    public async Task DisposeAsync()
    {
        if (_storage is not null)
        {
            await _storage.DisposeAsync();
        }
    }

    protected static CancellationToken CanceledToken() => new(canceled: true);

    /// <summary>The items as a caller's async stream (a file being read), yielding between items.</summary>
    protected static async IAsyncEnumerable<T> ToAsync<T>(IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            await Task.Yield();
            yield return item;
        }
    }

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
