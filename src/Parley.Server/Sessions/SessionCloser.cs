using Microsoft.Extensions.Logging;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;

namespace Parley.Server.Sessions;

/// <summary>
/// Ends sessions for good — when a connection closes without stream management, or when a
/// hibernated session (XEP-0198) was not resumed in time: out of the registry, modules told
/// (presence goes unavailable), and stanzas the client never acknowledged delivered elsewhere.
/// </summary>
public sealed partial class SessionCloser(SessionRegistry sessions, ResumableSessions resumable, ModuleRegistry modules, Router router, ILogger<SessionCloser> logger)
{
    /// <summary>Ends the session; returns how many messages it had not acknowledged, now delivered elsewhere or stored offline.</summary>
    public async ValueTask<int> EndAsync(ClientSession session)
    {
        resumable.Remove(session);
        if (session.Relay is { } relay)
        {
            // Not in this node's registry: the node serving the account removes it and tells the modules.
            await relay.EndedAsync(session).ConfigureAwait(false);
            return await RedeliverUnackedAsync(session).ConfigureAwait(false);
        }
        var unacked = 0;
        if (sessions.Remove(session))
        {
            // Stored before anyone hears the session went (a contact may see it and the user log in again at once),
            // and once more after the modules ran, for anything that reached the session meanwhile.
            unacked += await RedeliverUnackedAsync(session).ConfigureAwait(false);
            await modules.SessionEnded.RaiseAsync(session).ConfigureAwait(false);
        }
        unacked += await RedeliverUnackedAsync(session).ConfigureAwait(false);
        if (session.Management is { } management)
        {
            lock (management.Sync)
            {
                // Only now that what it held is delivered or stored: until then its copy elsewhere still counts.
                management.Replica?.Ended();
            }
        }
        return unacked;
    }

    private async ValueTask<int> RedeliverUnackedAsync(ClientSession session)
    {
        if (session.Management is not { } management)
        {
            return 0;
        }
        (Parley.Xml.Element Stanza, DateTimeOffset Arrived)[] unacked;
        lock (management.Sync)
        {
            unacked = management.TakeUnacked();
        }
        return unacked.Length > 0 ? await router.RedeliverAsync(unacked, session.Jid).ConfigureAwait(false) : 0;
    }

    /// <summary>Starts ending a session from code that cannot wait (a sink's CloseWithError).</summary>
    public void BeginEnd(ClientSession session) => _ = EndLoggedAsync(session);

    private async Task EndLoggedAsync(ClientSession session)
    {
        try
        {
            await EndAsync(session).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogSessionEndFailed(logger, e, session.Jid.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Ending the session of {Jid} failed")]
    private static partial void LogSessionEndFailed(ILogger logger, Exception exception, string jid);
}
