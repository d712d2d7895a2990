using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Parley.Protocol.Precis;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Storage;

namespace Parley.Cli;

/// <summary>
/// <c>parley roster import FILE.csv</c>: lines of <c>jid,contact_jid[,name[,group[,subscription]]]</c>. The whole file
/// is read and checked first, merging the lines of each (user, contact) pair into one item; every bad line is
/// reported and nothing is imported if any is bad. Then the items, and the reverse items that mutual subscriptions
/// imply, are handed to <see cref="RosterAdministration"/> in user order.
/// </summary>
internal sealed class RosterImport(string path, ParleyOptions options, CliConsole console)
{
    // One entry per pair, not per line: a file of group memberships repeats a pair once per group. At 100,000 pairs
    // (twice that with the reverse items) this is some tens of megabytes, which an import may spend.
    private readonly Dictionary<RosterPair, ImportedItem> _items = [];

    // Each user appears on many lines; the store is asked once per JID.
    private readonly Dictionary<string, bool> _accountExists = new(StringComparer.Ordinal);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CliException(ExitCodes.Usage, $"{path} does not exist.");
        }

        var stopwatch = Stopwatch.StartNew();
        await using var storage = await StorageAccess.OpenOrCreateAsync(options, console, cancellationToken);
        var badLines = await ReadAndReportBadLinesAsync(storage.Accounts, cancellationToken);
        if (badLines > 0)
        {
            throw new CliException(ExitCodes.Failed, $"{path}: {badLines} bad line{(badLines == 1 ? "" : "s")}; nothing imported.");
        }

        AddReverseItems();
        var pairs = PairsInUserOrder();
        // A node running on this database shows each user's new contacts at once if the user is online.
        var (written, users) = await AdministrationServices.WithoutNode(storage, options).Rosters.ImportAsync(Items(pairs), cancellationToken);
        console.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"imported {RosterCommands.Plural(written, "roster item")} for {RosterCommands.Plural(users, "user")} ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));
        return ExitCodes.Ok;
    }

    /// <summary>Merges every good line into <see cref="_items"/>; writes "parley: FILE:LINE: problem" for every bad one and returns how many there were.</summary>
    private async Task<int> ReadAndReportBadLinesAsync(IAccountStore accounts, CancellationToken cancellationToken)
    {
        var badLines = 0;
        await foreach (var record in Csv.ReadAsync(path, cancellationToken))
        {
            if (record.Line == 1 && IsHeader(record.Fields))
            {
                continue;
            }

            var error = record.Error ?? await AddLineAsync(record, accounts, cancellationToken);
            if (error is not null)
            {
                console.Error.WriteLine($"parley: {path}:{record.Line}: {error}");
                badLines++;
            }
        }

        return badLines;
    }

    /// <returns>Why the line is bad, or null when it was merged into <see cref="_items"/>.</returns>
    private async Task<string?> AddLineAsync(CsvRecord record, IAccountStore accounts, CancellationToken cancellationToken)
    {
        var fields = record.Fields;
        if (fields.Count is < 2 or > 5)
        {
            return $"expected {RosterCsv.LineFormat}, found {fields.Count} field{(fields.Count == 1 ? "" : "s")}.";
        }

        if (!AccountInput.TryPrepareServedJid(fields[0], options.EffectiveDomains, out var user, out var error)
            || !TryPrepareContact(fields[1], out var contact, out error))
        {
            return error;
        }

        if (user == contact)
        {
            return $"{user} cannot be a contact in their own roster.";
        }

        var subscription = Subscription.Both;
        if (fields.Count == 5 && fields[4].Length > 0 && !RosterCsv.TryParseSubscription(fields[4], out subscription))
        {
            return $"'{fields[4]}' is not a subscription: write both, to, from or none.";
        }

        if (!await AccountExistsAsync(accounts, user, cancellationToken))
        {
            return $"there is no account {user}.";
        }

        // Contacts elsewhere cannot be checked (and are reached by federation); a contact here must be an account.
        var contactIsLocalAccount = IsServedAccountJid(contact);
        if (contactIsLocalAccount && !await AccountExistsAsync(accounts, contact, cancellationToken))
        {
            return $"there is no account {contact} (the contact is in a domain this node serves).";
        }

        var name = fields.Count > 2 && fields[2].Length > 0 ? fields[2] : null;
        var group = fields.Count > 3 && fields[3].Length > 0 ? fields[3] : null;
        var pair = new RosterPair(user, contact);
        if (!_items.TryGetValue(pair, out var item))
        {
            _items.Add(pair, new ImportedItem(record.Line, name, subscription, contactIsLocalAccount, group is null ? [] : [group]));
            return null;
        }

        if (name is not null && item.Name is not null && name != item.Name)
        {
            return $"line {item.Line} has the name '{item.Name}' for the same pair; give every line of a pair the same name, or leave it empty.";
        }

        if (subscription != item.Subscription)
        {
            return $"line {item.Line} has the subscription {RosterCsv.SubscriptionText(item.Subscription)} for the same pair; give every line of a pair the same one.";
        }

        item.Name ??= name;
        if (group is not null && !item.Groups.Contains(group))
        {
            item.Groups.Add(group);
        }

        return null;
    }

    /// <summary>
    /// Adds, for every mutual subscription with an account here, the contact's item for the user, unless the file has
    /// that line itself (whose name and groups then win).
    /// </summary>
    private void AddReverseItems()
    {
        var reverses = new List<(RosterPair Pair, int Line)>();
        foreach (var (pair, item) in _items)
        {
            if (item.Subscription == Subscription.Both && item.ContactIsLocalAccount)
            {
                reverses.Add((new RosterPair(pair.Contact, pair.User), item.Line));
            }
        }

        foreach (var (pair, line) in reverses)
        {
            _items.TryAdd(pair, new ImportedItem(line, name: null, Subscription.Both, contactIsLocalAccount: true, groups: []));
        }
    }

    /// <summary>Sorted by user, so that the store bumps each user's roster version once per batch, not once per item.</summary>
    private RosterPair[] PairsInUserOrder()
    {
        var pairs = _items.Keys.ToArray();
        Array.Sort(pairs, static (left, right) =>
        {
            var byUser = string.CompareOrdinal(left.User, right.User);
            return byUser != 0 ? byUser : string.CompareOrdinal(left.Contact, right.Contact);
        });
        return pairs;
    }

    private IEnumerable<(string User, RosterItem Item)> Items(RosterPair[] pairs)
    {
        foreach (var pair in pairs)
        {
            var item = _items[pair];
            yield return (pair.User, new RosterItem(pair.Contact, item.Name, item.Subscription, AskSubscribe: false, PreApproved: false, item.Groups));
        }
    }

    private async Task<bool> AccountExistsAsync(IAccountStore accounts, string bareJid, CancellationToken cancellationToken)
    {
        if (!_accountExists.TryGetValue(bareJid, out var exists))
        {
            exists = await accounts.ExistsAsync(bareJid, cancellationToken);
            _accountExists.Add(bareJid, exists);
        }

        return exists;
    }

    private bool IsServedAccountJid(string bareJid)
    {
        var at = bareJid.IndexOf('@');
        return at > 0 && options.EffectiveDomains.Contains(bareJid[(at + 1)..]);
    }

    /// <summary>
    /// A contact is an account's bare JID or, as the roster store allows, a service's domain JID (a gateway,
    /// XEP-0100), in canonical form.
    /// </summary>
    private static bool TryPrepareContact(string text, [NotNullWhen(true)] out string? contact, [NotNullWhen(false)] out string? error)
    {
        if (text.Contains('@') || text.Contains('/'))
        {
            return AccountInput.TryPrepareJid(text, out contact, out error);
        }

        if (Precis.TryPrepareDomainpart(text, out contact, out var domainError))
        {
            error = null;
            return true;
        }

        error = $"'{text}' is not a valid JID: {domainError}.";
        return false;
    }

    private static bool IsHeader(IReadOnlyList<string> fields) =>
        fields.Count >= 2
        && fields[0].Equals("jid", StringComparison.OrdinalIgnoreCase)
        && fields[1].Equals("contact_jid", StringComparison.OrdinalIgnoreCase);

    private readonly record struct RosterPair(string User, string Contact);

    /// <summary>What the lines of one pair say, merged; <see cref="Line"/> is the first of them.</summary>
    private sealed class ImportedItem(int line, string? name, Subscription subscription, bool contactIsLocalAccount, List<string> groups)
    {
        public int Line { get; } = line;

        /// <summary>The first name a line gives; lines without one leave it.</summary>
        public string? Name { get; set; } = name;

        public Subscription Subscription { get; } = subscription;

        public bool ContactIsLocalAccount { get; } = contactIsLocalAccount;

        public List<string> Groups { get; } = groups;
    }
}
