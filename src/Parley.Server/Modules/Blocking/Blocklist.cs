using System.Collections.Frozen;
using Parley.Protocol;

namespace Parley.Server.Modules.Blocking;

/// <summary>
/// One account's blocked JIDs (prepared, canonical strings), immutable: a change makes a new one.
/// Matching follows XEP-0191 §6 and is checked for every stanza, so it only looks up slices of the
/// sender's canonical JID and allocates nothing.
/// </summary>
internal sealed class Blocklist
{
    public static readonly Blocklist Empty = new([]);

    private readonly FrozenSet<string> _jids;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public Blocklist(IEnumerable<string> jids)
    {
        _jids = jids.ToFrozenSet(StringComparer.Ordinal);
        _lookup = _jids.GetAlternateLookup<ReadOnlySpan<char>>();
        var ordered = _jids.ToArray();
        Array.Sort(ordered, StringComparer.Ordinal);
        Jids = ordered;
    }

    /// <summary>The blocked JIDs in ordinal order, as the block list is returned.</summary>
    public IReadOnlyList<string> Jids { get; }

    public Blocklist With(IReadOnlyCollection<string> added) => added.Count == 0 ? this : new([.. _jids, .. added]);

    public Blocklist Without(IReadOnlyCollection<string> removed) => removed.Count == 0 ? this : new(_jids.Except(removed, StringComparer.Ordinal));

    /// <summary>
    /// True when an item matches <paramref name="entity"/>: its full JID; its bare JID (any resource);
    /// domain/resource (that resource only); its domain or a parent domain (everything from there).
    /// </summary>
    public bool Blocks(Jid entity)
    {
        if (_jids.Count == 0)
        {
            return false;
        }
        ReadOnlySpan<char> canonical = entity.ToString();
        if (_lookup.Contains(canonical))
        {
            return true;
        }
        if (entity.Local is not null)
        {
            if (entity.Resource is not null)
            {
                var bare = canonical[..(canonical.Length - entity.Resource.Length - 1)];
                var domainAndResource = canonical[(entity.Local.Length + 1)..];
                if (_lookup.Contains(bare) || _lookup.Contains(domainAndResource))
                {
                    return true;
                }
            }
        }
        ReadOnlySpan<char> domain = entity.Domain;
        while (true)
        {
            if (_lookup.Contains(domain))
            {
                return true;
            }
            var dot = domain.IndexOf('.');
            if (dot < 0)
            {
                return false;
            }
            domain = domain[(dot + 1)..];
        }
    }
}
