using System.Runtime.CompilerServices;
using System.Text;

namespace Parley.Storage;

/// <summary>
/// Argument checks the roster, offline, blocklist and document stores share, so that SQLite and PostgreSQL reject
/// the same input with the same message. Like <see cref="AccountArguments"/>, they check shape only.
/// </summary>
internal static class UserDataArguments
{
    /// <summary>localpart (1023) + '@' + domainpart (1023) + '/' + resourcepart (1023), in bytes of UTF-8 (RFC 7622 §3.1).</summary>
    public const int MaxJidBytes = 3071;

    /// <summary>Checks that <paramref name="user"/> is an account's bare JID and returns its domain.</summary>
    public static string CheckUser(string user, [CallerArgumentExpression(nameof(user))] string? parameterName = null)
        => AccountArguments.DomainOf(user, parameterName);

    /// <summary>
    /// A contact is a bare JID with or without a localpart: gateways (XEP-0100) and other services appear in rosters,
    /// and send subscription requests, under their domain JID.
    /// </summary>
    public static void CheckContact(string contact, [CallerArgumentExpression(nameof(contact))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(contact, parameterName);
        var at = contact.IndexOf('@');
        if (contact.Length == 0 || at == 0 || at == contact.Length - 1 || (at > 0 && contact.IndexOf('@', at + 1) >= 0) || contact.Contains('/'))
        {
            throw new ArgumentException($"'{contact}' is not a bare JID of the form localpart@domain or domain.", parameterName);
        }
    }

    public static void CheckRosterItem(RosterItem item, [CallerArgumentExpression(nameof(item))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(item, parameterName);
        CheckContact(item.Contact, parameterName);
        if (item.Subscription is < Subscription.None or > Subscription.Both)
        {
            throw new ArgumentException($"The roster item for '{item.Contact}' has subscription {(int)item.Subscription}, which is not one of None, To, From, Both.", parameterName);
        }

        var groups = item.Groups ?? throw new ArgumentException($"The roster item for '{item.Contact}' has no group list; give an empty list for no groups.", parameterName);
        for (var i = 0; i < groups.Count; i++)
        {
            if (string.IsNullOrEmpty(groups[i]))
            {
                throw new ArgumentException($"The roster item for '{item.Contact}' has an empty group name.", parameterName);
            }

            // Rosters have a handful of groups per item, so a quadratic scan beats allocating a set.
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(groups[i], groups[j], StringComparison.Ordinal))
                {
                    throw new ArgumentException($"The roster item for '{item.Contact}' lists the group '{groups[i]}' twice.", parameterName);
                }
            }
        }
    }

    /// <summary>Stores keep XML as the caller serialized it and never parse it; they only refuse nothing at all.</summary>
    public static void CheckXml(string xml, [CallerArgumentExpression(nameof(xml))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(xml, parameterName);
        if (string.IsNullOrWhiteSpace(xml))
        {
            throw new ArgumentException("The XML is empty.", parameterName);
        }
    }

    /// <summary>Blocked JIDs may be bare, full or domain JIDs (XEP-0191 §3.3), so only emptiness and length are checked.</summary>
    public static void CheckBlockedJids(IReadOnlyCollection<string> jids, [CallerArgumentExpression(nameof(jids))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(jids, parameterName);
        foreach (var jid in jids)
        {
            if (string.IsNullOrEmpty(jid))
            {
                throw new ArgumentException("A blocked JID is empty.", parameterName);
            }

            var bytes = Encoding.UTF8.GetByteCount(jid);
            if (bytes > MaxJidBytes)
            {
                throw new ArgumentException($"A blocked JID is {bytes} bytes of UTF-8; a JID has at most {MaxJidBytes}.", parameterName);
            }
        }
    }

    /// <summary>Kinds name a feature and are never empty; keys may be empty where a kind has one document per user (the vCard).</summary>
    public static void CheckDocumentAddress(string kind, string key)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(key);
        if (kind.Length == 0)
        {
            throw new ArgumentException("The document kind is empty.", nameof(kind));
        }
    }
}
