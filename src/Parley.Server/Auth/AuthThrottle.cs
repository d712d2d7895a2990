using System.Collections.Concurrent;
using Parley.Server.Hosting;

namespace Parley.Server.Auth;

/// <summary>
/// Slows password guessing: each failed password on an account doubles the delay before the next
/// failure is answered, up to a ceiling. Per IP address the same growth starts only after
/// <see cref="AuthOptions.IpFailuresBeforeDelay"/> failures, because behind a NAT every user shares
/// one address. Failures are forgotten after a window. A successful login clears the account's count
/// but not the address's: one valid account must not reset the throttle for someone guessing
/// other accounts' passwords from the same address.
/// </summary>
public sealed class AuthThrottle(AuthOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Failures> _failures = new(StringComparer.Ordinal);

    /// <summary>Records a wrong password and returns how long to wait before answering it.</summary>
    public TimeSpan RecordFailure(string? account, string remoteAddress)
    {
        var count = Increment("ip:" + remoteAddress) - options.IpFailuresBeforeDelay;
        if (account is not null)
        {
            count = Math.Max(count, Increment("account:" + account));
        }
        return count > 0 ? DelayFor(count) : TimeSpan.Zero;
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
