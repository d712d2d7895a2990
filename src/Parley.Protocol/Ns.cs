namespace Parley.Protocol;

/// <summary>XML namespaces of the XMPP core and the extensions Parley implements.</summary>
public static class Ns
{
    public const string Client = "jabber:client";
    public const string Server = "jabber:server";
    public const string Streams = "http://etherx.jabber.org/streams";
    public const string StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
    public const string Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public const string Tls = "urn:ietf:params:xml:ns:xmpp-tls";
    public const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    public const string Bind = "urn:ietf:params:xml:ns:xmpp-bind";
    public const string Session = "urn:ietf:params:xml:ns:xmpp-session";
    public const string StreamManagement = "urn:xmpp:sm:3";
    public const string ClientState = "urn:xmpp:csi:0";
    public const string Roster = "jabber:iq:roster";
    public const string RosterVersioning = "urn:xmpp:features:rosterver";
    public const string PreApproval = "urn:xmpp:features:pre-approval";
    public const string Caps = "http://jabber.org/protocol/caps";
    public const string DiscoInfo = "http://jabber.org/protocol/disco#info";
    public const string DiscoItems = "http://jabber.org/protocol/disco#items";
    public const string Ping = "urn:xmpp:ping";
    public const string Version = "jabber:iq:version";
    public const string Time = "urn:xmpp:time";
    public const string Delay = "urn:xmpp:delay";
    public const string ChatStates = "http://jabber.org/protocol/chatstates";
    public const string Blocking = "urn:xmpp:blocking";
    public const string BlockingErrors = "urn:xmpp:blocking:errors";
    public const string Last = "jabber:iq:last";
    public const string DataForms = "jabber:x:data";
    public const string Xml = "http://www.w3.org/XML/1998/namespace";
    public const string VCard = "vcard-temp";
    public const string VCardUpdate = "vcard-temp:x:update";
    public const string Private = "jabber:iq:private";
    public const string Register = "jabber:iq:register";
    public const string RegisterFeature = "http://jabber.org/features/iq-register";
}
