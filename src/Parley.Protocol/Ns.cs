namespace Parley.Protocol;

/// <summary>XML namespaces of the XMPP core and the extensions Parley implements.</summary>
public static class Ns
{
    public const string Client = "jabber:client";
    public const string Server = "jabber:server";
    public const string Streams = "http://etherx.jabber.org/streams";

    /// <summary>RFC 7395: the &lt;open/&gt; and &lt;close/&gt; that frame a stream over WebSocket.</summary>
    public const string Framing = "urn:ietf:params:xml:ns:xmpp-framing";
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
    public const string Commands = "http://jabber.org/protocol/commands";
    public const string ServiceAdministration = "http://jabber.org/protocol/admin";
    public const string Xml = "http://www.w3.org/XML/1998/namespace";
    public const string VCard = "vcard-temp";
    public const string VCardUpdate = "vcard-temp:x:update";
    public const string Private = "jabber:iq:private";
    public const string Register = "jabber:iq:register";
    public const string RegisterFeature = "http://jabber.org/features/iq-register";
    public const string Mam = "urn:xmpp:mam:2";
    public const string MamExtended = "urn:xmpp:mam:2#extended";
    public const string FullTextSearch = "urn:xmpp:fulltext:0";
    public const string StanzaId = "urn:xmpp:sid:0";
    public const string Rsm = "http://jabber.org/protocol/rsm";
    public const string MessageCorrection = "urn:xmpp:message-correct:0";
    public const string MessageRetraction = "urn:xmpp:message-retract:1";
    public const string MessageModeration = "urn:xmpp:message-moderate:1";
    // XEP-0425 before 0.3 (fastened with XEP-0422, retracting with XEP-0424 before 0.3): older clients, python3-slixmpp among them, speak only this.
    public const string MessageModerationLegacy = "urn:xmpp:message-moderate:0";
    public const string MessageRetractionLegacy = "urn:xmpp:message-retract:0";
    public const string Fasten = "urn:xmpp:fasten:0";
    public const string OccupantId = "urn:xmpp:occupant-id:0";
    public const string Fallback = "urn:xmpp:fallback:0";
    public const string LegacyOmemo = "eu.siacs.conversations.axolotl";
    public const string Carbons = "urn:xmpp:carbons:2";
    public const string CarbonsRules = "urn:xmpp:carbons:rules:0";
    public const string Forward = "urn:xmpp:forward:0";
    public const string Hints = "urn:xmpp:hints";
    public const string Receipts = "urn:xmpp:receipts";
    public const string ChatMarkers = "urn:xmpp:chat-markers:0";
    public const string MucUser = "http://jabber.org/protocol/muc#user";
    public const string DirectInvitation = "jabber:x:conference";
    public const string PubSub = "http://jabber.org/protocol/pubsub";
    public const string PubSubOwner = "http://jabber.org/protocol/pubsub#owner";
    public const string PubSubEvent = "http://jabber.org/protocol/pubsub#event";
    public const string PubSubErrors = "http://jabber.org/protocol/pubsub#errors";
    public const string Bookmarks = "urn:xmpp:bookmarks:1";
    public const string LegacyBookmarks = "storage:bookmarks";
    public const string BookmarksConversion = "urn:xmpp:bookmarks-conversion:0";
    public const string Muc = "http://jabber.org/protocol/muc";
    public const string MucAdmin = "http://jabber.org/protocol/muc#admin";
    public const string MucOwner = "http://jabber.org/protocol/muc#owner";
    public const string MucUnique = "http://jabber.org/protocol/muc#unique";
    public const string MucRequest = "http://jabber.org/protocol/muc#request";
    public const string MucRoomConfig = "http://jabber.org/protocol/muc#roomconfig";
    public const string MucRoomInfo = "http://jabber.org/protocol/muc#roominfo";
    public const string MucRegister = "http://jabber.org/protocol/muc#register";
    public const string MucSelfPing = "http://jabber.org/protocol/muc#self-ping-optimization";
}
