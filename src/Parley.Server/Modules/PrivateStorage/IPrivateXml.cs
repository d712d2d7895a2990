using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Modules.PrivateStorage;

/// <summary>An account stored <paramref name="fragment"/> in its private XML; called before the client gets its result.</summary>
public delegate ValueTask PrivateFragmentStored(Jid account, Element fragment);

/// <summary>
/// What other modules may do with an account's private XML (XEP-0049), offered by the module that keeps it:
/// read and write a fragment, and hear of what clients store. How fragments are kept is the module's own business.
/// </summary>
public interface IPrivateXml
{
    /// <summary>The account's fragment named <paramref name="name"/> in <paramref name="ns"/>, or null when none is stored.</summary>
    ValueTask<Element?> GetAsync(Jid account, string name, string ns);

    /// <summary>Stores <paramref name="fragment"/> under its own name and namespace, replacing the one there; observers are not called.</summary>
    ValueTask SetAsync(Jid account, Element fragment);

    /// <summary>
    /// Lets another module react to what clients store (bookmarks conversion). Add observers while modules
    /// register, before any stanza flows; <see cref="SetAsync"/> does not call them.
    /// </summary>
    void OnStored(PrivateFragmentStored observer);
}
