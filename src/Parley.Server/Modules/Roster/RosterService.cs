using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Server.Concurrency;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Modules.Roster;

/// <summary>
/// <paramref name="contact"/> is about to leave <paramref name="account"/>'s roster: the user removed it, or the
/// account is being deleted. Called before the item goes, without the account's roster lock held.
/// </summary>
/// <summary>A contact about to leave an account's roster (removed by the user, or the account is deleted).</summary>
public readonly record struct ContactLeaving(Jid Account, Jid Contact)
{
    public override string ToString() => $"{Contact} leaving the roster of {Account}";
}

/// <summary>
/// Every change to a roster goes through here: it is written to storage, kept in memory while the
/// account has sessions (presence broadcast reads the roster on every change), and pushed to the
/// account's interested resources. Changes to one account are serialized; never hold an account's
/// lock while routing to another account, whose handling may need its own.
/// </summary>
/// <remarks>
/// The roster owns its data and depends on no other module. Presence (Modules/Presence) depends on it:
/// it reads rosters, writes subscription states through here, and hears through <see cref="OnContactLeaving"/>
/// when it must end a contact's subscriptions (RFC 6121 §2.5.2). The roster never calls presence.
/// </remarks>
public sealed class RosterService(IParleyStorage storage, SessionRegistry sessions, Router router, ILogger<RosterService> logger)
{
    private readonly IRosterStore _store = storage.Rosters;
    private readonly ConcurrentDictionary<Jid, CachedRoster> _online = new();
    private readonly StripedLock _locks = new();

    /// <summary>"Interested resources" (RFC 6121 §2.1.6): sessions that asked for the roster, and so get roster pushes.</summary>
    public SessionFlags Interested { get; } = new();

    /// <summary>Raised before a contact leaves a roster; add handlers while modules register, before any stanza flows.</summary>
    public ModuleEvent<ContactLeaving> ContactLeaving { get; } = new("contact leaving", logger);

    /// <summary>Lets another module act before a contact leaves a roster.</summary>
    public void OnContactLeaving(Func<Jid, Jid, ValueTask> handler) => ContactLeaving.Add(leaving => handler(leaving.Account, leaving.Contact));

    /// <summary>Tells the handlers that <paramref name="contact"/> is about to leave the roster; call without the account's lock.</summary>
    public ValueTask ContactLeavingAsync(Jid account, Jid contact) => ContactLeaving.RaiseAsync(new ContactLeaving(account, contact));

    /// <summary>Serializes changes to one account's roster.</summary>
    public ValueTask<StripedLock.Releaser> LockAsync(Jid account) => _locks.LockAsync(account.Bare);

    public async ValueTask<Storage.Roster> GetAsync(Jid account)
    {
        if (_online.TryGetValue(account.Bare, out var cached))
        {
            return cached.Snapshot();
        }
        var roster = await _store.GetAsync(account.Bare.ToString()).ConfigureAwait(false);
        if (sessions.SessionsOf(account).Length > 0)
        {
            _online.TryAdd(account.Bare, new CachedRoster(roster));
        }
        return roster;
    }

    public async ValueTask<RosterItem?> GetItemAsync(Jid account, Jid contact)
    {
        if (_online.TryGetValue(account.Bare, out var cached))
        {
            return cached.Find(contact.ToString());
        }
        return await _store.GetItemAsync(account.Bare.ToString(), contact.ToString()).ConfigureAwait(false);
    }

    public async ValueTask<int> CountAsync(Jid account) =>
        _online.TryGetValue(account.Bare, out var cached) ? cached.Count : await _store.CountAsync(account.Bare.ToString()).ConfigureAwait(false);

    /// <summary>Stores the item and pushes it (RFC 6121 §2.1.6). Call with the account's lock held.</summary>
    public async ValueTask SetAsync(Jid account, RosterItem item)
    {
        var version = await _store.SetItemAsync(account.Bare.ToString(), item).ConfigureAwait(false);
        if (_online.TryGetValue(account.Bare, out var cached))
        {
            cached.Set(item, version);
        }
        Push(account, RosterXml.Item(item), version);
    }

    /// <summary>Removes the item and pushes the removal; false when there was none. Call with the account's lock held.</summary>
    public async ValueTask<bool> RemoveAsync(Jid account, Jid contact)
    {
        var version = await _store.RemoveItemAsync(account.Bare.ToString(), contact.ToString()).ConfigureAwait(false);
        if (version is null)
        {
            return false;
        }
        if (_online.TryGetValue(account.Bare, out var cached))
        {
            cached.Remove(contact.ToString(), version.Value);
        }
        Push(account, RosterXml.Removal(contact.ToString()), version.Value);
        return true;
    }

    public Task SetPendingAsync(Jid account, Jid contact, Element request) =>
        _store.SetPendingAsync(account.Bare.ToString(), contact.ToString(), request.ToXml(Ns.Client));

    public Task<bool> RemovePendingAsync(Jid account, Jid contact) =>
        _store.RemovePendingAsync(account.Bare.ToString(), contact.ToString());

    public Task<IReadOnlyList<PendingSubscription>> GetPendingAsync(Jid account) =>
        _store.GetPendingAsync(account.Bare.ToString());

