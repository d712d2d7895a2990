using System.Collections.Concurrent;
using System.Security.Cryptography;
using Parley.Protocol;
using Parley.Protocol.Forms;
using Parley.Server.ModuleContract;
using Parley.Xml;

namespace Parley.Server.Modules.AdHoc;

/// <summary>
/// Ad-hoc commands (XEP-0050) at the server's JID: the commands node lists, in disco, the commands the requester may
/// run; executing one returns its form in a session, which the requester completes or cancels. Commands are the
/// other modules' (<see cref="AdHocCommands"/>); this module knows only the protocol.
/// </summary>
public sealed class AdHocModule(AdHocCommands commands, TimeProvider time) : IModule
{
    /// <summary>How long a session waits for its form; a later submission gets &lt;session-expired/&gt;.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(10);

    /// <summary>Open sessions one requester may have; more get &lt;resource-constraint/&gt;.</summary>
    public const int MaxSessionsPerRequester = 20;

    private readonly ConcurrentDictionary<string, CommandSession> _sessions = new(StringComparer.Ordinal);

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.Commands);
        registry.HandleIq(Ns.Commands, IqTarget.Server, ExecuteAsync);
        registry.AddServerNodes(DiscoAsync);
    }

    private async ValueTask<Element?> DiscoAsync(string node, bool items, Jid requester)
    {
        if (node == Ns.Commands)
        {
            if (!items)
            {
                return Info("command-list", "Commands");
            }
            var query = new Element("query", Ns.DiscoItems);
            foreach (var command in commands.All)
            {
                if (await command.MayRun(requester).ConfigureAwait(false))
                {
                    query.AddChild("item").SetAttribute("jid", requester.Domain).SetAttribute("node", command.Node).SetAttribute("name", command.Name);
                }
            }
            return query;
        }
        // A command the requester may not run is not there for it.
        if (commands.Find(node) is not { } found || !await found.MayRun(requester).ConfigureAwait(false))
        {
            return null;
        }
        if (items)
        {
            return new Element("query", Ns.DiscoItems);
        }
        var info = Info("command-node", found.Name);
        info.AddChild("feature").SetAttribute("var", Ns.DataForms);
        return info;
    }

    private static Element Info(string type, string name)
    {
        var query = new Element("query", Ns.DiscoInfo);
        query.AddChild("identity").SetAttribute("category", "automation").SetAttribute("type", type).SetAttribute("name", name);
        query.AddChild("feature").SetAttribute("var", Ns.Commands);
        return query;
    }

    private async ValueTask<Element> ExecuteAsync(IqRequest request)
    {
        var payload = request.Payload;
        if (!request.IsSet || payload.Name != "command" || payload.GetAttribute("node") is not { } node)
        {
            return request.Error(StanzaError.BadRequest());
        }
        if (commands.Find(node) is not { } command)
        {
            return request.Error(StanzaError.ItemNotFound());
        }
        if (!await command.MayRun(request.From).ConfigureAwait(false))
        {
            return request.Error(StanzaError.Forbidden("Only administrators may run this command."));
        }
        var action = payload.GetAttribute("action") ?? "execute";
        if (action is not ("execute" or "complete" or "next" or "prev" or "cancel"))
        {
            return CommandError(request, StanzaError.BadRequest(), "malformed-action");
        }
        var context = new CommandContext(request.From, request.To.Domain, request.Sender);
        return payload.GetAttribute("sessionid") is { } sessionId
            ? await ContinueAsync(request, command, context, sessionId, action).ConfigureAwait(false)
            : await StartAsync(request, command, context, action).ConfigureAwait(false);
    }

    private async ValueTask<Element> StartAsync(IqRequest request, AdHocCommand command, CommandContext context, string action)
    {
        if (action != "execute")
        {
            return CommandError(request, StanzaError.BadRequest(), "bad-action");
        }
        if (command.Form is null)
        {
            var outcome = await command.Run(context, new Dictionary<string, IReadOnlyList<string>>()).ConfigureAwait(false);
            return request.Result(Completed(command.Node, NewSessionId(), outcome));
        }
        var now = time.GetUtcNow();
        var open = 0;
        foreach (var (id, session) in _sessions)
        {
            if (now - session.Started > SessionLifetime)
            {
                _sessions.TryRemove(id, out _);
            }
            else if (session.Requester.Equals(request.From))
            {
                open++;
            }
        }
        if (open >= MaxSessionsPerRequester)
        {
            return request.Error(StanzaError.ResourceConstraint($"At most {MaxSessionsPerRequester} commands may wait for their forms at once."));
        }
        var sessionId = NewSessionId();
        _sessions[sessionId] = new CommandSession(request.From, command.Node, now);
        var response = Response(command.Node, sessionId, "executing");
        response.AddChild("actions").SetAttribute("execute", "complete").AddChild("complete");
        response.Add(await command.Form(context).ConfigureAwait(false));
        return request.Result(response);
    }

    private async ValueTask<Element> ContinueAsync(IqRequest request, AdHocCommand command, CommandContext context, string sessionId, string action)
    {
        // Another requester's session is as unknown to this one as a made-up id.
        if (!_sessions.TryGetValue(sessionId, out var session) || !session.Requester.Equals(request.From) || session.Node != command.Node)
        {
            return CommandError(request, StanzaError.BadRequest(), "bad-sessionid");
        }
        if (time.GetUtcNow() - session.Started > SessionLifetime)
        {
            _sessions.TryRemove(sessionId, out _);
            return CommandError(request, StanzaError.NotAllowed(), "session-expired");
        }
        if (action == "cancel")
        {
            _sessions.TryRemove(sessionId, out _);
            return request.Result(Response(command.Node, sessionId, "canceled"));
        }
        // One stage: there is no next or previous one.
        if (action is "next" or "prev")
        {
            return CommandError(request, StanzaError.BadRequest(), "bad-action");
        }
        if (DataForm.Find(request.Payload) is not { } form || form.GetAttribute("type") != "submit")
        {
            return CommandError(request, StanzaError.BadRequest(), "bad-payload");
        }
        _sessions.TryRemove(sessionId, out _);
        var outcome = await command.Run(context, DataForm.Values(form)).ConfigureAwait(false);
        return request.Result(Completed(command.Node, sessionId, outcome));
    }

    private static Element Completed(string node, string sessionId, CommandOutcome outcome)
    {
        var response = Response(node, sessionId, "completed");
        if (outcome.Note is not null)
        {
            response.AddChild("note").SetAttribute("type", outcome.NoteType).AddText(outcome.Note);
        }
        if (outcome.Form is not null)
        {
            response.Add(outcome.Form);
        }
        return response;
    }

    private static Element Response(string node, string sessionId, string status) =>
        new Element("command", Ns.Commands).SetAttribute("node", node).SetAttribute("sessionid", sessionId).SetAttribute("status", status);

    /// <summary>A stanza error with XEP-0050's specific condition (§4.6).</summary>
    private static Element CommandError(IqRequest request, StanzaError error, string condition)
    {
        var reply = request.Error(error);
        reply.Children("error").Last().AddChild(condition, Ns.Commands);
        return reply;
    }

    private static string NewSessionId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private sealed record CommandSession(Jid Requester, string Node, DateTimeOffset Started);
}
