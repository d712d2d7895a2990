using System.Globalization;
using Parley.Protocol;
using Parley.Server.Modules.Presence;
using Parley.Server.Modules.Roster;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.LastActivity;

/// <summary>
/// Last activity (XEP-0012): the server's uptime, and for an account how long ago it went offline
/// (with the status it left), shown only to the account itself and to those it lets see its presence.
/// Queries to a full JID go to the client itself.
/// </summary>
public sealed class LastActivityModule(IParleyStorage storage, SessionRegistry sessions, RosterService rosters, TimeProvider time) : IModule
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Last);
        registry.HandleIq(Ns.Last, IqTarget.Server, request => ValueTask.FromResult(request.IsGet
            ? request.Result(Query(SecondsSince(_started)))
            : request.Error(StanzaError.BadRequest())));
        registry.HandleIq(Ns.Last, IqTarget.Account, AccountAsync);
    }

    private async ValueTask<Element> AccountAsync(IqRequest request)
    {
        if (!request.IsGet)
        {
            return request.Error(StanzaError.BadRequest());
        }
        var account = request.To.Bare;
        var user = account.ToString();
        if (!await storage.Accounts.ExistsAsync(user).ConfigureAwait(false))
        {
            return request.Error(StanzaError.ServiceUnavailable());
        }
        if (!request.From.Bare.Equals(account) && !await MaySeePresenceAsync(account, request.From).ConfigureAwait(false))
        {
            return request.Error(StanzaError.Forbidden("Only contacts the user shares presence with may see their last activity."));
        }
        foreach (var session in sessions.SessionsOf(account))
        {
            if (session.IsAvailable)
            {
                return request.Result(Query(0));
            }
        }
        if (await storage.Documents.GetAsync(user, PresenceModule.LastPresenceKind, "").ConfigureAwait(false) is not { } last)
        {
            return request.Error(StanzaError.ItemNotFound("The user has never been online."));
        }
        var query = Query(SecondsSince(last.UpdatedAt));
        var status = ElementParser.Parse(last.Xml, Ns.Client).ChildText("status", Ns.Client);
        if (!string.IsNullOrEmpty(status))
        {
            query.AddText(status);
        }
        return request.Result(query);
    }

    /// <summary>XEP-0012 §4: the same people who get the account's presence (RFC 6121: a subscription it granted).</summary>
    private async ValueTask<bool> MaySeePresenceAsync(Jid account, Jid requester)
    {
        var item = await rosters.GetItemAsync(account, requester.Bare).ConfigureAwait(false);
        return item?.Subscription is Subscription.From or Subscription.Both;
    }

    private long SecondsSince(DateTimeOffset moment) => Math.Max(0, (long)(time.GetUtcNow() - moment).TotalSeconds);

    private static Element Query(long seconds) =>
        new Element("query", Ns.Last).SetAttribute("seconds", seconds.ToString(CultureInfo.InvariantCulture));
}
