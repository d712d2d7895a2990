namespace Parley.Server.Modules.Muc;

/// <summary>A user's long-lived standing in a room (XEP-0045 §5.2), lowest first so that ranks compare.</summary>
public enum Affiliation
{
    Outcast,
    None,
    Member,
    Admin,
    Owner,
}

/// <summary>An occupant's privileges while in the room (XEP-0045 §5.1), lowest first.</summary>
public enum Role
{
    None,
    Visitor,
    Participant,
    Moderator,
}

/// <summary>The protocol names of affiliations and roles.</summary>
public static class MucNames
{
    public static string Of(Affiliation affiliation) => affiliation switch
    {
        Affiliation.Outcast => "outcast",
        Affiliation.Member => "member",
        Affiliation.Admin => "admin",
        Affiliation.Owner => "owner",
        _ => "none",
    };

    public static string Of(Role role) => role switch
    {
        Role.Visitor => "visitor",
        Role.Participant => "participant",
        Role.Moderator => "moderator",
        _ => "none",
    };

    public static bool TryParseAffiliation(string? name, out Affiliation affiliation)
    {
        affiliation = name switch
        {
            "outcast" => Affiliation.Outcast,
            "none" => Affiliation.None,
            "member" => Affiliation.Member,
            "admin" => Affiliation.Admin,
            "owner" => Affiliation.Owner,
            _ => (Affiliation)(-1),
        };
        return affiliation >= 0;
    }

    public static bool TryParseRole(string? name, out Role role)
    {
        role = name switch
        {
            "none" => Role.None,
            "visitor" => Role.Visitor,
            "participant" => Role.Participant,
            "moderator" => Role.Moderator,
            _ => (Role)(-1),
        };
        return role >= 0;
    }
}