    public async ValueTask<bool> HasPendingAsync(Jid account, Jid contact)
    {
        var contactText = contact.ToString();
        foreach (var pending in await GetPendingAsync(account).ConfigureAwait(false))
        {
            if (pending.Contact == contactText)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// An account was deleted, and storage has ended every other user's subscription to it: online rosters that still
    /// hold one (the account was removed with `parley user remove`, not in-band, where its contacts were told already)
    /// take the stored roster, and their interested resources get the item's push, as if the contact had unsubscribed.
    /// </summary>
    public async ValueTask ContactRemovedAsync(Jid removed)
    {
        var contact = removed.Bare.ToString();
        foreach (var (account, cached) in _online)
        {
            if (account.Equals(removed.Bare) || cached.Find(contact) is not { } item
                || (item.Subscription == Subscription.None && !item.AskSubscribe && !item.PreApproved))
            {
                continue;
            }
            using (await LockAsync(account).ConfigureAwait(false))
            {
                var roster = await _store.GetAsync(account.ToString()).ConfigureAwait(false);
                if (!_online.TryUpdate(account, new CachedRoster(roster), cached))
                {
                    continue;
                }
                foreach (var stored in roster.Items)
                {
                    if (stored.Contact == contact)
                    {
                        Push(account, RosterXml.Item(stored), roster.Version);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The account's roster was written behind the node's back (`parley roster import`, the directory sync): if it is
    /// online, its roster is read again, every item that changed or went is pushed, and the contacts it now receives
    /// presence from and sends presence to are returned (both empty when the account is not online).
    /// </summary>
    public async ValueTask<RosterReload> ReloadAsync(Jid account)
    {
        var newlySubscribed = new RosterReload([], []);
        account = account.Bare;
        if (!_online.TryGetValue(account, out var cached))
        {
            return newlySubscribed;
        }
        using (await LockAsync(account).ConfigureAwait(false))
        {
            var roster = await _store.GetAsync(account.ToString()).ConfigureAwait(false);
            if (!_online.TryUpdate(account, new CachedRoster(roster), cached))
            {
                return newlySubscribed;
            }
            foreach (var item in roster.Items)
            {
                var before = cached.Find(item.Contact);
                if (before is not null && before.Name == item.Name && before.Subscription == item.Subscription
                    && before.AskSubscribe == item.AskSubscribe && before.Groups.SequenceEqual(item.Groups))
                {
                    continue;
                }
                Push(account, RosterXml.Item(item), roster.Version);
                if (!Jid.TryParse(item.Contact, out var contact))
                {
                    continue;
                }
                if (before?.Subscription is not (Subscription.To or Subscription.Both) && item.Subscription is Subscription.To or Subscription.Both)
                {
                    newlySubscribed.To.Add(contact);
                }
                if (before?.Subscription is not (Subscription.From or Subscription.Both) && item.Subscription is Subscription.From or Subscription.Both)
                {
                    newlySubscribed.From.Add(contact);
                }
            }
            // Items removed behind the node's back (the directory sync ending a shared group) are pushed as removals.
            var kept = roster.Items.Select(i => i.Contact).ToHashSet(StringComparer.Ordinal);
            foreach (var before in cached.Snapshot().Items)
            {
                if (!kept.Contains(before.Contact))
                {
                    Push(account, RosterXml.Removal(before.Contact), roster.Version);
                }
            }
        }
        return newlySubscribed;
    }

    /// <summary>Drops the in-memory copy when the account's last session ends.</summary>
    public void Forget(Jid account)
    {
        if (sessions.SessionsOf(account).Length == 0)
        {
            _online.TryRemove(account.Bare, out _);
        }
    }

    private void Push(Jid account, Element item, long version)
    {
        foreach (var session in sessions.SessionsOf(account))
        {
            if (!Interested.IsSet(session))
            {
                continue;
            }
            var push = new Element("iq", Ns.Client)
                .SetAttribute("type", "set")
                .SetAttribute("id", "push" + version)
                .SetAttribute("to", session.Jid.ToString());
            push.Add(new Element("query", Ns.Roster).SetAttribute("ver", version.ToString(System.Globalization.CultureInfo.InvariantCulture)).Add(item.Clone()));
            router.Deliver(push, session.Jid);
        }
    }

    /// <summary>
    /// An online account's roster, in memory; guarded by its own lock for readers on other threads.
    /// Presence reads it on every change, so the sorted snapshot is built once per roster change.
    /// </summary>
    private sealed class CachedRoster(Storage.Roster roster)
    {
        private readonly Dictionary<string, RosterItem> _items = roster.Items.ToDictionary(i => i.Contact, StringComparer.Ordinal);
        private long _version = roster.Version;
        private Storage.Roster? _snapshot = roster;

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public Storage.Roster Snapshot()
        {
            lock (_items)
            {
                return _snapshot ??= new Storage.Roster(_version, [.. _items.Values.OrderBy(i => i.Contact, StringComparer.Ordinal)]);
            }
        }

        public RosterItem? Find(string contact)
        {
            lock (_items)
            {
                return _items.GetValueOrDefault(contact);
            }
        }

        public void Set(RosterItem item, long version)
        {
            lock (_items)
            {
                _items[item.Contact] = item;
                _version = version;
                _snapshot = null;
            }
        }

        public void Remove(string contact, long version)
        {
            lock (_items)
            {
                _items.Remove(contact);
                _version = version;
                _snapshot = null;
            }
        }
    }
}

/// <summary>What a roster read again brought: contacts the account now receives presence from (<paramref name="To"/>) and sends it to (<paramref name="From"/>).</summary>
public sealed record RosterReload(List<Jid> To, List<Jid> From);
