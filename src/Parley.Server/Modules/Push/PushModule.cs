using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Push;

/// <summary>
/// Push notifications (XEP-0357): a client registers a push service (any XMPP entity, usually an
/// app server that wakes the phone) and the server notifies it when a message arrives while the
/// client cannot get it — its session hibernated by stream management, or no session at all — and
/// when a session hibernates holding messages its client never acknowledged (the connection died
/// under them, as a phone's does when it sleeps).
/// The notification carries a summary (count, sender); the body only when the operator allows it.
/// </summary>
public sealed class PushModule(IParleyStorage storage, Router router, PushOptions options) : IModule
{
    public const string DocumentKind = "push";
    private const string Namespace = "urn:xmpp:push:0";
    private const string PubSub = "http://jabber.org/protocol/pubsub";
    private long _nextId;

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Namespace, server: false, account: true);
        registry.HandleIq(Namespace, IqTarget.Account, HandleAsync);
        registry.OnMessageDelivered(NotifyAsync);
        registry.OnSessionHibernated(NotifyUnackedAsync);
    }

    private async ValueTask<Element> HandleAsync(IqRequest request)
    {
        if (!request.IsSet || !request.From.Bare.Equals(request.To))
        {
            return request.Error(request.IsSet ? StanzaError.Forbidden() : StanzaError.BadRequest("Push registrations are set, not got."));
        }
        var user = request.To.ToString();
        var payload = request.Payload;
        if (!Jid.TryParse(payload.GetAttribute("jid"), out var service))
        {
            return request.Error(StanzaError.JidMalformed("The push service 'jid' is missing or not a valid JID."));
        }
        var node = payload.GetAttribute("node");
        switch (payload.Name)
        {
            case "enable" when string.IsNullOrEmpty(node):
                return request.Error(StanzaError.BadRequest("Enabling push needs a 'node'."));
            case "enable":
                await storage.Documents.SetAsync(user, DocumentKind, Key(service, node), payload.ToXml(Ns.Client)).ConfigureAwait(false);
                return request.Result();
            case "disable":
                if (!string.IsNullOrEmpty(node))
                {
                    await storage.Documents.DeleteAsync(user, DocumentKind, Key(service, node)).ConfigureAwait(false);
                }
                else
                {
                    // Without a node, every registration with that service goes.
                    foreach (var (key, _) in await RegistrationsAsync(user).ConfigureAwait(false))
                    {
                        if (key.StartsWith(service + " ", StringComparison.Ordinal))
                        {
                            await storage.Documents.DeleteAsync(user, DocumentKind, key).ConfigureAwait(false);
                        }
                    }
                }
                return request.Result();
            default:
                return request.Error(StanzaError.BadRequest($"<{payload.Name}/> is not a push command."));
        }
    }

    /// <summary>A message reached the account: notify if no connected session got it.</summary>
    private async ValueTask NotifyAsync(DeliveredMessage delivered)
    {
        var (message, from, to, recipients) = delivered;
        foreach (var session in recipients)
        {
            if (session.Sink is not HibernatedSink)
            {
                return;
            }
        }
        if (message.Child("body") is not null)
        {
            await PublishAsync(to.Bare, count: 1, from, message).ConfigureAwait(false);
        }
    }

    /// <summary>The connection died with messages the client never acknowledged: they wait for it, so wake it.</summary>
    private async ValueTask NotifyUnackedAsync(ClientSession session)
    {
        Element[] unacked;
        lock (session.Management!.Sync)
        {
            unacked = session.Management.Unacked();
        }
        var count = 0;
        Element? last = null;
        foreach (var stanza in unacked)
        {
            if (stanza.Name == "message" && stanza.Child("body") is not null)
            {
                count++;
                last = stanza;
            }
        }
        if (last is not null && Jid.TryParse(last.GetAttribute("from"), out var sender))
        {
            await PublishAsync(session.Jid.Bare, count, sender, last).ConfigureAwait(false);
        }
    }

    private async ValueTask PublishAsync(Jid user, int count, Jid sender, Element lastMessage)
    {
        foreach (var (_, registration) in await RegistrationsAsync(user.ToString()).ConfigureAwait(false))
        {
            if (Jid.TryParse(registration.GetAttribute("jid"), out var service))
            {
                await router.RouteAsync(Notification(user, registration, count, sender, lastMessage), user, service).ConfigureAwait(false);
            }
        }
    }

    private Element Notification(Jid user, Element registration, int count, Jid sender, Element message)
    {
        // The summary's FORM_TYPE goes without a field type, as in XEP-0357's examples.
        var summary = DataForm.Create("submit");
        DataForm.AddField(summary, DataForm.FormTypeVar, values: "urn:xmpp:push:summary");
        DataForm.AddField(summary, "message-count", values: count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        DataForm.AddField(summary, "last-message-sender", values: sender.ToString());
        if (options.IncludeBody && message.ChildText("body") is { } body)
        {
            DataForm.AddField(summary, "last-message-body", values: body);
        }

        var pubsub = new Element("pubsub", PubSub);
        pubsub.AddChild("publish").SetAttribute("node", registration.GetAttribute("node"))
            .AddChild("item").Add(new Element("notification", Namespace).Add(summary));
        if (DataForm.Find(registration) is { } publishOptions)
        {
            // The client's secret for its app server travels back as publish-options (XEP-0357 §5).
            pubsub.AddChild("publish-options").Add(publishOptions.Clone().SetAttribute("type", "submit"));
        }
        return new Element("iq", Ns.Client)
            .SetAttribute("type", "set")
            .SetAttribute("id", "push-" + Interlocked.Increment(ref _nextId))
            .SetAttribute("from", user.ToString())
            .SetAttribute("to", registration.GetAttribute("jid"))
            .Add(pubsub);
    }

    private async ValueTask<List<(string Key, Element Registration)>> RegistrationsAsync(string user)
    {
        var registrations = new List<(string, Element)>();
        foreach (var (key, document) in await storage.Documents.ListAsync(user, DocumentKind).ConfigureAwait(false))
        {
            registrations.Add((key, ElementParser.Parse(document.Xml, Ns.Client)));
        }
        return registrations;
    }

    private static string Key(Jid service, string? node) => $"{service} {node}";
}
