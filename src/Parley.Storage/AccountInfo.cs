namespace Parley.Storage;

/// <summary>An account as listed to administrators.</summary>
/// <param name="Jid">The bare JID, exactly as the caller prepared (normalized) it when creating the account.</param>
/// <param name="CreatedAt">When the account was created (UTC, millisecond precision).</param>
/// <param name="Disabled">Whether an administrator disabled it: it keeps its data and cannot sign in.</param>
/// <param name="DisplayName">The name an administrator gave it (<see cref="IAccountStore.SetDisplayNameAsync"/>), or null.</param>
public sealed record AccountInfo(string Jid, DateTimeOffset CreatedAt, bool Disabled = false, string? DisplayName = null)
{
    public const int MaxDisplayNameLength = 200;

    /// <summary>Why <paramref name="displayName"/> cannot be an account's display name, or null when it can.</summary>
    public static string? DisplayNameProblem(string displayName)
    {
        if (displayName.Length is 0 or > MaxDisplayNameLength)
        {
            return $"A display name has 1 to {MaxDisplayNameLength} characters.";
        }
        return displayName.Any(char.IsControl) ? "A display name cannot hold control characters (line breaks, tabs)." : null;
    }
}
