using System.Globalization;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.Administration;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.AdHoc;
using Parley.Server.Modules.Roster;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.ServiceAdministration;

/// <summary>
/// Service administration (XEP-0133) for admins (<see cref="AdminRoles"/>) from any XMPP client, as ad-hoc commands:
/// accounts added, deleted, disabled, re-enabled, given a new password; a user's roster and last login; online and
/// registered users; an announcement to everyone online; the message of the day (the login banner). Online users and
/// announcements span every node of a cluster (<see cref="SessionAdministration"/>). Every change goes through the
/// application services as the admin, from the client's address, so it is audited like the CLI's.
/// Notes and values are text in the stanza, escaped by the XML writer like any other.
/// </summary>
public sealed class ServiceAdministrationModule(
    AdHocCommands commands, AdministrationServices administration, SessionAdministration sessions, IParleyStorage storage) : IModule
{
    /// <summary>The most JIDs a list command returns; a longer list says it was cut.</summary>
    public const int MaxListedJids = 1000;

    /// <summary>The user-document kind under which the time of each account's latest login is kept.</summary>
    public const string LastLoginKind = "last-login";

    private const string Node = Ns.ServiceAdministration + "#";

    public void Register(ModuleRegistry registry)
    {
        registry.OnSessionStarted(NoteLoginAsync);
        Add("add-user", "Add a User", AccountForm("Adding a user", "Fill out this form to add a user.", multiple: false, password: true, verify: true), AddUserAsync);
        Add("delete-user", "Delete a User", AccountForm("Deleting users", "The accounts to delete, with all their data.", multiple: true), DeleteUsersAsync);
        Add("disable-user", "Disable a User", AccountForm("Disabling users", "The accounts to disable: their sessions end and they cannot sign in.", multiple: true),
            (context, values) => SetDisabledAsync(context, values, disabled: true));
        Add("reenable-user", "Re-Enable a User", AccountForm("Re-enabling users", "The accounts that may sign in again.", multiple: true),
            (context, values) => SetDisabledAsync(context, values, disabled: false));
        Add("change-user-password", "Change User Password", AccountForm("Changing a user's password", "The account and its new password.", multiple: false, password: true),
            ChangePasswordAsync);
        Add("get-user-roster", "Get User Roster", AccountForm("Getting a user's roster", "The account whose roster to see.", multiple: false), GetRosterAsync);
        Add("get-user-lastlogin", "Get User Last Login Time", AccountForm("Getting a user's last login", "The account whose last login to see.", multiple: false),
            GetLastLoginAsync);
        Add("get-online-users-num", "Get Number of Online Users", form: null,
            async (context, _) => Count("onlineusersnum", "The number of online users", (await OnlineAccountsAsync(context).ConfigureAwait(false)).Count));
        Add("get-online-users-list", "Get List of Online Users", form: null,
            async (context, _) => List("onlineuserjids", "The online users", await OnlineAccountsAsync(context).ConfigureAwait(false)));
        Add("get-registered-users-num", "Get Number of Registered Users", form: null, RegisteredCountAsync);
        Add("get-registered-users-list", "Get List of Registered Users", form: null, RegisteredListAsync);
        Add("announce", "Send Announcement to Online Users", AnnouncementForm, AnnounceAsync);
        Add("set-motd", "Set Message of the Day", MotdForm(current: false), SetMotdAsync);
        Add("edit-motd", "Edit Message of the Day", MotdForm(current: true), SetMotdAsync);
        Add("delete-motd", "Delete Message of the Day", form: null, DeleteMotdAsync);
    }

    private void Add(string name, string title, Func<CommandContext, ValueTask<Element>>? form,
        Func<CommandContext, IReadOnlyDictionary<string, IReadOnlyList<string>>, ValueTask<CommandOutcome>> run) =>
        commands.Add(new AdHocCommand
        {
            Node = Node + name,
            Name = title,
            MayRun = requester => administration.Admins.IsAdminAsync(requester),
            Form = form,
            Run = run,
        });

    private ValueTask NoteLoginAsync(ClientSession session) =>
        new(storage.Documents.SetAsync(session.Jid.Bare.ToString(), LastLoginKind, "", $"<login xmlns='{Ns.ServiceAdministration}'/>"));

    private static AdministrationServices As(AdministrationServices services, CommandContext context) =>
        services.By(new AdminActor(context.Requester.Bare.ToString(), context.Origin));

    private static Func<CommandContext, ValueTask<Element>> AccountForm(string title, string instructions, bool multiple, bool password = false, bool verify = false) => _ =>
    {
        var form = AdHocCommands.NewForm(Ns.ServiceAdministration, title, instructions);
        DataForm.Require(DataForm.AddField(form, multiple ? "accountjids" : "accountjid", multiple ? FieldType.JidMulti : FieldType.JidSingle,
            multiple ? "The Jabber IDs of the accounts" : "The Jabber ID of the account"));
        if (password)
        {
            DataForm.Require(DataForm.AddField(form, "password", FieldType.TextPrivate, "The password for this account"));
        }
        if (verify)
        {
            DataForm.Require(DataForm.AddField(form, "password-verify", FieldType.TextPrivate, "Retype password"));
        }
        return ValueTask.FromResult(form);
    };

    private static string? First(IReadOnlyDictionary<string, IReadOnlyList<string>> values, string var) =>
        values.GetValueOrDefault(var) is [var first, ..] && first.Length > 0 ? first : null;

    /// <summary>The account JID of a form field, or why it is not one.</summary>
    private static bool TryAccount(string? text, out Jid account, out string problem)
    {
        account = null!;
        if (text is null)
        {
            problem = "No account was given.";
            return false;
        }
        if (!Jid.TryParse(text.Trim(), out var jid) || jid.Local is null || !jid.IsBare)
        {
            problem = $"'{text}' is not an account JID such as user@example.com.";
            return false;
        }
        account = jid;
        problem = "";
        return true;
    }

    private async ValueTask<CommandOutcome> AddUserAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        if (!TryAccount(First(values, "accountjid"), out var account, out var problem))
        {
            return CommandOutcome.Error(problem);
        }
        var password = First(values, "password");
        if (password is null)
        {
            return CommandOutcome.Error("No password was given.");
        }
        if (values.ContainsKey("password-verify") && First(values, "password-verify") != password)
        {
            return CommandOutcome.Error("The passwords do not match.");
        }
        var result = await As(administration, context).Accounts.CreateAsync(account, password).ConfigureAwait(false);
        return result.Outcome switch
        {
            AdministrationOutcome.Done => CommandOutcome.Info($"Added {account}."),
            AdministrationOutcome.AlreadyExists => CommandOutcome.Error($"{account} exists already."),
            _ => CommandOutcome.Error(result.Problem!),
        };
    }

    private async ValueTask<CommandOutcome> DeleteUsersAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values) =>
        await EachAccountAsync(values, "Deleted", async account => await As(administration, context).Accounts.RemoveAsync(account).ConfigureAwait(false)
            ? AdministrationResult.Done
            : AdministrationResult.NotFound).ConfigureAwait(false);

    private async ValueTask<CommandOutcome> SetDisabledAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values, bool disabled) =>
        await EachAccountAsync(values, disabled ? "Disabled" : "Re-enabled",
            account => As(administration, context).Accounts.SetDisabledAsync(account, disabled)).ConfigureAwait(false);

    /// <summary>Acts on every account of the accountjids field; the note names those done and says why the others were not.</summary>
    private static async ValueTask<CommandOutcome> EachAccountAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> values, string done,
        Func<Jid, Task<AdministrationResult>> act)
    {
        var texts = values.GetValueOrDefault("accountjids") ?? [];
        if (texts.Count == 0)
        {
            return CommandOutcome.Error("No account was given.");
        }
        var succeeded = new List<string>();
        var problems = new List<string>();
        foreach (var text in texts)
        {
            if (!TryAccount(text, out var account, out var problem))
            {
                problems.Add(problem);
                continue;
            }
            var result = await act(account).ConfigureAwait(false);
            if (result.Outcome == AdministrationOutcome.Done)
            {
                succeeded.Add(account.ToString());
            }
            else
            {
                problems.Add(result.Outcome == AdministrationOutcome.NotFound ? $"There is no account {account}." : result.Problem!);
            }
        }
        var note = string.Join(" ", (succeeded.Count > 0 ? [$"{done} {string.Join(", ", succeeded)}."] : Array.Empty<string>()).Concat(problems));
        return problems.Count == 0 ? CommandOutcome.Info(note) : CommandOutcome.Error(note);
    }

    private async ValueTask<CommandOutcome> ChangePasswordAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        if (!TryAccount(First(values, "accountjid"), out var account, out var problem))
        {
            return CommandOutcome.Error(problem);
        }
        if (First(values, "password") is not { } password)
        {
            return CommandOutcome.Error("No password was given.");
        }
        var result = await As(administration, context).Accounts.ChangePasswordAsync(account, password).ConfigureAwait(false);
        return result.Outcome switch
        {
            AdministrationOutcome.Done => CommandOutcome.Info($"Changed the password of {account}."),
            AdministrationOutcome.NotFound => CommandOutcome.Error($"There is no account {account} with a password here."),
            _ => CommandOutcome.Error(result.Problem!),
        };
    }

    private async ValueTask<CommandOutcome> GetRosterAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        var (exists, account, problem) = await ExistingAccountAsync(values).ConfigureAwait(false);
        if (!exists)
        {
            return CommandOutcome.Error(problem);
        }
        var roster = await storage.Rosters.GetAsync(account.ToString()).ConfigureAwait(false);
        var form = ResultForm(account);
        // XEP-0133 §4.12: the roster as jabber:iq:roster items inside the result form.
        var query = form.AddChild("query", Ns.Roster);
        foreach (var item in roster.Items)
        {
            query.Add(RosterXml.Item(item));
        }
        return CommandOutcome.Result(form);
    }

    private async ValueTask<CommandOutcome> GetLastLoginAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        var (exists, account, problem) = await ExistingAccountAsync(values).ConfigureAwait(false);
        if (!exists)
        {
            return CommandOutcome.Error(problem);
        }
        var login = await storage.Documents.GetAsync(account.ToString(), LastLoginKind, "").ConfigureAwait(false);
        var form = ResultForm(account);
        DataForm.AddField(form, "lastlogin", FieldType.TextSingle, "Last login", login is null ? [] : [XmppDateTime.Format(login.UpdatedAt)]);
        return CommandOutcome.Result(form, login is null ? $"{account} has not logged in since this server began keeping logins." : null);
    }

    private async Task<(bool Exists, Jid Account, string Problem)> ExistingAccountAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        if (!TryAccount(First(values, "accountjid"), out var account, out var problem))
        {
            return (false, account, problem);
        }
        return await storage.Accounts.ExistsAsync(account.ToString()).ConfigureAwait(false)
            ? (true, account, "")
            : (false, account, $"There is no account {account}.");
    }

    private static Element ResultForm(Jid account)
    {
        var form = DataForm.Create("result", Ns.ServiceAdministration);
        DataForm.AddField(form, "accountjid", FieldType.JidSingle, "The Jabber ID of the account", account.ToString());
        return form;
    }

    /// <summary>The accounts of the requested domain with a session on any node, each once, ordered by JID.</summary>
    private async Task<List<string>> OnlineAccountsAsync(CommandContext context)
    {
        var online = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var session in await sessions.ListAsync().ConfigureAwait(false))
        {
            if (Jid.TryParse(session.Jid, out var jid) && jid.Domain == context.Domain)
            {
                online.Add(jid.Bare.ToString());
            }
        }
        return [.. online];
    }

    private static CommandOutcome Count(string var, string label, int count)
    {
        var form = DataForm.Create("result", Ns.ServiceAdministration);
        DataForm.AddField(form, var, FieldType.TextSingle, label, count.ToString(CultureInfo.InvariantCulture));
        return CommandOutcome.Result(form);
    }

    private static CommandOutcome List(string var, string label, IReadOnlyList<string> jids)
    {
        var form = DataForm.Create("result", Ns.ServiceAdministration);
        DataForm.AddField(form, var, FieldType.JidMulti, label, jids.Take(MaxListedJids));
        var note = jids.Count > MaxListedJids ? $"The first {MaxListedJids} of {jids.Count}; `parley user list` lists them all." : null;
        return CommandOutcome.Result(form, note);
    }

    private async ValueTask<CommandOutcome> RegisteredCountAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values) =>
        Count("registeredusersnum", "The number of registered users", await storage.Accounts.CountAsync(context.Domain).ConfigureAwait(false));

    private async ValueTask<CommandOutcome> RegisteredListAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        // One more than listed, to know whether the list was cut.
        var accounts = await storage.Accounts.ListAsync(context.Domain, 0, MaxListedJids + 1).ConfigureAwait(false);
        var count = accounts.Count > MaxListedJids ? await storage.Accounts.CountAsync(context.Domain).ConfigureAwait(false) : accounts.Count;
        var jids = accounts.Select(account => account.Jid).ToList();
        var form = DataForm.Create("result", Ns.ServiceAdministration);
        DataForm.AddField(form, "registereduserjids", FieldType.JidMulti, "The registered users", jids.Take(MaxListedJids));
        return CommandOutcome.Result(form, count > MaxListedJids ? $"The first {MaxListedJids} of {count}; `parley user list` lists them all." : null);
    }

    private static ValueTask<Element> AnnouncementForm(CommandContext context)
    {
        var form = AdHocCommands.NewForm(Ns.ServiceAdministration, "Making an announcement", "Fill out this form to make an announcement to all active users of this service.");
        DataForm.AddField(form, "subject", FieldType.TextSingle, "Subject");
        DataForm.Require(DataForm.AddField(form, "body", FieldType.TextMulti, "Announcement"));
        return ValueTask.FromResult(form);
    }

    private async ValueTask<CommandOutcome> AnnounceAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        var body = string.Join("\n", values.GetValueOrDefault("body") ?? []);
        if (string.IsNullOrWhiteSpace(body))
        {
            return CommandOutcome.Error("The announcement is empty.");
        }
        var sent = await sessions.By(new AdminActor(context.Requester.Bare.ToString(), context.Origin))
            .AnnounceAsync(new Announcement(context.Domain, First(values, "subject"), body)).ConfigureAwait(false);
        return CommandOutcome.Info(sent == 1 ? "Sent the announcement to 1 session." : $"Sent the announcement to {sent} sessions.");
    }

    private Func<CommandContext, ValueTask<Element>> MotdForm(bool current) => async _ =>
    {
        var form = AdHocCommands.NewForm(Ns.ServiceAdministration, current ? "Editing the message of the day" : "Setting the message of the day",
            "The message every user gets at login (also the login banner).");
        var text = current ? await administration.Banner.GetAsync().ConfigureAwait(false) : null;
        DataForm.Require(DataForm.AddField(form, "body", FieldType.TextMulti, "Message of the day", text is null ? [] : text.Split('\n')));
        return form;
    };

    private async ValueTask<CommandOutcome> SetMotdAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        var result = await As(administration, context).Banner.SetAsync(string.Join("\n", values.GetValueOrDefault("body") ?? [])).ConfigureAwait(false);
        return result.Outcome == AdministrationOutcome.Done ? CommandOutcome.Info("Set the message of the day.") : CommandOutcome.Error(result.Problem!);
    }

    private async ValueTask<CommandOutcome> DeleteMotdAsync(CommandContext context, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        var result = await As(administration, context).Banner.ClearAsync().ConfigureAwait(false);
        return CommandOutcome.Info(result.Outcome == AdministrationOutcome.Done ? "Deleted the message of the day." : "There was no message of the day.");
    }
}
