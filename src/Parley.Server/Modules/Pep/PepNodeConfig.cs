using System.Globalization;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Xml;

namespace Parley.Server.Modules.Pep;

/// <summary>Who may retrieve a node's items and get its notifications (XEP-0060 §4.5).</summary>
public enum PepAccessModel
{
    /// <summary>The owner's contacts with a subscription to the owner's presence (from or both): the PEP default.</summary>
    Presence,

    /// <summary>Anyone, e.g. OMEMO device lists and bundles.</summary>
    Open,

    /// <summary>Contacts in one of the roster groups the owner allowed.</summary>
    Roster,

    /// <summary>The owner only, e.g. bookmarks.</summary>
    Whitelist,
}

/// <summary>
/// A node's configuration: the subset of pubsub#node_config (XEP-0060 §16.4.4) that personal eventing
/// uses. Forms in, forms out: configure, publish-options and storage all speak the same fields.
/// </summary>
public sealed record PepNodeConfig(
    PepAccessModel AccessModel,
    int? MaxItems,
    bool PersistItems,
    bool NotifyRetract,
    bool NotifyDelete,
    bool DeliverNotifications,
    bool DeliverPayloads,
    string SendLastPublishedItem,
    IReadOnlyList<string> RosterGroupsAllowed,
    string Title,
    string Description,
    string Type)
{
    public const string NodeConfigFormType = "http://jabber.org/protocol/pubsub#node_config";
    public const string PublishOptionsFormType = "http://jabber.org/protocol/pubsub#publish-options";

    /// <summary>XEP-0163 §4.2: nodes a first publish creates are presence-accessible and keep one item.</summary>
    public static readonly PepNodeConfig Default = new(
        PepAccessModel.Presence,
        MaxItems: 1,
        PersistItems: true,
        NotifyRetract: true,
        NotifyDelete: true,
        DeliverNotifications: true,
        DeliverPayloads: true,
        SendLastPublishedItem: "on_sub_and_presence",
        RosterGroupsAllowed: [],
        Title: "",
        Description: "",
        Type: "");

    /// <summary>
    /// The configuration a node gets when a publish or create does not say: bookmark nodes hold room
    /// passwords and are the owner's alone, whatever the client forgot to ask for; others get <see cref="Default"/>.
    /// </summary>
    public static PepNodeConfig DefaultFor(string node) =>
        node is "storage:bookmarks" or "urn:xmpp:bookmarks:1" ? Default with { AccessModel = PepAccessModel.Whitelist } : Default;

    private const string Prefix = "pubsub#";

    private static readonly string[] FieldNames =
    [
        "access_model", "max_items", "persist_items", "notify_retract", "notify_delete",
        "deliver_notifications", "deliver_payloads", "send_last_published_item", "roster_groups_allowed", "title",
        "description", "type",
    ];

    /// <summary>The item limit, with "max" resolved to what the server allows.</summary>
    public int ItemLimit(int serverMaximum) => Math.Min(MaxItems ?? serverMaximum, serverMaximum);

    public bool SendsLastItemOnPresence => SendLastPublishedItem == "on_sub_and_presence";

    /// <summary>
    /// This configuration changed by the submitted fields; null with <paramref name="error"/> when one is
    /// unknown or its value is not valid. FORM_TYPE is skipped; the caller checks it.
    /// </summary>
    public PepNodeConfig? With(IReadOnlyDictionary<string, IReadOnlyList<string>> fields, out string? error)
    {
        var config = this;
        foreach (var (name, values) in fields)
        {
            if (name == DataForm.FormTypeVar)
            {
                continue;
            }
            config = config.With(name, values, out error);
            if (config is null)
            {
                return null;
            }
        }
        error = null;
        return config;
    }

    /// <summary>
    /// The first publish-option this configuration does not meet (XEP-0060 §7.1.5), or null when it meets them all.
    /// An option the server does not know is never met.
    /// </summary>
    public string? FirstUnmetPrecondition(IReadOnlyDictionary<string, IReadOnlyList<string>> options)
    {
        foreach (var (name, values) in options)
        {
            if (name == DataForm.FormTypeVar)
            {
                continue;
            }
            var wanted = With(name, values, out _);
            if (wanted is null || !wanted.Values(name).SequenceEqual(Values(name), StringComparer.Ordinal))
            {
                return name;
            }
        }
        return null;
    }

    /// <summary>The configuration as a data form: type "form" for clients to fill in, "submit" to store.</summary>
    public Element ToForm(string type)
    {
        var form = DataForm.Create(type, NodeConfigFormType);
        foreach (var name in FieldNames)
        {
            var field = DataForm.AddField(form, Prefix + name, type == "form" ? TypeOf(name) : null, null, Values(Prefix + name));
            if (type == "form" && Options(name) is { } options)
            {
                foreach (var option in options)
                {
                    DataForm.AddOption(field, option);
                }
            }
        }
        return form;
    }

    /// <summary>Reads a configuration the server stored; fields it no longer knows keep their defaults.</summary>
    public static PepNodeConfig FromStored(string xml)
    {
        var fields = DataForm.Read(ElementParser.Parse(xml, Ns.Client)) ?? [];
        var config = Default;
        foreach (var (name, values) in fields)
        {
            config = config.With(name, values, out _) ?? config;
        }
        return config;
    }

    public string ToStored() => ToForm("submit").ToXml(Ns.Client);

    private PepNodeConfig? With(string name, IReadOnlyList<string> values, out string? error)
    {
        error = null;
        var value = values.Count > 0 ? values[0].Trim() : "";
        switch (name)
        {
            case Prefix + "access_model":
                PepAccessModel? model = value switch
                {
                    "presence" => PepAccessModel.Presence,
                    "open" => PepAccessModel.Open,
                    "roster" => PepAccessModel.Roster,
                    "whitelist" => PepAccessModel.Whitelist,
                    _ => null,
                };
                if (model is null)
                {
                    error = $"The access model '{value}' is not one of presence, open, roster, whitelist.";
                    return null;
                }
                return this with { AccessModel = model.Value };
            case Prefix + "max_items":
                if (value == "max")
                {
                    return this with { MaxItems = null };
                }
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0)
                {
                    return this with { MaxItems = max };
                }
                error = $"max_items must be a positive number or 'max', not '{value}'.";
                return null;
            case Prefix + "persist_items":
                return Boolean(value, name, out var persist, out error) ? this with { PersistItems = persist } : null;
            case Prefix + "notify_retract":
                return Boolean(value, name, out var retract, out error) ? this with { NotifyRetract = retract } : null;
            case Prefix + "notify_delete":
                return Boolean(value, name, out var delete, out error) ? this with { NotifyDelete = delete } : null;
            case Prefix + "deliver_notifications":
                return Boolean(value, name, out var deliver, out error) ? this with { DeliverNotifications = deliver } : null;
            case Prefix + "deliver_payloads":
                return Boolean(value, name, out var payloads, out error) ? this with { DeliverPayloads = payloads } : null;
            case Prefix + "send_last_published_item":
                if (value is "never" or "on_sub" or "on_sub_and_presence")
                {
                    return this with { SendLastPublishedItem = value };
                }
                error = $"send_last_published_item must be never, on_sub or on_sub_and_presence, not '{value}'.";
                return null;
            case Prefix + "roster_groups_allowed":
                return this with { RosterGroupsAllowed = [.. values.Where(group => group.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)] };
            // Informational: kept and shown, they change nothing the server does.
            case Prefix + "title":
                return this with { Title = value };
            case Prefix + "description":
                return this with { Description = value };
            case Prefix + "type":
                return this with { Type = value };
            default:
                error = $"This server does not support the node option '{name}'.";
                return null;
        }
    }

    private IReadOnlyList<string> Values(string name) => name switch
    {
        Prefix + "access_model" => [AccessModel.ToString().ToLowerInvariant()],
        Prefix + "max_items" => [MaxItems?.ToString(CultureInfo.InvariantCulture) ?? "max"],
        Prefix + "persist_items" => [DataForm.Boolean(PersistItems)],
        Prefix + "notify_retract" => [DataForm.Boolean(NotifyRetract)],
        Prefix + "notify_delete" => [DataForm.Boolean(NotifyDelete)],
        Prefix + "deliver_notifications" => [DataForm.Boolean(DeliverNotifications)],
        Prefix + "deliver_payloads" => [DataForm.Boolean(DeliverPayloads)],
        Prefix + "send_last_published_item" => [SendLastPublishedItem],
        Prefix + "roster_groups_allowed" => RosterGroupsAllowed,
        Prefix + "title" => [Title],
        Prefix + "description" => [Description],
        Prefix + "type" => [Type],
        _ => [],
    };

    private static string TypeOf(string name) => name switch
    {
        "access_model" or "send_last_published_item" => FieldType.ListSingle,
        "roster_groups_allowed" => FieldType.ListMulti,
        "max_items" or "title" or "description" or "type" => FieldType.TextSingle,
        _ => FieldType.Boolean,
    };

    private static string[]? Options(string name) => name switch
    {
        "access_model" => ["open", "presence", "roster", "whitelist"],
        "send_last_published_item" => ["never", "on_sub", "on_sub_and_presence"],
        _ => null,
    };

    private static bool Boolean(string value, string name, out bool result, out string? error)
    {
        error = DataForm.TryParseBoolean(value, out result) ? null : $"{name} must be a boolean (1, 0, true or false), not '{value}'.";
        return error is null;
    }
}
