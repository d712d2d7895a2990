using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Server.ModuleContract;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.VCard;

/// <summary>
/// vcard-temp (XEP-0054): each account stores one vCard, which anyone may read and only the account
/// may change (but for a directory person, whose vCard the directory sync writes). The server also advertises the vCard photo's hash in the account's broadcast presence
/// (XEP-0153), so contacts know when to fetch a new avatar.
/// </summary>
public sealed class VCardModule(IParleyStorage storage, SessionRegistry sessions, ParleyOptions options) : IModule, IVCards
{
    /// <summary>Where the vCard is kept: storage.Documents (account, "vcard", "").</summary>
    public const string DocumentKind = "vcard";

    // Bare JID → SHA-1 hex of the vCard photo ("" for none), for accounts with a session; read on every broadcast presence.
    private readonly ConcurrentDictionary<string, string> _photoHashes = new(StringComparer.Ordinal);

    public void Register(ModuleRegistry registry)
    {
        registry.AddFeature(Ns.VCard, account: true);
        registry.HandleIq(Ns.VCard, IqTarget.Account, HandleAsync);
        // Before the presence module (100) routes the presence, so the hash goes out with it.
        registry.OnClientStanza("presence", HookPhase.AvatarHash, AddPhotoHashAsync);
        registry.OnSessionEnded(ForgetWhenOffline);
    }

    private async ValueTask<Element> HandleAsync(IqRequest request)
    {
        if (request.Payload.Name != "vCard")
        {
            return request.Error(StanzaError.BadRequest("The payload must be <vCard xmlns='vcard-temp'/>."));
        }
        var own = request.From.Bare.Equals(request.To);
        if (request.IsSet)
        {
            return own
                ? await SetAsync(request).ConfigureAwait(false)
                : request.Error(StanzaError.Forbidden("Only the account itself can change its vCard."));
        }

        var stored = await storage.Documents.GetAsync(request.To.ToString(), DocumentKind, "").ConfigureAwait(false);
        if (stored is not null)
        {
            return request.Result(ElementParser.Parse(stored.Xml, Ns.Client));
        }
        if (own)
        {
            // §3.1 allows an empty vCard for one's own, which clients handle better than an error.
            return request.Result(new Element("vCard", Ns.VCard));
        }
        // §3.3: an error both when there is no vCard and when there is no such account; the same one,
        // so that asking for vCards does not tell who has an account here.
        return request.Error(StanzaError.ServiceUnavailable("No vCard is published at that address."));
    }

    private async ValueTask<Element> SetAsync(IqRequest request)
    {
        var xml = request.Payload.ToXml(Ns.Client);
        var size = Encoding.UTF8.GetByteCount(xml);
        var limit = options.Limits.MaxVCardBytes;
        if (size > limit)
        {
            return request.Error(StanzaError.NotAcceptable($"The vCard is {size} bytes; this server keeps vCards of at most {limit} bytes. Use a smaller photo."));
        }
        var account = request.To.ToString();
        if (await storage.DirectoryUsers.GetAsync(account).ConfigureAwait(false) is not null)
        {
            // The directory is the source of a directory person's card, as in Cisco's product: a change here would stand only until the next change there.
            return request.Error(StanzaError.NotAllowed("Your vCard comes from the company directory; ask its administrators to change it."));
        }
        await storage.Documents.SetAsync(account, DocumentKind, "", xml).ConfigureAwait(false);
        _photoHashes[account] = PhotoHash(request.Payload);
        return request.Result();
    }

    public async ValueTask SetAsync(string account, Element vCard, CancellationToken cancellationToken = default)
    {
        await storage.Documents.SetAsync(account, DocumentKind, "", vCard.ToXml(Ns.Client), cancellationToken).ConfigureAwait(false);
        // Only accounts online have a cached hash; the others read the new vCard when they come online.
        if (_photoHashes.ContainsKey(account))
        {
            _photoHashes[account] = PhotoHash(vCard);
        }
    }

    /// <summary>XEP-0153 §4.1: an available broadcast presence without an update element gets the server's hash.</summary>
    private async ValueTask<bool> AddPhotoHashAsync(ClientStanza stanza)
    {
        var presence = stanza.Stanza;
        // A client that sends its own update element knows best (it may say it is not ready to advertise a photo).
        if (stanza.To is not null || presence.GetAttribute("type") is not null || presence.Child("x", Ns.VCardUpdate) is not null)
        {
            return false;
        }
        var hash = await PhotoHashAsync(stanza.Sender.Jid.Bare.ToString()).ConfigureAwait(false);
        var photo = new Element("photo", Ns.VCardUpdate);
        if (hash.Length > 0)
        {
            photo.AddText(hash);
        }
        // The stanza has not been routed yet, so no one else holds it.
        presence.Add(new Element("x", Ns.VCardUpdate).Add(photo));
        return false;
    }

    private async ValueTask<string> PhotoHashAsync(string account)
    {
        if (_photoHashes.TryGetValue(account, out var hash))
        {
            return hash;
        }
        var stored = await storage.Documents.GetAsync(account, DocumentKind, "").ConfigureAwait(false);
        hash = stored is null ? "" : PhotoHash(ParseStored(stored.Xml));
        // A vCard set meanwhile has put the newer hash in place; keep that one.
        return _photoHashes.GetOrAdd(account, hash);
    }

    private static Element? ParseStored(string xml)
    {
        try
        {
            return ElementParser.Parse(xml, Ns.Client);
        }
        catch (XmlStreamException)
        {
            // A damaged stored vCard must not stop the account's presence; it simply has no photo.
            return null;
        }
    }

    /// <summary>The SHA-1 (hex) of the decoded PHOTO/BINVAL, or "" when there is no photo or it is not valid base64.</summary>
    private static string PhotoHash(Element? vCard)
    {
        var binval = vCard?.Child("PHOTO", Ns.VCard)?.Child("BINVAL", Ns.VCard)?.Text;
        if (string.IsNullOrWhiteSpace(binval))
        {
            return "";
        }
        byte[] image;
        try
        {
            // FromBase64String skips the line breaks that clients put into long BINVALs.
            image = Convert.FromBase64String(binval);
        }
        catch (FormatException)
        {
            return "";
        }
        return image.Length == 0 ? "" : Convert.ToHexStringLower(SHA1.HashData(image));
    }

    private ValueTask ForgetWhenOffline(ClientSession session)
    {
        var account = session.Jid.Bare;
        if (sessions.SessionsOf(account).Length == 0)
        {
            _photoHashes.TryRemove(account.ToString(), out _);
        }
        return ValueTask.CompletedTask;
    }
}
