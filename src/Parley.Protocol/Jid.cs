using System.Diagnostics.CodeAnalysis;
using PrecisProfiles = Parley.Protocol.Precis.Precis;

namespace Parley.Protocol;

/// <summary>
/// An XMPP address (RFC 7622): <c>[localpart@]domainpart[/resourcepart]</c>, each part held in
/// its prepared, canonical form, so that two JIDs are equal exactly when their strings are.
/// </summary>
public sealed class Jid : IEquatable<Jid>
{
    private readonly string _canonical;
    private Jid? _bare;

    private Jid(string? local, string domain, string? resource, string canonical)
    {
        Local = local;
        Domain = domain;
        Resource = resource;
        _canonical = canonical;
    }

    /// <summary>The localpart, prepared with UsernameCaseMapped; null when absent.</summary>
    public string? Local { get; }

    /// <summary>The domainpart: lowercase, IDNA U-labels, no trailing dot (or an IP address).</summary>
    public string Domain { get; }

    /// <summary>The resourcepart, prepared with OpaqueString; null when absent.</summary>
    public string? Resource { get; }

    public bool IsBare => Resource is null;

    public bool IsDomain => Local is null && Resource is null;

    /// <summary>This JID without its resource (the same instance when it has none).</summary>
    public Jid Bare
    {
        get
        {
            if (Resource is null)
            {
                return this;
            }

            // A benign race: two threads may both build it; either result is equal.
            return _bare ??= new Jid(Local, Domain, null, _canonical[..(_canonical.Length - Resource.Length - 1)]);
        }
    }

    /// <summary>The canonical text of this JID's bare JID, without building a bare JID (stanza paths).</summary>
    public ReadOnlySpan<char> BareText => Resource is null ? _canonical : _canonical.AsSpan(0, _canonical.Length - Resource.Length - 1);

    /// <summary>Whether both JIDs have the same bare JID, without building a bare JID for either (stanza paths).</summary>
    public bool SharesBareWith(Jid other) =>
        string.Equals(Local, other.Local, StringComparison.Ordinal) && string.Equals(Domain, other.Domain, StringComparison.Ordinal);

    public static bool TryParse(string? text, [NotNullWhen(true)] out Jid? jid) => TryParse(text, out jid, out _);

    /// <exception cref="JidFormatException">The text is not a valid JID; the message says why.</exception>
    public static Jid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out Jid? jid, out string? error) ? jid : throw new JidFormatException("Invalid JID: " + error);
    }

    /// <summary>Builds a JID from its parts, preparing each one.</summary>
    /// <exception cref="JidFormatException">A part is invalid; the message says which and why.</exception>
    public static Jid Create(string? local, string domain, string? resource = null)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string? preparedLocal = null;
        string? preparedResource = null;
        string? error = null;
        bool valid = (local is null || PrecisProfiles.TryPrepareLocalpart(local, out preparedLocal, out error))
            & PrecisProfiles.TryPrepareDomainpart(domain, out string? preparedDomain, out string? domainError)
            & (resource is null || PrecisProfiles.TryPrepareResourcepart(resource, out preparedResource, out error));
        if (!valid)
        {
            throw new JidFormatException("Invalid JID: " + (domainError ?? error));
        }

        return new Jid(preparedLocal, preparedDomain!, preparedResource, Format(preparedLocal, preparedDomain!, preparedResource));
    }

    /// <summary>This JID's bare form with <paramref name="resource"/> (prepared); null gives the bare JID.</summary>
    /// <exception cref="JidFormatException">The resource is invalid.</exception>
    public Jid WithResource(string? resource)
    {
        if (resource is null)
        {
            return Bare;
        }

        if (!PrecisProfiles.TryPrepareResourcepart(resource, out string? prepared, out string? error))
        {
            throw new JidFormatException("Invalid JID: " + error);
        }

        return prepared == Resource ? this : new Jid(Local, Domain, prepared, Format(Local, Domain, prepared));
    }

    public override string ToString() => _canonical;

    public bool Equals(Jid? other) => other is not null && string.Equals(_canonical, other._canonical, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as Jid);

    public override int GetHashCode() => _canonical.GetHashCode(StringComparison.Ordinal);

    public static bool operator ==(Jid? left, Jid? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Jid? left, Jid? right) => !(left == right);

    // RFC 7622 §3.1: the resourcepart is everything after the first '/', the localpart everything
    // before the first '@' of what remains. Each part is prepared from a span; the canonical string
    // is the input itself when preparation changed nothing, which is the common case on the wire.
    private static bool TryParse(string? text, [NotNullWhen(true)] out Jid? jid, [NotNullWhen(false)] out string? error)
    {
        jid = null;
        if (text is null)
        {
            error = "the JID is missing";
            return false;
        }

        ReadOnlySpan<char> span = text;
        int slash = span.IndexOf('/');
        ReadOnlySpan<char> address = slash >= 0 ? span[..slash] : span;
        ReadOnlySpan<char> resourceSpan = slash >= 0 ? span[(slash + 1)..] : [];
        int at = address.IndexOf('@');
        ReadOnlySpan<char> localSpan = at >= 0 ? address[..at] : [];
        ReadOnlySpan<char> domainSpan = at >= 0 ? address[(at + 1)..] : address;

        string? local = null;
        string? resource = null;
        if (at >= 0 && !PrecisProfiles.TryPrepareLocalpart(localSpan, original: null, out local, out error))
        {
            return false;
        }

        string? domainOriginal = domainSpan.Length == text.Length ? text : null;
        if (!Precis.Domainpart.TryPrepare(domainSpan, domainOriginal, out string? domain, out error))
        {
            return false;
        }

        if (slash >= 0 && !PrecisProfiles.TryPrepareResourcepart(resourceSpan, original: null, out resource, out error))
        {
            return false;
        }

        bool unchanged = localSpan.SequenceEqual(local) && domainSpan.SequenceEqual(domain) && resourceSpan.SequenceEqual(resource);
        jid = new Jid(local, domain, resource, unchanged ? text : Format(local, domain, resource));
        error = null;
        return true;
    }

    private static string Format(string? local, string domain, string? resource) => (local, resource) switch
    {
        (null, null) => domain,
        (null, _) => string.Concat(domain, "/", resource),
        (_, null) => string.Concat(local, "@", domain),
        _ => string.Concat(local, "@", domain, "/", resource),
    };
}
