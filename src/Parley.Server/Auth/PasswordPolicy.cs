using System.Diagnostics.CodeAnalysis;
using Parley.Protocol.Precis;

namespace Parley.Server.Auth;

/// <summary>
/// What a new password must be, wherever one is set: <c>parley user add|passwd|import</c> and in-band registration
/// and password change (XEP-0077). Logins are not checked against it, so raising the minimum locks nobody out.
/// </summary>
public static class PasswordPolicy
{
    /// <summary>
    /// Prepares <paramref name="password"/> (OpaqueString, RFC 8265) and checks it has at least
    /// <paramref name="minLength"/> characters (Unicode code points, after preparation). The error is a
    /// sentence in lower case ("the password ...") that never repeats the password.
    /// </summary>
    public static bool TryPrepare(string password, int minLength, [NotNullWhen(true)] out string? prepared, [NotNullWhen(false)] out string? error)
    {
        if (password.Length == 0)
        {
            prepared = null;
            error = "the password is empty.";
            return false;
        }

        if (!Precis.TryPreparePassword(password, out prepared, out var precisError))
        {
            error = $"the {precisError}.";
            return false;
        }

        var length = 0;
        foreach (var _ in prepared.EnumerateRunes())
        {
            length++;
        }

        if (length < minLength)
        {
            prepared = null;
            error = $"the password is too short: it must have at least {minLength} characters.";
            return false;
        }

        error = null;
        return true;
    }
}
