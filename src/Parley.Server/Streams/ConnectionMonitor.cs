using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Server.Sessions;

namespace Parley.Server.Streams;

/// <summary>
/// One timer for all connections, instead of one per connection: closes streams that stay
/// unauthenticated or silent too long, sends whitespace keepalives, and ends connections that
/// were told to close but never did.
/// </summary>
public sealed class ConnectionMonitor(ParleyOptions options, AuthThrottle authThrottle, ResumableSessions resumable, SessionCloser closer) : BackgroundService
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(2);
    private const long ClosingGraceMilliseconds = 5_000;

    private readonly ConcurrentDictionary<ClientStream, byte> _connections = new();

    public int Count => _connections.Count;

    public ICollection<ClientStream> All => _connections.Keys;

    public void Add(ClientStream connection) => _connections.TryAdd(connection, 0);
    public void Remove(ClientStream connection) => _connections.TryRemove(connection, out _);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SweepInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            Sweep(Environment.TickCount64);
            authThrottle.Prune();
        }
    }

    /// <summary>One pass over the connections at time <paramref name="now"/> (Environment.TickCount64).</summary>
    public void Sweep(long now)
    {
        foreach (var session in resumable.Expired(now))
        {
            // Nobody resumed it in time: the session ends and what it held goes elsewhere.
            closer.BeginEnd(session);
        }
        var sessions = options.Sessions;
        foreach (var connection in _connections.Keys)
        {
            if (connection.IsClosing)
            {
                if (now - connection.ClosingSince > ClosingGraceMilliseconds)
                {
                    connection.Abort();
                }
                continue;
            }
            if (!connection.IsBound)
            {
                if (now - connection.LastReceived > sessions.NegotiationTimeoutSeconds * 1000L)
                {
                    // Before binding the read loop owns the socket, so there is no stream error to send safely: just drop it.
                    connection.Abort();
                }
                continue;
            }
            if (!connection.DropsDeadPeers && now - connection.LastReceived > sessions.IdleTimeoutSeconds * 1000L)
            {
                connection.CloseWithError("connection-timeout", "Nothing was received for too long.");
            }
            else if (sessions.KeepaliveSeconds > 0 && now - connection.LastSent > sessions.KeepaliveSeconds * 1000L)
            {
                connection.SendKeepalive();
            }
        }
    }
}
