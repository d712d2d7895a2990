using Parley.Protocol;

namespace Parley.Server.Modules.Carbons;

/// <summary>
/// One session's part in carbons: whether it asked for copies, and the last messages it sent or
/// received that the account's other devices were copied, so an error answering one of them is
/// copied too (XEP-0280 §6). Only the last few are kept: an error answers a message within moments.
/// The module keeps one per session in a <see cref="Sessions.SessionState{T}"/>.
/// </summary>
internal sealed class SessionCarbons
{
    private const int Remembered = 16;

    private readonly (string? Id, Jid? Peer)[] _copied = new (string?, Jid?)[Remembered];
    private int _next;
    private volatile bool _enabled;

    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>Notes that a message with this id, exchanged with <paramref name="peer"/> (a bare JID), was copied.</summary>
    public void RememberCopied(string id, Jid peer)
    {
        lock (_copied)
        {
            _copied[_next] = (id, peer);
            _next = (_next + 1) % Remembered;
        }
    }

    /// <summary>
    /// True when an error with this id, from or to <paramref name="errorPeer"/>, answers a copied message:
    /// the peer itself, or its server bouncing the message (RFC 6120 §8.3.1 keeps the id).
    /// </summary>
    public bool AnswersCopied(string id, Jid errorPeer)
    {
        lock (_copied)
        {
            foreach (var (copiedId, peer) in _copied)
            {
                if (copiedId == id && peer is not null && (peer.Equals(errorPeer.Bare) || (errorPeer.IsDomain && errorPeer.Domain == peer.Domain)))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
