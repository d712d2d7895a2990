using System.Collections.Concurrent;
using Parley.Server.Hosting;

namespace Parley.Server.Auth;

/// <summary>
/// Slows password guessing: each failed login, per account and per IP address, doubles the delay
/// before the next failure is answered, up to a ceiling. Failures are forgotten after a window,
/// and a successful login clears the account's count.
/// </summary>
public sealed class AuthThrottle(AuthOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Failures> _failures = new(StringComparer.Ordinal);

    /// <summary>Records a failure and returns how long to wait before answering it.</summary>
    public TimeSpan RecordFailure(string? account, string remoteAddress)
    {
        var count = Increment("ip:" + remoteAddress);
        if (account is not null)
        {
            count = Math.Max(count, Increment("account:" + account));
        }
        return DelayFor(count);
    }

    public void RecordSuccess(string account) => _failures.TryRemove("account:" + account, out _);

    /// <summary>Drops failures older than the window; called by the connection monitor.</summary>
    public void Prune()
    {
        var cutoff = time.GetTimestamp() - WindowTicks;
        foreach (var pair in _failures)
        {
            if (pair.Value.LastFailure < cutoff)
            {
                _failures.TryRemove(pair);
            }
        }
    }

    private TimeSpan DelayFor(int failures)
    {
        var milliseconds = Math.Min((double)options.MaxFailureDelayMilliseconds, options.FailureDelayMilliseconds * Math.Pow(2, failures - 1));
        return TimeSpan.FromMilliseconds(milliseconds);
    }

    private long WindowTicks => options.FailureWindowSeconds * time.TimestampFrequency;

    private int Increment(string key)
    {
        var now = time.GetTimestamp();
        var entry = _failures.AddOrUpdate(
            key,
            _ => new Failures(1, now),
            (_, old) => old.LastFailure < now - WindowTicks ? new Failures(1, now) : new Failures(old.Count + 1, now));
        return entry.Count;
    }

    private sealed record Failures(int Count, long LastFailure);
}
