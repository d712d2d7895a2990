namespace Parley.Ldap;

/// <summary>
/// Parley:Directory — the LDAP directory (Active Directory or OpenLDAP) whose people sign in with their
/// directory password, are kept as accounts by the sync and are found by contact search. Off while
/// <see cref="Servers"/> is empty. Values left unset come from the <see cref="Preset"/>.
/// </summary>
public class DirectoryOptions
{
    /// <summary>ldap:// or ldaps:// URLs, tried in order: the first that answers is used.</summary>
    public List<string> Servers { get; set; } = [];

    /// <summary>starttls (default), ldaps, or none (plain LDAP: a directory on this host, or a test).</summary>
    public string Tls { get; set; } = "starttls";

    /// <summary>A directory of trusted CA certificates (PEM; libldap reads every file in it, no `openssl rehash` needed); the system's when unset.</summary>
    public string? CaDirectory { get; set; }

    /// <summary>openldap (uid, inetOrgPerson, jpegPhoto) or activedirectory (sAMAccountName, userAccountControl, thumbnailPhoto).</summary>
    public string Preset { get; set; } = "openldap";

    /// <summary>The service account that searches the directory.</summary>
    public string? BindDn { get; set; }
    public string? BindPassword { get; set; }

    public string? UserBase { get; set; }
    public string? UserFilter { get; set; }

    /// <summary>Directory users who match this filter are refused at sign-in and disabled by the sync.</summary>
    public string? DisabledFilter { get; set; }

    public string? GroupBase { get; set; }

    /// <summary>The groups that become shared roster groups; none when unset.</summary>
    public string? GroupFilter { get; set; }

    /// <summary>The attribute of a group that names its members (DNs).</summary>
    public string? GroupMemberAttribute { get; set; }

    /// <summary>The attribute of a group that is its name on rosters.</summary>
    public string? GroupNameAttribute { get; set; }

    /// <summary>userid (default: the JID's localpart is the user-id attribute) or mail (the JID is the directory URI).</summary>
    public string JidScheme { get; set; } = "userid";

    public DirectoryAttributes Attributes { get; set; } = new();

    /// <summary>How long one directory operation (connect, bind, search) may take before the directory counts as unreachable.</summary>
    public int TimeoutSeconds { get; set; } = 5;

    /// <summary>Directory operations in flight at once; sign-ins beyond it wait (asynchronously) for a turn.</summary>
    public int MaxConcurrentOperations { get; set; } = 4;

    /// <summary>Minutes between syncs; 0 syncs only at start-up and on demand.</summary>
    public int SyncIntervalMinutes { get; set; } = 60;

    /// <summary>
    /// How long a starting node waits for its first directory sync to complete before it accepts clients without one
    /// (with a warning); 0 does not wait. The sync is tried again meanwhile.
    /// </summary>
    public int StartupSyncTimeoutSeconds { get; set; } = 60;

    /// <summary>Days an account whose person left the directory stays disabled before it is removed.</summary>
    public int RemoveAfterDays { get; set; } = 30;

    /// <summary>Largest group shared on rosters; a larger one is skipped with the reason in the sync's summary.</summary>
    public int MaxSharedGroupMembers { get; set; } = 500;

    /// <summary>Most results one contact search returns.</summary>
    public int SearchResultLimit { get; set; } = 50;

    /// <summary>Offer SCRAM besides PLAIN while a directory is configured (only local accounts can use it).</summary>
    public bool OfferScram { get; set; }

    public bool IsConfigured => Servers.Count > 0;

    public bool IsActiveDirectory => string.Equals(Preset, "activedirectory", StringComparison.OrdinalIgnoreCase);

    public string EffectiveUserFilter => UserFilter ?? (IsActiveDirectory ? "(&(objectCategory=person)(objectClass=user))" : "(objectClass=inetOrgPerson)");

    public string? EffectiveDisabledFilter => DisabledFilter ?? (IsActiveDirectory ? "(userAccountControl:1.2.840.113556.1.4.803:=2)" : null);

    public string EffectiveGroupMemberAttribute => GroupMemberAttribute ?? "member";

    public string EffectiveGroupNameAttribute => GroupNameAttribute ?? "cn";

    public string UserIdAttribute => Attributes.UserId ?? (IsActiveDirectory ? "sAMAccountName" : "uid");

    public string PhotoAttribute => Attributes.Photo ?? (IsActiveDirectory ? "thumbnailPhoto" : "jpegPhoto");

    public string DepartmentAttribute => Attributes.Department ?? (IsActiveDirectory ? "department" : "departmentNumber");

    public bool UsesMailAsJid => string.Equals(JidScheme, "mail", StringComparison.OrdinalIgnoreCase);

    /// <summary>What is wrong with these options, each problem naming its full key under <paramref name="section"/>.</summary>
    public IEnumerable<string> Validate(string section)
    {
        foreach (var server in Servers)
        {
            if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("ldap" or "ldaps"))
            {
                yield return $"{section}:Servers: '{server}' is not an ldap:// or ldaps:// URL.";
            }
        }
        if (Tls is not ("starttls" or "ldaps" or "none"))
        {
            yield return $"{section}:Tls must be starttls, ldaps or none, not '{Tls}'.";
        }
        if (Preset is not ("openldap" or "activedirectory"))
        {
            yield return $"{section}:Preset must be openldap or activedirectory, not '{Preset}'.";
        }
        if (JidScheme is not ("userid" or "mail"))
        {
            yield return $"{section}:JidScheme must be userid or mail, not '{JidScheme}'.";
        }
        if (IsConfigured && (string.IsNullOrEmpty(UserBase) || string.IsNullOrEmpty(BindDn)))
        {
            yield return $"{section}: a directory needs {section}:UserBase and {section}:BindDn (and {section}:BindPassword).";
        }
        if (TimeoutSeconds < 1 || MaxConcurrentOperations < 1 || SyncIntervalMinutes < 0 || RemoveAfterDays < 0 || SearchResultLimit < 1 || StartupSyncTimeoutSeconds < 0)
        {
            yield return $"{section}: TimeoutSeconds, MaxConcurrentOperations and SearchResultLimit must be positive; SyncIntervalMinutes, RemoveAfterDays and StartupSyncTimeoutSeconds not negative.";
        }
    }
}

/// <summary>Parley:Directory:Attributes — which directory attribute holds what; the preset's when unset.</summary>
public sealed class DirectoryAttributes
{
    public string? UserId { get; set; }
    public string Mail { get; set; } = "mail";
    public string DisplayName { get; set; } = "displayName";
    public string GivenName { get; set; } = "givenName";
    public string Surname { get; set; } = "sn";
    public string Phone { get; set; } = "telephoneNumber";
    public string Title { get; set; } = "title";
    public string? Department { get; set; }
    public string? Photo { get; set; }
}
