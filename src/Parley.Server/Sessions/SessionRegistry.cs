using System.Collections.Concurrent;
using Parley.Protocol;

namespace Parley.Server.Sessions;

/// <summary>The bound sessions of this node, by account and resource.</summary>
public sealed class SessionRegistry
{
    // Keyed by the bare JID's text, so that a stanza to a full JID finds its account without building the bare JID.
    private readonly ConcurrentDictionary<string, ClientSession[]> _byAccount;
    private readonly ConcurrentDictionary<string, ClientSession[]>.AlternateLookup<ReadOnlySpan<char>> _byAccountText;

    public SessionRegistry()
    {
        _byAccount = new(StringComparer.Ordinal);
        _byAccountText = _byAccount.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _byAccount.Values.Sum(sessions => sessions.Length);

    /// <summary>Every bound session (a snapshot per account, taken as the enumeration reaches it).</summary>
    public IEnumerable<ClientSession> All => _byAccount.Values.SelectMany(sessions => sessions);

    /// <summary>The account's sessions (a snapshot; empty when none).</summary>
    public ClientSession[] SessionsOf(Jid account) =>
        _byAccountText.TryGetValue(account.BareText, out var sessions) ? sessions : [];

    /// <summary>
    /// The JID of a session of this node, or the bare JID of an account with sessions here, whose canonical text is exactly
    /// <paramref name="text"/>; null when there is none. What a stanza to a signed-in user addresses, without parsing it.
    /// </summary>
    public Jid? FindJid(string text)
    {
        int slash = text.IndexOf('/');
        if (!_byAccountText.TryGetValue(slash < 0 ? text : text.AsSpan(0, slash), out var sessions) || sessions.Length == 0)
        {
            return null;
        }
        if (slash < 0)
        {
            return sessions[0].Jid.Bare;
        }
        var resource = text.AsSpan(slash + 1);
        foreach (var session in sessions)
        {
            if (resource.SequenceEqual(session.Jid.Resource))
            {
                return session.Jid;
            }
        }
        return null;
    }

    public ClientSession? Find(Jid fullJid)
    {
        foreach (var session in SessionsOf(fullJid))
        {
            if (session.Jid.Resource == fullJid.Resource)
            {
                return session;
            }
        }
        return null;
    }

    /// <summary>
    /// Adds a session. Returns the session it replaces (same resource) so the caller can close it,
    /// or throws <see cref="ResourceLimitException"/> when the account already has the most sessions allowed.
    /// </summary>
    public ClientSession? Add(ClientSession session, int maxSessionsPerAccount)
    {
        var account = session.Jid.Bare.ToString();
        while (true)
        {
            var current = SessionsOf(session.Jid);
            var index = Array.FindIndex(current, s => s.Jid.Resource == session.Jid.Resource);
            ClientSession[] updated;
            if (index >= 0)
            {
                updated = (ClientSession[])current.Clone();
                updated[index] = session;
            }
            else
            {
                if (maxSessionsPerAccount > 0 && current.Length >= maxSessionsPerAccount)
                {
                    throw new ResourceLimitException(maxSessionsPerAccount);
                }
                updated = [.. current, session];
            }
            var swapped = current.Length == 0
                ? _byAccount.TryAdd(account, updated)
                : _byAccount.TryUpdate(account, updated, current);
            if (swapped)
            {
                return index >= 0 ? current[index] : null;
            }
        }
    }

    /// <summary>Removes this exact session (not a newer one that took its resource).</summary>
    public bool Remove(ClientSession session)
    {
        var account = session.Jid.Bare.ToString();
        while (true)
        {
            var current = SessionsOf(session.Jid);
            if (Array.IndexOf(current, session) < 0)
            {
                return false;
            }
            var updated = Array.FindAll(current, s => !ReferenceEquals(s, session));
            var swapped = updated.Length == 0
                ? ((ICollection<KeyValuePair<string, ClientSession[]>>)_byAccount).Remove(new(account, current))
                : _byAccount.TryUpdate(account, updated, current);
            if (swapped)
            {
                return true;
            }
        }
    }
}

public sealed class ResourceLimitException(int limit)
    : Exception($"The account already has {limit} sessions, the most this server allows.")
{
    public int Limit { get; } = limit;
}
