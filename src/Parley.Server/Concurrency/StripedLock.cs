namespace Parley.Server.Concurrency;

/// <summary>
/// Serializes work per key (an account, a room) in fixed memory: keys share a fixed set of gates by hash, so the
/// memory does not grow with the number of keys ever locked. Two keys may share a gate and then wait for each other,
/// so a holder never takes a second key's lock of the same <see cref="StripedLock"/>; nor is a lock reentrant.
/// </summary>
public sealed class StripedLock
{
    /// <summary>Enough that unrelated accounts rarely wait for each other on a node's few cores.</summary>
    public const int DefaultStripes = 64;

    private readonly SemaphoreSlim[] _stripes;

    public StripedLock(int stripes = DefaultStripes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stripes);
        _stripes = new SemaphoreSlim[stripes];
        for (var i = 0; i < stripes; i++)
        {
            _stripes[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>Waits for the key's gate; disposing the result opens it.</summary>
    public ValueTask<Releaser> LockAsync<TKey>(TKey key, CancellationToken cancellationToken = default)
        where TKey : notnull
    {
        var stripe = _stripes[(EqualityComparer<TKey>.Default.GetHashCode(key) & int.MaxValue) % _stripes.Length];
        // Uncontended (the usual case), the gate is taken at once, with no async state machine to allocate.
        return stripe.Wait(0) ? new ValueTask<Releaser>(new Releaser(stripe)) : WaitAsync(stripe, cancellationToken);
    }

    private static async ValueTask<Releaser> WaitAsync(SemaphoreSlim stripe, CancellationToken cancellationToken)
    {
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(stripe);
    }

    /// <summary>Opens the gate when disposed; dispose it once.</summary>
    public readonly struct Releaser(SemaphoreSlim stripe) : IDisposable
    {
        public void Dispose() => stripe.Release();
    }
}
