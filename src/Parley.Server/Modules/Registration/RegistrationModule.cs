using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.Precis;
using Parley.Server.Administration;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.Registration;

/// <summary>
/// In-band registration (XEP-0077): creating an account before logging in, and, once logged in,
/// changing one's password and cancelling one's account. Creating and cancelling are off unless
/// Parley:Registration:AllowRegistration (or the runtime setting "registration") is on; password changes are on unless turned off.
/// </summary>
public sealed partial class RegistrationModule(
    RegistrationOptions settings,
    RuntimeSettings runtime,
    AccountService accounts,
    TimeProvider time,
    ILogger<RegistrationModule> logger) : IModule
{
    private readonly RegistrationThrottle _throttle = new(settings.MaxPerIpPerHour, time);

    public void Register(ModuleRegistry registry)
    {
        // Registration stays answered when it is off, so clients get a clear not-allowed instead of a stream error.
        // Whether it is on is a runtime setting: the stream feature is offered while it is.
        registry.HandleUnauthenticatedIq(Ns.Register, new Element("register", Ns.RegisterFeature), RegisterAsync, () => runtime.Current.RegistrationOpen);
        registry.HandleIq(Ns.Register, IqTarget.Server | IqTarget.Account, ManageAsync);
        // The disco feature too: registration opened or closed at runtime is advertised from the next request on.
        registry.AddFeature(Ns.Register, () => settings.AllowPasswordChange || runtime.Current.RegistrationOpen);
    }

    private async ValueTask<Element> RegisterAsync(UnauthenticatedIq request)
    {
        var stanza = request.Stanza;
        if (!runtime.Current.RegistrationOpen)
        {
            return Refuse(stanza, StanzaError.NotAllowed("This server does not create accounts in-band; ask your administrator for one."));
        }
        if (request.Payload.Name != "query")
        {
            return Refuse(stanza, StanzaError.BadRequest("The payload must be <query xmlns='jabber:iq:register'/>."));
        }
        if (stanza.GetAttribute("type") == "get")
        {
            return request.Result(Form());
        }

        var query = request.Payload;
        if (query.Child("remove", Ns.Register) is not null)
        {
            // §3.2's unexpected-request: only a logged-in account can be cancelled.
            return Refuse(stanza, StanzaError.UnexpectedRequest("Log in to the account before cancelling it."));
        }
        var username = query.ChildText("username", Ns.Register);
        var password = query.ChildText("password", Ns.Register);
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            // §3.1: missing or empty fields are not-acceptable.
            return Refuse(stanza, StanzaError.NotAcceptable("A username and a non-empty password are both required."));
        }
        if (!Precis.TryPrepareLocalpart(username, out var localpart, out var usernameError))
        {
            return Refuse(stanza, StanzaError.NotAcceptable($"The username is not valid: {usernameError}."));
        }
        if (accounts.PasswordProblem(password) is { } passwordError)
        {
            return Refuse(stanza, StanzaError.NotAcceptable(Sentence(passwordError)));
        }

        var account = Jid.Parse($"{localpart}@{request.Domain}");
        if (!_throttle.TryReserve(request.RemoteAddress))
        {
            LogThrottled(logger, account.ToString(), request.RemoteAddress);
            return Refuse(stanza, StanzaError.ResourceConstraint("Too many accounts were created from your address; try again later."));
        }
        AdministrationResult created;
        try
        {
            created = await accounts.CreateAsync(account, password).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Before authentication no router catches for us; the client gets an answer and may retry.
            _throttle.Release(request.RemoteAddress);
            LogCreateFailed(logger, e, account.ToString());
            return Refuse(stanza, StanzaError.InternalServerError("The account could not be created; try again later."));
        }
        if (created.Outcome != AdministrationOutcome.Done)
        {
            _throttle.Release(request.RemoteAddress);
            return Refuse(stanza, created.Outcome == AdministrationOutcome.AlreadyExists
                ? StanzaError.Conflict("That username is taken.")
                : StanzaError.NotAcceptable(Sentence(created.Problem!)));
        }
        LogRegistered(logger, account.ToString(), request.RemoteAddress);
        return request.Result();
    }

    private static Element Form()
    {
        var query = new Element("query", Ns.Register);
        query.AddChild("instructions").AddText("Choose a username and a password for your new account.");
        query.AddChild("username");
        query.AddChild("password");
        return query;
    }

    private async ValueTask<Element> ManageAsync(IqRequest request)
    {
        var account = request.From.Bare;
        // Addressed to the server or sent without 'to', the request is about the sender's own account.
        if (request.Sender is null || (request.To.Local is not null && !request.To.Equals(account)))
        {
            return Refuse(request.Stanza, StanzaError.Forbidden("Only the account itself can change or cancel its registration."));
        }
        if (request.Payload.Name != "query")
        {
            return Refuse(request.Stanza, StanzaError.BadRequest("The payload must be <query xmlns='jabber:iq:register'/>."));
        }
        if (request.IsGet)
        {
            // §3.1: a registered entity gets <registered/> and what is on file (never the password).
            var query = new Element("query", Ns.Register);
            query.AddChild("registered");
            query.AddChild("username").AddText(account.Local!);
            return request.Result(query);
        }
        return request.Payload.Child("remove", Ns.Register) is not null
            ? await CancelAsync(request, account).ConfigureAwait(false)
            : await ChangePasswordAsync(request, account).ConfigureAwait(false);
    }

    /// <summary>§3.2: the account and all its data go, then every session of it ends with &lt;not-authorized/&gt; (after this one's answer).</summary>
    private async ValueTask<Element> CancelAsync(IqRequest request, Jid account)
    {
        if (request.Payload.Children().Skip(1).Any())
        {
            return Refuse(request.Stanza, StanzaError.BadRequest("<remove/> must be the only element of the query."));
        }
        if (!runtime.Current.RegistrationOpen)
        {
            return Refuse(request.Stanza, StanzaError.NotAllowed("Accounts are removed by the administrator on this server."));
        }
        // The requester's queue gets the result before the stream error; the router's own copy of the
        // result then finds the stream closing and is dropped.
        var result = request.Result();
        if (!await accounts.RemoveAsync(account, beforeSessionsEnd: () => request.Sender!.Send(result)).ConfigureAwait(false))
        {
            return Refuse(request.Stanza, NotRegistered());
        }
        LogRemoved(logger, account.ToString(), request.Sender!.RemoteAddress);
        return result;
    }

    private static StanzaError NotRegistered() => new("registration-required", ErrorType.Auth, "This account is not registered on this server.");

    /// <summary>§3.3: username and new password; the error replies never repeat the password.</summary>
    private async ValueTask<Element> ChangePasswordAsync(IqRequest request, Jid account)
    {
        if (!settings.AllowPasswordChange)
        {
            return Refuse(request.Stanza, StanzaError.NotAllowed("Passwords cannot be changed in-band on this server; ask your administrator."));
        }
        var username = request.Payload.ChildText("username", Ns.Register);
        var password = request.Payload.ChildText("password", Ns.Register);
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            // An empty password never replaces the current one (§3.3).
            return Refuse(request.Stanza, StanzaError.BadRequest("A password change needs the username and a non-empty new password."));
        }
        if (!IsUsernameOf(username, account))
        {
            return Refuse(request.Stanza, StanzaError.Forbidden("The username is not this account's; only your own password can be changed."));
        }
        var changed = await accounts.ChangePasswordAsync(account, password).ConfigureAwait(false);
        if (changed.Outcome == AdministrationOutcome.Refused)
        {
            // §3.3: a password the server's policy refuses is not-acceptable.
            return Refuse(request.Stanza, StanzaError.NotAcceptable(Sentence(changed.Problem!)));
        }
        if (changed.Outcome == AdministrationOutcome.NotFound)
        {
            // Authenticated elsewhere (a directory), so there is no password here to change.
            return Refuse(request.Stanza, StanzaError.NotAllowed("This account's password is not kept by this server."));
        }
        LogPasswordChanged(logger, account.ToString(), request.Sender!.RemoteAddress);
        return request.Result();
    }

    /// <summary>Clients send the localpart ("juliet"); some send the bare JID.</summary>
    private static bool IsUsernameOf(string username, Jid account)
    {
        if (username.Contains('@'))
        {
            return Jid.TryParse(username, out var jid) && jid.Equals(account);
        }
        return Precis.TryPrepareLocalpart(username, out var localpart, out _) && localpart == account.Local;
    }

    private static string Sentence(string text) => string.Concat(text[..1].ToUpperInvariant(), text.AsSpan(1));

    /// <summary>An error reply without the request's payload, which carries a password.</summary>
    private static Element Refuse(Element stanza, StanzaError error)
    {
        var bare = new Element(stanza.Name, stanza.Namespace);
        foreach (var attribute in stanza.Attributes)
        {
            bare.SetAttribute(attribute.Name, attribute.Value);
        }
        return Stanzas.ErrorReply(bare, error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {Account} registered in-band from {Remote}")]
    private static partial void LogRegistered(ILogger logger, string account, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "In-band registration of {Account} from {Remote} refused: too many registrations from that address")]
    private static partial void LogThrottled(ILogger logger, string account, string remote);

    [LoggerMessage(Level = LogLevel.Error, Message = "Creating account {Account} in-band failed")]
    private static partial void LogCreateFailed(ILogger logger, Exception exception, string account);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {Account} removed in-band by its user from {Remote}")]
    private static partial void LogRemoved(ILogger logger, string account, string remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {Account} changed its password in-band from {Remote}")]
    private static partial void LogPasswordChanged(ILogger logger, string account, string remote);
}
