using Parley.Server.Hosting;

namespace Parley.Server.Auth;

/// <summary>
/// Bounds the sign-ins a node starts to <see cref="AuthOptions.LoginsPerSecond"/>, so that thousands of clients
/// coming back at once (after a failover) do not stall it. Each sign-in gets the next free slot, one every
/// 1/rate seconds, in the order they asked: a client waits its turn and is then answered, never refused while
/// there is room in the queue; with <see cref="AuthOptions.LoginQueueLength"/> waiting already, a client is
/// refused at once and may try again.
/// </summary>
public sealed class LoginGate(AuthOptions options, TimeProvider time)
{
    private readonly Lock _sync = new();
    private readonly Queue<long> _grantedInLastSecond = new();
    private long _nextSlot;
    private int _waiting;
    private int _mostWaiting;
    private int _mostInOneSecond;
    private long _refused;

    /// <summary>Sign-ins waiting for their turn now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>The most sign-ins that ever waited at once.</summary>
    public int MostWaiting => Volatile.Read(ref _mostWaiting);

    /// <summary>The most sign-ins started within any one second (by their slots); never above the rate.</summary>
    public int MostInOneSecond => Volatile.Read(ref _mostInOneSecond);

    /// <summary>Sign-ins refused because the queue was full.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Waits for this sign-in's turn; false (at once) when the queue is full.</summary>
    public async ValueTask<bool> WaitTurnAsync(CancellationToken cancellationToken)
    {
        var rate = options.LoginsPerSecond;
        if (rate <= 0)
        {
            return true;
        }
        TimeSpan wait;
        lock (_sync)
        {
            var now = time.GetTimestamp();
            var slot = Math.Max(now, _nextSlot);
            if (slot > now && _waiting >= options.LoginQueueLength)
            {
                _refused++;
                return false;
            }
            _nextSlot = slot + time.TimestampFrequency / rate;
            Granted(slot);
            wait = time.GetElapsedTime(now, slot);
            if (wait > TimeSpan.Zero)
            {
                _waiting++;
                _mostWaiting = Math.Max(_mostWaiting, _waiting);
            }
        }
        if (wait <= TimeSpan.Zero)
        {
            return true;
        }
        try
        {
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_sync)
            {
                _waiting--;
            }
        }
        return true;
    }

    private void Granted(long slot)
    {
        var secondBefore = slot - time.TimestampFrequency;
        while (_grantedInLastSecond.TryPeek(out var oldest) && oldest <= secondBefore)
        {
            _grantedInLastSecond.Dequeue();
        }
        _grantedInLastSecond.Enqueue(slot);
        _mostInOneSecond = Math.Max(_mostInOneSecond, _grantedInLastSecond.Count);
    }
}
