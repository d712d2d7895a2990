namespace Parley.Ldap;

/// <summary>A person as the directory has them, with the attributes the mapping names.</summary>
public sealed record DirectoryUser(
    string Dn,
    string UserId,
    string? Mail,
    string? DisplayName,
    string? GivenName,
    string? Surname,
    string? Phone,
    string? Title,
    string? Department,
    byte[]? Photo,
    bool Disabled)
{
    /// <summary>The JID localpart the scheme asks for, before PRECIS: the user id, or the mail address's local part.</summary>
    public string? LocalpartSource(DirectoryOptions options) =>
        options.UsesMailAsJid ? Mail is { } mail && mail.IndexOf('@') is > 0 and var at ? mail[..at] : null : UserId;
}

/// <summary>A group whose members become a shared roster group, with its members' DNs after resolving nested groups.</summary>
/// <param name="Incomplete">Why not all its members could be read (a range of Active Directory's ranged retrieval missing); null when they were.</param>
public sealed record DirectoryGroup(string Dn, string Name, IReadOnlyList<string> MemberDns, string? Incomplete = null);
