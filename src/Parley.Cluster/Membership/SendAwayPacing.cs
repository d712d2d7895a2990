using System.Collections.Concurrent;
using Parley.Protocol;

namespace Parley.Cluster.Membership;

/// <summary>
/// A client that ignores &lt;see-other-host/&gt; and signs in on the wrong node again and again must not keep the node
/// busy: an account sent away more than <see cref="FreeSendAways"/> times within <see cref="Window"/> waits before each
/// further answer, twice as long each time up to <see cref="MaxDelay"/>, while its connection costs no CPU. Others
/// are not slowed. The counts are forgotten after the window.
/// </summary>
public sealed class SendAwayPacing(TimeProvider time)
{
    public const int FreeSendAways = 3;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(8);

    // Pruned when it grows, so that a flood of distinct accounts cannot grow it without end.
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, (int Count, long Since)> _sentAway = new(StringComparer.Ordinal);

    /// <summary>Counts one more sending away of <paramref name="account"/>; returns how long to wait before answering.</summary>
    public TimeSpan Record(Jid account)
    {
        var now = time.GetTimestamp();
        if (_sentAway.Count > PruneAbove)
        {
            Prune(now);
        }
        var (count, _) = _sentAway.AddOrUpdate(account.Bare.ToString(), _ => (1, now),
            (_, current) => time.GetElapsedTime(current.Since, now) > Window ? (1, now) : (current.Count + 1, current.Since));
        if (count <= FreeSendAways)
        {
            return TimeSpan.Zero;
        }
        var doublings = Math.Min(count - FreeSendAways - 1, 16);
        var delay = FirstDelay * (1 << doublings);
        return delay < MaxDelay ? delay : MaxDelay;
    }

    private void Prune(long now)
    {
        foreach (var (account, entry) in _sentAway)
        {
            if (time.GetElapsedTime(entry.Since, now) > Window)
            {
                _sentAway.TryRemove(account, out _);
            }
        }
    }
}
