using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Web.Bosh;

/// <summary>The node's BOSH sessions by sid, their count per IP address, and the end of those left inactive.</summary>
public sealed class BoshSessions(ParleyOptions options) : BackgroundService
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, BoshSession> _bySid = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);

    public int Count => _bySid.Count;

    public BoshSession? Find(string sid) => _bySid.TryGetValue(sid, out var session) ? session : null;

    /// <summary>A new session, unless its address has as many as it may.</summary>
    public BoshSession? TryCreate(long rid, string remoteAddress, bool secure, int wait, int hold, bool acknowledges)
    {
        var count = _perAddress.AddOrUpdate(remoteAddress, 1, (_, n) => n + 1);
        if (count > options.Web.BoshMaxSessionsPerIp)
        {
            Leave(remoteAddress);
            return null;
        }
        var session = new BoshSession(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), rid, remoteAddress, secure, wait, hold, acknowledges, options.Limits.MaxSendQueueBytes);
        _bySid[session.Sid] = session;
        return session;
    }

    /// <summary>The session's stream ended: forget it.</summary>
    public void Remove(BoshSession session)
    {
        if (_bySid.TryRemove(new KeyValuePair<string, BoshSession>(session.Sid, session)))
        {
            Leave(session.RemoteAddress);
        }
    }

    private void Leave(string address)
    {
        if (_perAddress.AddOrUpdate(address, 0, (_, n) => n - 1) <= 0)
        {
            _perAddress.TryRemove(new KeyValuePair<string, int>(address, 0));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SweepInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var limit = options.Web.BoshInactivitySeconds * 1000L;
            var now = Environment.TickCount64;
            foreach (var session in _bySid.Values)
            {
                if (session.IdleSince is { } idleSince && now - idleSince > limit)
                {
                    // The client went without saying so: like a dropped TCP connection (resumable with stream management).
                    session.Abort();
                }
            }
        }
    }
}
