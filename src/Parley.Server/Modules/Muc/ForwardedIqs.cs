using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using Parley.Protocol;

namespace Parley.Server.Modules.Muc;

/// <summary>An IQ a room passed on to an occupant, waiting for its answer.</summary>
/// <param name="OriginalId">The requester's own id, put back on the answer.</param>
/// <param name="Requester">The requesting session's real full JID, which gets the answer.</param>
/// <param name="RequesterOccupantJid">The 'from' the IQ was passed on with; the answer must be addressed to it.</param>
/// <param name="Recipient">Where the room sent the IQ (an occupant's real JID); the answer must come from there.</param>
/// <param name="RecipientOccupantJid">The occupant JID the requester asked, the 'from' of the answer it gets.</param>
/// <param name="SentAt">When the room passed the IQ on.</param>
public sealed record ForwardedIq(string? OriginalId, Jid Requester, Jid RequesterOccupantJid, Jid Recipient, Jid RecipientOccupantJid, DateTimeOffset SentAt);

/// <summary>
/// The IQs one room passed on to occupants, by the id the room gave each. Bounded in number and in age, so an
/// occupant who never answers cannot make the room hold memory. Only the room touches it, under its gate.
/// </summary>
public sealed class ForwardedIqs(int capacity, TimeSpan lifetime)
{
    private readonly Dictionary<string, ForwardedIq> _waiting = new(StringComparer.Ordinal);

    // A random prefix per table: a late answer meant for an earlier incarnation of the room matches nothing here.
    private readonly string _idPrefix = "muc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) + "-";
    private long _lastId;

    /// <summary>Entries held now, expired ones included until a full table sweeps them out.</summary>
    public int Count => _waiting.Count;

    /// <summary>Takes note of <paramref name="iq"/> and returns the id to send it with, or null when the table is full of answers still awaited.</summary>
    public string? Add(ForwardedIq iq)
    {
        if (_waiting.Count >= capacity)
        {
            RemoveExpired(iq.SentAt);
            if (_waiting.Count >= capacity)
            {
                return null;
            }
        }
        var id = _idPrefix + (++_lastId).ToString(CultureInfo.InvariantCulture);
        _waiting.Add(id, iq);
        return id;
    }

    /// <summary>
    /// The IQ an answer with <paramref name="id"/>, from <paramref name="answeredBy"/> to <paramref name="answeredTo"/>,
    /// belongs to, taken out of the table; false when it matches nothing still waiting (unknown or expired id,
    /// or another sender or recipient than the IQ's, which leaves the entry for the real answer).
    /// </summary>
    public bool TryTake(string? id, Jid answeredBy, Jid answeredTo, DateTimeOffset now, [NotNullWhen(true)] out ForwardedIq? iq)
    {
        iq = null;
        if (id is null || !_waiting.TryGetValue(id, out var waiting)
            || !waiting.Recipient.Equals(answeredBy) || !waiting.RequesterOccupantJid.Equals(answeredTo))
        {
            return false;
        }
        _waiting.Remove(id);
        if (now - waiting.SentAt > lifetime)
        {
            return false;
        }
        iq = waiting;
        return true;
    }

    private void RemoveExpired(DateTimeOffset now)
    {
        List<string>? expired = null;
        foreach (var (id, iq) in _waiting)
        {
            if (now - iq.SentAt > lifetime)
            {
                (expired ??= []).Add(id);
            }
        }
        if (expired is not null)
        {
            foreach (var id in expired)
            {
                _waiting.Remove(id);
            }
        }
    }
}
