using System.Collections.Concurrent;
using System.Diagnostics;
using Parley.Protocol;
using Parley.Server.Diagnostics;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Modules.Roster;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Mam;

/// <summary>
/// Message archive management (XEP-0313) for users: every chat message an account sends or receives is kept in the
/// account's archive (by its bare JID), subject to the user's preferences; a received copy carries the archive id as
/// a XEP-0359 stanza-id; the user's clients query the archive with RSM (XEP-0059) paging.
/// </summary>
public sealed class MamModule(ArchiveOptions options, IParleyStorage storage, SessionRegistry sessions, Router router, RosterService rosters, TimeProvider time, ParleyMetrics metrics)
    : IModule
{
    private readonly IArchiveStore _archive = storage.Archive;
    private readonly ArchivePreferences _serverDefault = new(options.DefaultMode, [], []);
    private readonly int _maxPageSize = options.MaxPageSize;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Jid, ArchivePreferences> _preferences = new();

    public void Register(ModuleRegistry registry)
    {
        // On the domain too, as ejabberd does: profanity looks for MAM only in the server's disco#info.
        registry.AddFeature(Ns.Mam, server: true, account: true);
        registry.AddFeature(Ns.MamExtended, server: false, account: true);
        registry.AddFeature(Ns.StanzaId, server: false, account: true);
        if (_archive.SupportsFullTextSearch)
        {
            registry.AddFeature(Ns.FullTextSearch, server: false, account: true);
        }
        registry.HandleIq(Ns.Mam, IqTarget.Account, HandleIqAsync);
        registry.OnClientStanza("message", HookPhase.Archive, ArchiveSentAsync);
        registry.OnInbound("message", HookPhase.Archive, ArchiveReceivedAsync);
        // A deleted account's preferences go with its data; a new account of the same name starts from the default.
        registry.OnAccountRemoved(ForgetPreferences);
    }

    private ValueTask ForgetPreferences(Jid account)
    {
        _preferences.TryRemove(account.Bare, out _);
        return ValueTask.CompletedTask;
    }

    /// <summary>A message a local user sends: archived in the sender's archive, with the recipient as addressed.</summary>
    private async ValueTask<bool> ArchiveSentAsync(ClientStanza client)
    {
        // Without 'to', or to the sender's own bare JID, the message arrives back at the account: the inbound hook
        // archives it once. Messages to the server or a service are not conversations. Until federation exists, a
        // message to another domain only bounces, so it is no part of the history either.
        if (client.To is not { Local: not null } to || to.SharesBareWith(client.Sender.Jid) || !router.IsHere(to.Domain)
            || !ArchivePolicy.IsArchivable(client.Stanza))
        {
            return false;
        }
        var account = client.Sender.Jid.Bare;
        if (await ShouldArchiveAsync(account, to).ConfigureAwait(false))
        {
            await AppendAsync(account.ToString(), to.ToString(), client.Stanza).ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>
    /// A message reaching a local account: archived in the recipient's archive before delivery (so offline storage
    /// and every session get the id), and delivered as a copy that carries the archive id as a stanza-id.
    /// </summary>
    private async ValueTask<bool> ArchiveReceivedAsync(InboundStanza inbound)
    {
        var message = inbound.Stanza;
        var account = inbound.To.Bare;
        var accountText = account.ToString();
        var forged = FindStanzaId(message, accountText);
        var archive = ArchivePolicy.IsArchivable(message)
            && await ExistsAsync(account).ConfigureAwait(false)
            && await ShouldArchiveAsync(account, inbound.From).ConfigureAwait(false);
        if (!archive && forged is null)
        {
            return false;
        }

        // The element may be shared (with the sender's carbons, other recipients), so the changes go on a copy.
        var copy = message.Clone();
        // XEP-0359 §5: a stanza-id that claims to be this archive's but did not come from it is removed.
        while (FindStanzaId(copy, accountText) is { } stanzaId)
        {
            copy.Remove(stanzaId);
        }
        if (archive)
        {
            var id = await AppendAsync(accountText, inbound.From.ToString(), copy).ConfigureAwait(false);
            copy.Add(new Element("stanza-id", Ns.StanzaId).SetAttribute("by", accountText).SetAttribute("id", id));
        }

        inbound.Stanza = copy;
        return false;
    }

    private async Task<string> AppendAsync(string archive, string with, Element message)
    {
        var started = Stopwatch.GetTimestamp();
        var id = await _archive.AppendAsync(archive, with, time.GetUtcNow(), message).ConfigureAwait(false);
        metrics.UserArchiveAppended(started);
        return id;
    }

    private async ValueTask<Element> HandleIqAsync(IqRequest request)
    {
        var account = request.To.Bare;
        if (!request.From.Bare.Equals(account))
        {
            return request.Error(StanzaError.Forbidden("Only the user can read or configure their message archive."));
        }
        switch (request.Payload.Name)
        {
            case "query":
                return await MamQueryHandler.AnswerAsync(
                    request.Stanza, request.Payload, account, request.From, _archive, _maxPageSize, result => Send(request, result)).ConfigureAwait(false);
            case "metadata" when request.IsGet:
                return await MamQueryHandler.AnswerMetadataAsync(request.Stanza, account, _archive).ConfigureAwait(false);
            case "prefs" when request.IsGet:
                return request.Result(PreferencesXml.Write(await PreferencesOfAsync(account).ConfigureAwait(false)));
            case "prefs" when request.IsSet:
                if (!PreferencesXml.TryRead(request.Payload, out var preferences, out var error))
                {
                    return request.Error(error);
                }
                await _archive.SetPreferencesAsync(account.ToString(), preferences).ConfigureAwait(false);
                _preferences[account] = preferences;
                return request.Result(PreferencesXml.Write(preferences));
            default:
                return request.Error(StanzaError.BadRequest("Expected <query/>, <prefs/> or get <metadata/>."));
        }
    }

    private void Send(IqRequest request, Element result)
    {
        if (request.Sender is { } session)
        {
            session.Send(result);
        }
        else
        {
            router.Deliver(result, request.From);
        }
    }

    private async ValueTask<bool> ShouldArchiveAsync(Jid account, Jid peer)
    {
        var preferences = await PreferencesOfAsync(account).ConfigureAwait(false);
        return ArchivePolicy.Decide(preferences, peer) switch
        {
            ArchiveDecision.Archive => true,
            ArchiveDecision.IfInRoster => await rosters.GetItemAsync(account, peer.Bare).ConfigureAwait(false) is not null,
            _ => false,
        };
    }

    /// <summary>Every archived message asks, twice: so preferences are read from storage once per account and kept (only this module writes them).</summary>
    private async ValueTask<ArchivePreferences> PreferencesOfAsync(Jid account)
    {
        if (_preferences.TryGetValue(account, out var cached))
        {
            return cached;
        }
        var preferences = await _archive.GetPreferencesAsync(account.ToString()).ConfigureAwait(false) ?? _serverDefault;
        return _preferences.GetOrAdd(account, preferences);
    }

    /// <summary>An account online now exists; otherwise storage says (a message to no one is not archived for no one).</summary>
    private async ValueTask<bool> ExistsAsync(Jid account) =>
        sessions.SessionsOf(account).Length > 0 || await storage.Accounts.ExistsAsync(account.ToString()).ConfigureAwait(false);

    private static Element? FindStanzaId(Element message, string by)
    {
        foreach (var node in message.Nodes)
        {
            if (node is Element { Name: "stanza-id", Namespace: Ns.StanzaId } stanzaId && stanzaId.GetAttribute("by") == by)
            {
                return stanzaId;
            }
        }
        return null;
    }
}
