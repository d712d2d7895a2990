using Parley.Xml;

namespace Parley.Protocol;

/// <summary>The error types of RFC 6120 §8.3.2.</summary>
public enum ErrorType
{
    Auth,
    Cancel,
    Continue,
    Modify,
    Wait,
}

/// <summary>A stanza error condition (RFC 6120 §8.3.3) with the type the RFC pairs it with.</summary>
public readonly record struct StanzaError(string Condition, ErrorType Type, string? Text = null)
{
    public static StanzaError BadRequest(string? text = null) => new("bad-request", ErrorType.Modify, text);
    public static StanzaError Conflict(string? text = null) => new("conflict", ErrorType.Cancel, text);
    public static StanzaError FeatureNotImplemented(string? text = null) => new("feature-not-implemented", ErrorType.Cancel, text);
    public static StanzaError Forbidden(string? text = null) => new("forbidden", ErrorType.Auth, text);
    public static StanzaError InternalServerError(string? text = null) => new("internal-server-error", ErrorType.Wait, text);
    public static StanzaError ItemNotFound(string? text = null) => new("item-not-found", ErrorType.Cancel, text);
    public static StanzaError JidMalformed(string? text = null) => new("jid-malformed", ErrorType.Modify, text);
    public static StanzaError NotAcceptable(string? text = null) => new("not-acceptable", ErrorType.Modify, text);
    public static StanzaError NotAllowed(string? text = null) => new("not-allowed", ErrorType.Cancel, text);
    public static StanzaError NotAuthorized(string? text = null) => new("not-authorized", ErrorType.Auth, text);
    public static StanzaError PolicyViolation(string? text = null) => new("policy-violation", ErrorType.Modify, text);
    public static StanzaError RecipientUnavailable(string? text = null) => new("recipient-unavailable", ErrorType.Wait, text);
    public static StanzaError RemoteServerNotFound(string? text = null) => new("remote-server-not-found", ErrorType.Cancel, text);
    public static StanzaError RemoteServerTimeout(string? text = null) => new("remote-server-timeout", ErrorType.Wait, text);
    public static StanzaError ResourceConstraint(string? text = null) => new("resource-constraint", ErrorType.Wait, text);
    public static StanzaError ServiceUnavailable(string? text = null) => new("service-unavailable", ErrorType.Cancel, text);
    public static StanzaError UnexpectedRequest(string? text = null) => new("unexpected-request", ErrorType.Wait, text);

    public Element ToElement()
    {
        var error = new Element("error").SetAttribute("type", TypeName(Type));
        error.Add(new Element(Condition, Ns.Stanzas));
        if (Text is not null)
        {
            error.Add(new Element("text", Ns.Stanzas).SetAttribute("xml:lang", "en").AddText(Text));
        }
        return error;
    }

    private static string TypeName(ErrorType type) => type switch
    {
        ErrorType.Auth => "auth",
        ErrorType.Cancel => "cancel",
        ErrorType.Continue => "continue",
        ErrorType.Modify => "modify",
        _ => "wait",
    };
}

/// <summary>Building replies to stanzas (RFC 6120 §8.2.3, §8.3.1).</summary>
public static class Stanzas
{
    public static bool IsError(Element stanza) => stanza.GetAttribute("type") == "error";

    /// <summary>A headline message (RFC 6121 §5.2.2) from a server to one client: an announcement, the message of the day.</summary>
    public static Element Headline(string from, Jid to, string? subject, string body)
    {
        var message = new Element("message", Ns.Client).SetAttribute("from", from).SetAttribute("to", to.ToString()).SetAttribute("type", "headline");
        if (subject is not null)
        {
            message.AddChild("subject", Ns.Client).AddText(subject);
        }
        message.AddChild("body", Ns.Client).AddText(body);
        return message;
    }

    /// <summary>An IQ result for <paramref name="request"/>, optionally carrying a payload.</summary>
    public static Element IqResult(Element request, Element? payload = null)
    {
        var result = new Element("iq", request.Namespace).SetAttribute("type", "result").SetAttribute("id", request.GetAttribute("id"));
        result.SetAttribute("from", request.GetAttribute("to")).SetAttribute("to", request.GetAttribute("from"));
        if (payload is not null)
        {
            result.Add(payload);
        }
        return result;
    }

    /// <summary>
    /// The error reply to <paramref name="stanza"/>: addresses swapped, type "error", the original
    /// payload kept for IQs and messages as RFC 6120 §8.3.1 allows, the error element appended.
    /// </summary>
    public static Element ErrorReply(Element stanza, StanzaError error)
    {
        var reply = new Element(stanza.Name, stanza.Namespace).SetAttribute("type", "error");
        reply.SetAttribute("id", stanza.GetAttribute("id"));
        reply.SetAttribute("from", stanza.GetAttribute("to")).SetAttribute("to", stanza.GetAttribute("from"));
        if (stanza.Name != "presence")
        {
            foreach (var child in stanza.Children())
            {
                reply.Add(child.Clone());
            }
        }
        reply.Add(error.ToElement());
        return reply;
    }
}
