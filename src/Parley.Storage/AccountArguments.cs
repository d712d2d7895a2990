using System.Runtime.CompilerServices;
using Parley.Protocol.Sasl;

namespace Parley.Storage;

/// <summary>
/// Argument checks every account store shares, so that SQLite and PostgreSQL reject the same input with the same
/// message. They check shape only; preparing (normalizing) a JID is the caller's job.
/// </summary>
internal static class AccountArguments
{
    private const int Sha1Length = 20;
    private const int Sha256Length = 32;

    /// <summary>Checks that <paramref name="bareJid"/> looks like "localpart@domain" and returns the domain.</summary>
    public static string DomainOf(string bareJid, [CallerArgumentExpression(nameof(bareJid))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(bareJid, parameterName);
        var at = bareJid.IndexOf('@');
        if (at <= 0 || at == bareJid.Length - 1 || bareJid.IndexOf('@', at + 1) >= 0 || bareJid.Contains('/'))
        {
            throw new ArgumentException($"'{bareJid}' is not a bare account JID of the form localpart@domain.", parameterName);
        }

        return bareJid[(at + 1)..];
    }

    public static void CheckDomain(string? domain, [CallerArgumentExpression(nameof(domain))] string? parameterName = null)
    {
        if (domain is not null && (domain.Length == 0 || domain.Contains('@') || domain.Contains('/')))
        {
            throw new ArgumentException($"'{domain}' is not a domain; pass null to mean all domains.", parameterName);
        }
    }

    public static void CheckPage(int offset, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
    }

    public static void CheckDisplayName(string? displayName, [CallerArgumentExpression(nameof(displayName))] string? parameterName = null)
    {
        if (displayName is not null && AccountInfo.DisplayNameProblem(displayName) is { } problem)
        {
            throw new ArgumentException(problem, parameterName);
        }
    }

    /// <summary>
    /// What searches compare: the text lower-cased the same way on every provider (SQLite's LOWER and LIKE fold ASCII
    /// only, PostgreSQL's follow the database's locale). JIDs are stored folded already (nodeprep); display names are
    /// stored with their folded copy beside them.
    /// </summary>
    public static string? Fold(string? text) => text?.ToLowerInvariant();

    /// <summary>
    /// The LIKE pattern that finds <paramref name="text"/> anywhere, with LIKE's own characters escaped by '\' so that
    /// "%" and "_" are found as themselves.
    /// </summary>
    public static string ContainsPattern(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pattern = new System.Text.StringBuilder(text.Length + 8).Append('%');
        foreach (var c in Fold(text)!)
        {
            if (c is '%' or '_' or '\\')
            {
                pattern.Append('\\');
            }
            pattern.Append(c);
        }
        return pattern.Append('%').ToString();
    }

    public static void CheckCredentials(AccountCredentials credentials, [CallerArgumentExpression(nameof(credentials))] string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(credentials, parameterName);
        CheckScram(credentials.Sha1, ScramHash.Sha1, Sha1Length, parameterName);
        CheckScram(credentials.Sha256, ScramHash.Sha256, Sha256Length, parameterName);
    }

    private static void CheckScram(ScramCredentials? scram, ScramHash expectedHash, int keyLength, string? parameterName)
    {
        if (scram is null)
        {
            throw new ArgumentException($"The {expectedHash} SCRAM credentials are missing.", parameterName);
        }

        // Swapped or truncated keys would be stored fine and only fail at the user's next login; refuse them here.
        if (scram.Hash != expectedHash)
        {
            throw new ArgumentException($"The {expectedHash} slot holds {scram.Hash} SCRAM credentials.", parameterName);
        }

        if (scram.Salt is null || scram.Salt.Length == 0)
        {
            throw new ArgumentException($"The {expectedHash} SCRAM salt is empty.", parameterName);
        }

        if (scram.Iterations < 1)
        {
            throw new ArgumentException($"The {expectedHash} SCRAM iteration count is {scram.Iterations}; it must be at least 1.", parameterName);
        }

        if (scram.StoredKey?.Length != keyLength || scram.ServerKey?.Length != keyLength)
        {
            throw new ArgumentException(
                $"The {expectedHash} SCRAM StoredKey and ServerKey must be {keyLength} bytes each (got {scram.StoredKey?.Length ?? 0} and {scram.ServerKey?.Length ?? 0}).",
                parameterName);
        }
    }
}
