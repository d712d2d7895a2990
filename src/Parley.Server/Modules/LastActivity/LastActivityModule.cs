using System.Globalization;
using Parley.Protocol;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Presence;
using Parley.Server.Modules.Roster;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.LastActivity;

/// <summary>
/// Last activity (XEP-0012): the server's uptime, and for an account how long ago it went offline
/// (with the status it left), shown only to the account itself and to those it lets see its presence.
/// Queries to a full JID go to the client itself. When the account was last seen is the presence module's
/// to say (<see cref="ILastPresence"/>).
/// </summary>
public sealed class LastActivityModule(IParleyStorage storage, ILastPresence presence, RosterService rosters, TimeProvider time) : IModule
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
        if (!await storage.Accounts.ExistsAsync(account.ToString()).ConfigureAwait(false))
        {
            return request.Error(StanzaError.ServiceUnavailable());
        }
        if (!request.From.Bare.Equals(account) && !await MaySeePresenceAsync(account, request.From).ConfigureAwait(false))
        {
            return request.Error(StanzaError.Forbidden("Only contacts the user shares presence with may see their last activity."));
        }
        if (presence.IsAvailable(account))
        {
            return request.Result(Query(0));
        }
        if (await presence.LastUnavailableAsync(account).ConfigureAwait(false) is not { } last)
        {
            return request.Error(StanzaError.ItemNotFound("The user has never been online."));
        }
        var query = Query(SecondsSince(last.At));
        if (!string.IsNullOrEmpty(last.Status))
        {
            query.AddText(last.Status);
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
