using System.Globalization;
using System.Runtime.CompilerServices;

namespace Parley.Storage;

/// <summary>
/// Argument checks and the id format every archive store shares, so that SQLite and PostgreSQL refuse the same input
/// with the same message and hand out ids of the same shape.
/// </summary>
internal static class ArchiveArguments
{
    /// <summary>More ids than this in one query is not a client asking for messages it saw, but a scan.</summary>
    public const int MaxIds = 1000;

    private const int IdLength = 16;

    /// <summary>An archive is a user's or a room's bare JID: localpart@domain.</summary>
    public static void CheckArchive(string archive, [CallerArgumentExpression(nameof(archive))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(archive, parameterName);
        var at = archive.IndexOf('@');
        if (at <= 0 || at == archive.Length - 1 || archive.IndexOf('@', at + 1) >= 0 || archive.Contains('/'))
        {
            throw new ArgumentException($"'{archive}' is not an archive's bare JID of the form localpart@domain.", parameterName);
        }
    }

    public static void CheckWith(string with, [CallerArgumentExpression(nameof(with))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(with, parameterName);
        if (with.Length == 0 || with[0] == '/')
        {
            throw new ArgumentException($"'{with}' is not a JID.", parameterName);
        }
    }

    public static void CheckQuery(ArchiveQuery query, [CallerArgumentExpression(nameof(query))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(query, parameterName);
        CheckArchive(query.Archive, parameterName);
        if (query.With is not null)
        {
            CheckWith(query.With, parameterName);
        }

        if (query.Max < 0)
        {
            throw new ArgumentException($"The page size is {query.Max}; it must be 0 or more.", parameterName);
        }

        if (query.Ids is { Count: > MaxIds })
        {
            throw new ArgumentException($"The query names {query.Ids.Count} ids; at most {MaxIds} are allowed.", parameterName);
        }

        if (query.FullText is { Length: > ArchiveText.MaxSearchLength })
        {
            throw new ArgumentException($"The search text has {query.FullText.Length} characters; at most {ArchiveText.MaxSearchLength} are allowed.", parameterName);
        }
    }

    public static void CheckPreferences(ArchivePreferences preferences, [CallerArgumentExpression(nameof(preferences))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(preferences, parameterName);
        if (preferences.Default is not ("always" or "never" or "roster"))
        {
            throw new ArgumentException($"The default '{preferences.Default}' is not one of always, never, roster.", parameterName);
        }

        if (preferences.Always is null || preferences.Never is null)
        {
            throw new ArgumentException("The always and never lists must be given; give empty lists for none.", parameterName);
        }

        foreach (var jid in preferences.Always.Concat(preferences.Never))
        {
            CheckWith(jid, parameterName);
        }
    }

    /// <summary>Fixed-width lowercase hexadecimal, so that ids compare as strings in the order they were handed out.</summary>
    public static string FormatId(long id) => id.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>False for anything <see cref="FormatId"/> cannot have made: such an id is in no archive.</summary>
    public static bool TryParseId(string id, out long value)
    {
        value = 0;
        if (id.Length != IdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return long.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value > 0;
    }

    /// <summary>A JID's bare part and its resource ("" for none): the resource follows the first '/' (RFC 7622 §3.1).</summary>
    public static (string Bare, string Resource) SplitJid(string jid)
    {
        var slash = jid.IndexOf('/');
        return slash < 0 ? (jid, "") : (jid[..slash], jid[(slash + 1)..]);
    }
}
