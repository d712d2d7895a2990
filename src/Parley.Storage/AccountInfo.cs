namespace Parley.Storage;

/// <summary>An account as listed to administrators.</summary>
/// <param name="Jid">The bare JID, exactly as the caller prepared (normalized) it when creating the account.</param>
/// <param name="CreatedAt">When the account was created (UTC, millisecond precision).</param>
/// <param name="Disabled">Whether an administrator disabled it: it keeps its data and cannot sign in.</param>
public sealed record AccountInfo(string Jid, DateTimeOffset CreatedAt, bool Disabled = false);
