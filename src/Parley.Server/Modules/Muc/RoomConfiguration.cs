using System.Globalization;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>Who may send private messages to occupants (muc#roomconfig_allowpm).</summary>
public enum PrivateMessagePolicy
{
    Anyone,
    Participants,
    Moderators,
    None,
}

/// <summary>
/// A room's settings: the standard muc#roomconfig fields of XEP-0045 §10.2 (and muc#maxhistoryfetch).
/// Immutable: a submitted form makes a new one, so a rejected form changes nothing.
/// </summary>
public sealed record RoomConfiguration
{
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public string Language { get; init; } = "";
    public bool Public { get; init; } = true;
    public bool Persistent { get; init; }
    public bool Moderated { get; init; }
    public bool MembersOnly { get; init; }
    public string Password { get; init; } = "";

    /// <summary>As Prosody has it: a room with a password is password-protected, so no password protects nothing.</summary>
    public bool PasswordProtected => Password.Length > 0;

    /// <summary>Non-anonymous (whois = anyone): every occupant sees every occupant's real JID.</summary>
    public bool NonAnonymous { get; init; }

    public bool ChangeSubject { get; init; }
    public bool AllowInvites { get; init; }
    public PrivateMessagePolicy AllowPrivateMessages { get; init; } = PrivateMessagePolicy.Anyone;

    /// <summary>Messages are archived (XEP-0313 on the room JID); persistent rooms are always archived.</summary>
    public bool EnableLogging { get; init; }

    /// <summary>0 = the service's limit.</summary>
    public int MaxUsers { get; init; }

    public int MaxHistoryFetch { get; init; } = 20;

    public bool IsArchived => Persistent || EnableLogging;

    private const string Prefix = "muc#roomconfig_";

    /// <summary>The configuration form (type form) an owner fills in, with the room's owners and admins.</summary>
    public Element ToForm(IEnumerable<string> owners, IEnumerable<string> admins, int serviceMaxUsers)
    {
        var form = DataForm.Create("form", Ns.MucRoomConfig, "Room configuration");
        DataForm.AddField(form, Prefix + "roomname", FieldType.TextSingle, "Name", Name);
        DataForm.AddField(form, Prefix + "roomdesc", FieldType.TextSingle, "Description", Description);
        DataForm.AddField(form, Prefix + "lang", FieldType.TextSingle, "Language", Language);
        DataForm.AddField(form, Prefix + "publicroom", FieldType.Boolean, "List the room publicly", DataForm.Boolean(Public));
        DataForm.AddField(form, Prefix + "persistentroom", FieldType.Boolean, "Keep the room when everyone has left", DataForm.Boolean(Persistent));
        DataForm.AddField(form, Prefix + "moderatedroom", FieldType.Boolean, "Only participants may speak", DataForm.Boolean(Moderated));
        DataForm.AddField(form, Prefix + "membersonly", FieldType.Boolean, "Only members may enter", DataForm.Boolean(MembersOnly));
        DataForm.AddField(form, Prefix + "passwordprotectedroom", FieldType.Boolean, "Require a password", DataForm.Boolean(PasswordProtected));
        DataForm.AddField(form, Prefix + "roomsecret", FieldType.TextPrivate, "Password", Password);
        var whois = DataForm.AddField(form, Prefix + "whois", FieldType.ListSingle, "Who may see real JIDs", NonAnonymous ? "anyone" : "moderators");
        DataForm.AddOption(whois, "moderators", "Moderators only");
        DataForm.AddOption(whois, "anyone", "Anyone");
        DataForm.AddField(form, Prefix + "changesubject", FieldType.Boolean, "Participants may change the subject", DataForm.Boolean(ChangeSubject));
        DataForm.AddField(form, Prefix + "allowinvites", FieldType.Boolean, "Participants may invite", DataForm.Boolean(AllowInvites));
        var allowPm = DataForm.AddField(form, Prefix + "allowpm", FieldType.ListSingle, "Who may send private messages", PolicyName(AllowPrivateMessages));
        foreach (var policy in new[] { "anyone", "participants", "moderators", "none" })
        {
            DataForm.AddOption(allowPm, policy, policy);
        }
        DataForm.AddField(form, Prefix + "enablelogging", FieldType.Boolean, "Archive messages", DataForm.Boolean(EnableLogging));
        var maxUsers = DataForm.AddField(form, Prefix + "maxusers", FieldType.ListSingle, "Maximum occupants", MaxUsers == 0 ? "none" : MaxUsers.ToString(CultureInfo.InvariantCulture));
        foreach (var option in new[] { 10, 20, 50, 100, 200, 500, 1000 })
        {
            if (serviceMaxUsers == 0 || option <= serviceMaxUsers)
            {
                DataForm.AddOption(maxUsers, option.ToString(CultureInfo.InvariantCulture), option.ToString(CultureInfo.InvariantCulture));
            }
        }
        DataForm.AddOption(maxUsers, "none", "No limit");
        DataForm.AddField(form, "muc#maxhistoryfetch", FieldType.TextSingle, "Messages of history sent on join", MaxHistoryFetch.ToString(CultureInfo.InvariantCulture));
        DataForm.AddField(form, Prefix + "roomadmins", FieldType.JidMulti, "Admins", [.. admins]);
        DataForm.AddField(form, Prefix + "roomowners", FieldType.JidMulti, "Owners", [.. owners]);
        return form;
    }

    /// <summary>The settings as a submitted form, as stored for persistent rooms (owners and admins are stored as affiliations).</summary>
    public string ToStoredXml()
    {
        var form = ToForm([], [], serviceMaxUsers: 0);
        form.SetAttribute("type", "submit");
        DataForm.RemoveField(form, Prefix + "roomadmins");
        DataForm.RemoveField(form, Prefix + "roomowners");
        return form.ToXml(Ns.Client);
    }

    public static RoomConfiguration FromStoredXml(string xml)
    {
        var defaults = new RoomConfiguration();
        var form = ElementParser.Parse(xml, Ns.Client);
        return defaults.Apply(form, serviceMaxUsers: 0) is { Configuration: { } configuration } ? configuration : defaults;
    }

    /// <summary>What a submitted form changes: the new configuration, the owner and admin lists when the form gave them, or why it is refused.</summary>
    public sealed record Submission(RoomConfiguration? Configuration, List<Jid>? Owners, List<Jid>? Admins, string? Error);

    /// <summary>Applies a submitted form; an unknown field or a value out of range refuses the whole form.</summary>
    public Submission Apply(Element form, int serviceMaxUsers)
    {
        var values = DataForm.Values(form);
        var result = this;
        List<Jid>? owners = null;
        List<Jid>? admins = null;
        bool? protect = null;
        foreach (var (var, list) in values)
        {
            var value = list.Count > 0 ? list[0] : "";
            string? error = null;
            switch (var)
            {
                case "FORM_TYPE":
                    if (value != Ns.MucRoomConfig)
                    {
                        error = $"FORM_TYPE must be {Ns.MucRoomConfig}.";
                    }
                    break;
                case Prefix + "roomname":
                    result = result with { Name = value };
                    break;
                case Prefix + "roomdesc":
                    result = result with { Description = value };
                    break;
                case Prefix + "lang":
                    result = result with { Language = value };
                    break;
                case Prefix + "roomsecret":
                    result = result with { Password = value };
                    break;
                case Prefix + "publicroom":
                    error = Boolean(var, value, b => result = result with { Public = b });
                    break;
                case Prefix + "persistentroom":
                    error = Boolean(var, value, b => result = result with { Persistent = b });
                    break;
                case Prefix + "moderatedroom":
                    error = Boolean(var, value, b => result = result with { Moderated = b });
                    break;
                case Prefix + "membersonly":
                    error = Boolean(var, value, b => result = result with { MembersOnly = b });
                    break;
                case Prefix + "passwordprotectedroom":
                    error = Boolean(var, value, b => protect = b);
                    break;
                case Prefix + "changesubject":
                    error = Boolean(var, value, b => result = result with { ChangeSubject = b });
                    break;
                case Prefix + "allowinvites":
                    error = Boolean(var, value, b => result = result with { AllowInvites = b });
                    break;
                case Prefix + "enablelogging":
                    error = Boolean(var, value, b => result = result with { EnableLogging = b });
                    break;
                case Prefix + "whois":
                    if (value is "anyone" or "moderators")
                    {
                        result = result with { NonAnonymous = value == "anyone" };
                    }
                    else
                    {
                        error = $"{var} must be 'moderators' or 'anyone', not '{value}'.";
                    }
                    break;
                case Prefix + "allowpm":
                    if (TryParsePolicy(value, out var policy))
                    {
                        result = result with { AllowPrivateMessages = policy };
                    }
                    else
                    {
                        error = $"{var} must be anyone, participants, moderators or none, not '{value}'.";
                    }
                    break;
                case Prefix + "maxusers":
                    if (value is "none" or "")
                    {
                        result = result with { MaxUsers = 0 };
                    }
                    else if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0 && (serviceMaxUsers == 0 || max <= serviceMaxUsers))
                    {
                        result = result with { MaxUsers = max };
                    }
                    else
                    {
                        error = $"{var} must be 'none' or a number from 1 to {(serviceMaxUsers == 0 ? "any" : serviceMaxUsers)}, not '{value}'.";
                    }
                    break;
                case "muc#maxhistoryfetch":
                    if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var fetch))
                    {
                        result = result with { MaxHistoryFetch = fetch };
                    }
                    else
                    {
                        error = $"{var} must be a number, not '{value}'.";
                    }
                    break;
                case Prefix + "roomowners":
                    error = Jids(var, list, out owners);
                    break;
                case Prefix + "roomadmins":
                    error = Jids(var, list, out admins);
                    break;
                default:
                    error = $"The room has no setting '{var}'.";
                    break;
            }
            if (error is not null)
            {
                return new Submission(null, null, null, error);
            }
        }
        if (protect == true && result.Password.Length == 0)
        {
            return new Submission(null, null, null, "A password-protected room needs a password (muc#roomconfig_roomsecret).");
        }
        if (protect == false && !values.ContainsKey(Prefix + "roomsecret"))
        {
            // Turning protection off without saying the password: the old one goes, and the room opens.
            result = result with { Password = "" };
        }
        return new Submission(result, owners, admins, null);
    }

    private static string? Boolean(string var, string value, Action<bool> set)
    {
        if (!DataForm.TryParseBoolean(value, out var parsed))
        {
            return $"{var} must be a boolean (1/0, true/false), not '{value}'.";
        }
        set(parsed);
        return null;
    }

    private static string? Jids(string var, IReadOnlyList<string> values, out List<Jid> jids)
    {
        jids = [];
        foreach (var value in values)
        {
            if (!Jid.TryParse(value, out var jid) || jid.Local is null)
            {
                return $"{var}: '{value}' is not a bare JID.";
            }
            jids.Add(jid.Bare);
        }
        return null;
    }

    public static string PolicyName(PrivateMessagePolicy policy) => policy switch
    {
        PrivateMessagePolicy.Participants => "participants",
        PrivateMessagePolicy.Moderators => "moderators",
        PrivateMessagePolicy.None => "none",
        _ => "anyone",
    };

    private static bool TryParsePolicy(string value, out PrivateMessagePolicy policy)
    {
        policy = value switch
        {
            "anyone" => PrivateMessagePolicy.Anyone,
            "participants" => PrivateMessagePolicy.Participants,
            "moderators" => PrivateMessagePolicy.Moderators,
            "none" => PrivateMessagePolicy.None,
            _ => (PrivateMessagePolicy)(-1),
        };
        return policy >= 0;
    }
}
