using System.Security.Cryptography;
using System.Text;
using Parley.Protocol;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Muc;

/// <summary>
/// XEP-0421 occupant ids of one room: base64 of HMAC-SHA256 over the user's real bare JID, keyed by 256 random bits
/// of the room's own. The same user gets the same id on every device and after nick changes and rejoins; another room
/// has another key, so another id; and without the key an id says nothing about the JID. A persistent room keeps its
/// key in storage (a document of the room's JID), so ids survive restarts; a temporary room's key lives as long as
/// the room, and only persistent rooms write one, so ad hoc rooms leave nothing behind.
/// </summary>
public sealed class OccupantIds
{
    /// <summary>The document of the room's JID that holds the key.</summary>
    public const string DocumentKind = "muc-occupant-id";

    private const int KeyBytes = 32;

    private readonly byte[] _key;

    private OccupantIds(byte[] key) => _key = key;

    public static OccupantIds CreateNew() => new(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>A stored room's key; a room stored without one (e.g. by `parley room`) gets a new one, stored at once.</summary>
    public static async ValueTask<OccupantIds> LoadOrCreateAsync(IUserDocumentStore documents, Jid room)
    {
        if (await documents.GetAsync(room.Bare.ToString(), DocumentKind, "").ConfigureAwait(false) is { } stored)
        {
            return new OccupantIds(Convert.FromBase64String(ElementParser.Parse(stored.Xml, Ns.OccupantId).Text));
        }
        var created = CreateNew();
        await created.SaveAsync(documents, room).ConfigureAwait(false);
        return created;
    }

    /// <summary>Stores the key, when the room becomes persistent.</summary>
    public Task SaveAsync(IUserDocumentStore documents, Jid room)
    {
        var document = new Element("key", Ns.OccupantId).AddText(Convert.ToBase64String(_key));
        return documents.SetAsync(room.Bare.ToString(), DocumentKind, "", document.ToXml(Ns.OccupantId));
    }

    public string Of(Jid user) => Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(user.Bare.ToString())));
}
