using System.Diagnostics.CodeAnalysis;
using Parley.Protocol;
using Parley.Protocol.Precis;
using Parley.Server.Administration;
using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Cli;

/// <summary>Checks and prepares what an administrator types for an account: its JID and its password.</summary>
internal static class AccountInput
{
    /// <summary>Prepares <paramref name="text"/> as an account's bare JID (localpart@domain) in canonical form.</summary>
    public static bool TryPrepareJid(string text, [NotNullWhen(true)] out string? bareJid, [NotNullWhen(false)] out string? error)
    {
        bareJid = null;
        Jid jid;
        try
        {
            jid = Jid.Parse(text);
        }
        catch (JidFormatException e)
        {
            error = $"'{text}' is not a valid JID: {WithoutPrefix(e.Message)}.";
            return false;
        }

        if (jid.Local is null || !jid.IsBare)
        {
            error = $"'{text}' is not an account JID: write it as user@domain, without a resource.";
            return false;
        }

        bareJid = jid.ToString();
        error = null;
        return true;
    }

    /// <summary>As <see cref="TryPrepareJid"/>, and the JID's domain must be one the node serves.</summary>
    public static bool TryPrepareServedJid(string text, IReadOnlyList<string> servedDomains, [NotNullWhen(true)] out string? bareJid, [NotNullWhen(false)] out string? error)
    {
        if (!TryPrepareJid(text, out bareJid, out error))
        {
            return false;
        }

        error = AccountService.NewAccountProblem(Jid.Parse(bareJid), servedDomains);
        if (error is not null)
        {
            bareJid = null;
            return false;
        }

        return true;
    }

    /// <summary>Prepares a password and checks it against the policy (<see cref="PasswordPolicy"/>). The error never repeats the password.</summary>
    public static bool TryPreparePassword(string password, AuthOptions auth, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error) =>
        PasswordPolicy.TryPrepare(password, auth.MinPasswordLength, out prepared, out error);

    // Jid.Parse's messages start with "Invalid JID: ", which our own wording already says.
    private static string WithoutPrefix(string message)
    {
        const string Prefix = "Invalid JID: ";
        return message.StartsWith(Prefix, StringComparison.Ordinal) ? message[Prefix.Length..] : message;
    }
}
