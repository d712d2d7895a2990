using System.Collections.Concurrent;

namespace Parley.Server.Sessions;

/// <summary>Sessions that can be resumed (XEP-0198), by their stream management id.</summary>
public sealed class ResumableSessions
{
    private readonly ConcurrentDictionary<string, ClientSession> _byId = new(StringComparer.Ordinal);

    public void Add(ClientSession session) => _byId[session.Management!.Id] = session;

    public ClientSession? Find(string id) => _byId.GetValueOrDefault(id);

    public void Remove(ClientSession session)
    {
        if (session.Management is { } management)
        {
            _byId.TryRemove(new KeyValuePair<string, ClientSession>(management.Id, session));
        }
    }

    /// <summary>Hibernated sessions whose time to resume ran out at <paramref name="now"/>.</summary>
    public List<ClientSession> Expired(long now)
    {
        var expired = new List<ClientSession>();
        foreach (var session in _byId.Values)
        {
            var until = session.Management!.HibernatedUntil;
            if (until != 0 && now >= until)
            {
                expired.Add(session);
            }
        }
        return expired;
    }
}
