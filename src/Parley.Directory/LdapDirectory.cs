using System.DirectoryServices.Protocols;
using System.Net;
using System.Text;

namespace Parley.Ldap;

/// <summary>
/// The directory as Parley uses it: find a person with the service account, check a password by binding as
/// them, list people and groups. The servers are tried in order. The LDAP library's calls block, so each runs
/// on the thread pool under a time-out and at most <see cref="DirectoryOptions.MaxConcurrentOperations"/> at
/// once: a slow or unreachable directory makes sign-ins wait (asynchronously) or fail, never the node's other work.
/// </summary>
public sealed class LdapDirectory
{
    private const int InvalidCredentials = 49;
    private const int SizeLimitExceeded = 4;
    private const int PageSize = 500;

    private readonly DirectoryOptions _options;
    private readonly SemaphoreSlim _turns;
    private readonly TimeSpan _timeout;
    private long _binds;
    private long _searches;

    public LdapDirectory(DirectoryOptions options)
    {
        _options = options;
        _turns = new SemaphoreSlim(options.MaxConcurrentOperations);
        _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
    }

    public DirectoryOptions Options => _options;

    /// <summary>LDAP operations sent so far: binds (the service account's, people's, StartTLS's anonymous one) and search requests (one per page).</summary>
    public (long Binds, long Searches) OperationsSent => (Interlocked.Read(ref _binds), Interlocked.Read(ref _searches));

    /// <summary>The person whose user id (or mail, under the mail scheme) is <paramref name="name"/>, or null.</summary>
    /// <exception cref="DirectoryUnavailableException">No server answered, or the service account was refused.</exception>
    public Task<DirectoryUser?> FindUserAsync(string name, CancellationToken cancellationToken = default)
    {
        var attribute = _options.UsesMailAsJid ? _options.Attributes.Mail : _options.UserIdAttribute;
        return RunAsync(connection =>
        {
            var found = Search(connection, _options.UserBase!, LdapFilter.And(_options.EffectiveUserFilter, attribute, name), 2, UserAttributes());
            // Two people with one name (two mailboxes alike under the mail scheme) identify no one.
            return found.Count == 1 ? ToUser(connection, found[0]) : null;
        }, cancellationToken);
    }

    /// <summary>
    /// Whether <paramref name="password"/> is <paramref name="dn"/>'s: a bind as them. An empty password is
    /// refused here, since LDAP takes a bind with a DN and no password as an anonymous one (RFC 4513 §5.1.2).
    /// </summary>
    public Task<bool> CheckPasswordAsync(string dn, string password, CancellationToken cancellationToken = default)
    {
        if (password.Length == 0)
        {
            return Task.FromResult(false);
        }
        return RunOnServerAsync(server =>
        {
            using var connection = Connect(server, new NetworkCredential(dn, password));
            try
            {
                Interlocked.Increment(ref _binds);
                connection.Bind();
                return true;
            }
            catch (LdapException e) when (e.ErrorCode == InvalidCredentials)
            {
                return false;
            }
        }, cancellationToken);
    }

    /// <summary>Everyone the user filter matches, with their attributes.</summary>
    public Task<IReadOnlyList<DirectoryUser>> ListUsersAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<DirectoryUser>>(connection =>
        {
            var disabled = DisabledDns(connection);
            return SearchAll(connection, _options.UserBase!, _options.EffectiveUserFilter, UserAttributes())
                .Select(entry => ToUser(entry, disabled.Contains(entry.DistinguishedName)))
                .Where(user => user is not null)
                .ToList()!;
        }, cancellationToken);

    /// <summary>Up to <paramref name="limit"/> people the user filter matches and <paramref name="filter"/> too.</summary>
    public Task<IReadOnlyList<DirectoryUser>> SearchUsersAsync(string filter, int limit, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<DirectoryUser>>(connection =>
            Search(connection, _options.UserBase!, $"(&{_options.EffectiveUserFilter}{filter})", limit, UserAttributes())
                .Select(entry => ToUser(entry, disabled: false))
                .Where(user => user is not null)
                .ToList()!, cancellationToken);

    /// <summary>The groups the group filter matches, each with its people's DNs, nested groups resolved (cycles are cut).</summary>
    public Task<IReadOnlyList<DirectoryGroup>> ListGroupsAsync(CancellationToken cancellationToken = default)
    {
        if (_options.GroupFilter is null)
        {
            return Task.FromResult<IReadOnlyList<DirectoryGroup>>([]);
        }
        return RunAsync<IReadOnlyList<DirectoryGroup>>(connection =>
        {
            var memberAttribute = _options.EffectiveGroupMemberAttribute;
            var nameAttribute = _options.EffectiveGroupNameAttribute;
            var groupBase = _options.GroupBase ?? _options.UserBase!;
            // Every group under the base, so that nested groups outside the filter still count.
            var all = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            var incomplete = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var entry in SearchAll(connection, groupBase, $"({memberAttribute}=*)", [memberAttribute, nameAttribute]))
            {
                var dn = Normalize(entry.DistinguishedName);
                all[dn] = Members(connection, entry, memberAttribute, out var problem);
                if (problem is not null)
                {
                    incomplete[dn] = $"the members of {entry.DistinguishedName} could not all be read: {problem}";
                }
            }
            var groups = new List<DirectoryGroup>();
            foreach (var entry in SearchAll(connection, groupBase, _options.GroupFilter, [nameAttribute]))
            {
                var people = new List<string>();
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                Expand(entry.DistinguishedName, all, people, seen);
                var problems = seen.Where(incomplete.ContainsKey).Select(dn => incomplete[dn]).ToList();
                groups.Add(new DirectoryGroup(entry.DistinguishedName, Text(entry, nameAttribute) ?? entry.DistinguishedName, people,
                    problems.Count > 0 ? string.Join("; ", problems) : null));
            }
            return groups;
        }, cancellationToken);
    }

    /// <summary>Binds with the service account and reads the user base: for `parley directory test`. Says which server answered.</summary>
    public Task<string> ProbeAsync(CancellationToken cancellationToken = default) =>
        RunAsync((connection, server) =>
        {
            Search(connection, _options.UserBase!, "(objectClass=*)", 1, ["objectClass"], SearchScope.Base);
            return server;
        }, cancellationToken);

    /// <summary>
    /// A DN's comparable form: directories return the same DN in different spellings (RFC 4514 and the older
    /// RFC 2253/1779 forms: `\,` or `\2C`, upper-case types, spaces around separators, `;`, UTF-8 in hex, RDN
    /// parts in any order). Each value is unescaped, compatibility-normalized and lower-cased as LDAP's matching
    /// rules for names do (RFC 4518), then escaped again one way; escaped spaces and separators stay in the value.
    /// </summary>
    public static string Normalize(string dn)
    {
        var rdns = new List<string>();
        var parts = new List<string>();
        var text = new StringBuilder(dn.Length);
        var bytes = new List<byte>(4);
        string? type = null;
        // Where the escaped text ends: spaces after it are around a separator, spaces up to it are the value's.
        var escapedEnd = 0;
        for (var i = 0; i < dn.Length; i++)
        {
            var c = dn[i];
            if (c == '\\' && i + 1 < dn.Length)
            {
                if (i + 2 < dn.Length && Uri.IsHexDigit(dn[i + 1]) && Uri.IsHexDigit(dn[i + 2]))
                {
                    bytes.Add(Convert.ToByte(dn.Substring(i + 1, 2), 16));
                    i += 2;
                    continue;
                }
                FlushBytes(text, bytes);
                text.Append(dn[++i]);
                escapedEnd = text.Length;
                continue;
            }
            if (FlushBytes(text, bytes))
            {
                escapedEnd = text.Length;
            }
            if (c == '=' && type is null)
            {
                type = text.ToString().Trim().ToLowerInvariant();
                text.Clear();
                escapedEnd = 0;
            }
            else if (c is ',' or ';' or '+')
            {
                parts.Add(Part(type, text, escapedEnd));
                if (c != '+')
                {
                    rdns.Add(Rdn(parts));
                }
                type = null;
                text.Clear();
                escapedEnd = 0;
            }
            else if (c != ' ' || text.Length > 0)
            {
                text.Append(c);
            }
        }
        if (FlushBytes(text, bytes))
        {
            escapedEnd = text.Length;
        }
        if (type is not null || text.Length > 0)
        {
            parts.Add(Part(type, text, escapedEnd));
            rdns.Add(Rdn(parts));
        }
        return string.Join(',', rdns);
    }

    private static string Part(string? type, StringBuilder value, int escapedEnd)
    {
        while (value.Length > escapedEnd && value[^1] == ' ')
        {
            value.Length--;
        }
        var text = value.ToString().Normalize(NormalizationForm.FormKC).ToLowerInvariant();
        var escaped = new StringBuilder(type).Append('=');
        foreach (var c in text)
        {
            if (c is '\\' or ',' or '+' or '=' or ';' or ' ')
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    /// <summary>A multi-valued RDN's parts in one order: `uid=x+cn=y` is `cn=y+uid=x`.</summary>
    private static string Rdn(List<string> parts)
    {
        parts.Sort(StringComparer.Ordinal);
        var rdn = string.Join('+', parts);
        parts.Clear();
        return rdn;
    }

    /// <returns>Whether there were bytes (hex escapes, UTF-8) to decode.</returns>
    private static bool FlushBytes(StringBuilder text, List<byte> bytes)
    {
        if (bytes.Count == 0)
        {
            return false;
        }
        text.Append(Encoding.UTF8.GetString([.. bytes]));
        bytes.Clear();
        return true;
    }

    private static void Expand(string dn, Dictionary<string, List<string>> groups, List<string> people, HashSet<string> seen)
    {
        if (!seen.Add(Normalize(dn)))
        {
            return;
        }
        if (!groups.TryGetValue(Normalize(dn), out var members))
        {
            people.Add(dn);
            return;
        }
        foreach (var member in members)
        {
            Expand(member, groups, people, seen);
        }
    }

    private HashSet<string> DisabledDns(LdapConnection connection) =>
        _options.EffectiveDisabledFilter is { } filter
            ? SearchAll(connection, _options.UserBase!, $"(&{_options.EffectiveUserFilter}{filter})", ["1.1"]).Select(e => e.DistinguishedName).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : [];

    private DirectoryUser? ToUser(LdapConnection connection, SearchResultEntry entry)
    {
        var disabled = _options.EffectiveDisabledFilter is { } filter
            && Search(connection, entry.DistinguishedName, filter, 1, ["1.1"], SearchScope.Base).Count > 0;
        return ToUser(entry, disabled);
    }

    private DirectoryUser? ToUser(SearchResultEntry entry, bool disabled)
    {
        var a = _options.Attributes;
        var userId = Text(entry, _options.UserIdAttribute);
        if (userId is null)
        {
            return null;
        }
        var photo = entry.Attributes[_options.PhotoAttribute] is { Count: > 0 } photos ? photos[0] as byte[] : null;
        return new DirectoryUser(entry.DistinguishedName, userId, Text(entry, a.Mail), Text(entry, a.DisplayName), Text(entry, a.GivenName),
            Text(entry, a.Surname), Text(entry, a.Phone), Text(entry, a.Title), Text(entry, _options.DepartmentAttribute), photo, disabled);
    }

    private string[] UserAttributes()
    {
        var a = _options.Attributes;
        return [_options.UserIdAttribute, a.Mail, a.DisplayName, a.GivenName, a.Surname, a.Phone, a.Title, _options.DepartmentAttribute, _options.PhotoAttribute];
    }

    private static string? Text(SearchResultEntry entry, string attribute) =>
        entry.Attributes[attribute] is { Count: > 0 } values ? values.GetValues(typeof(string))[0] as string : null;

    /// <summary>A group's members, each range of Active Directory's ranged retrieval read in turn (<see cref="RangedValues"/>).</summary>
    private List<string> Members(LdapConnection connection, SearchResultEntry group, string attribute, out string? incomplete) =>
        RangedValues.ReadAll(attribute, Values(group), description =>
            Search(connection, group.DistinguishedName, "(objectClass=*)", 1, [description], SearchScope.Base) is [var again] ? Values(again) : [],
            out incomplete);

    /// <summary>Every attribute of the entry as returned (with options such as `;range=0-1499`) and its values.</summary>
    private static Dictionary<string, List<string>> Values(SearchResultEntry entry) =>
        entry.Attributes.AttributeNames.Cast<string>().ToDictionary(
            name => name, name => entry.Attributes[name].GetValues(typeof(string)).Cast<string>().ToList(), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Every entry, a page at a time (RFC 2696): Active Directory returns at most 1,000 entries to one search and
    /// OpenLDAP 500 by default. A listing the directory still cuts short is an error, never a partial answer: the
    /// sync would take the missing people for people who left.
    /// </summary>
    private List<SearchResultEntry> SearchAll(LdapConnection connection, string searchBase, string filter, string[] attributes)
    {
        var request = new SearchRequest(searchBase, filter, SearchScope.Subtree, attributes) { TimeLimit = _timeout };
        var paging = new PageResultRequestControl(PageSize);
        request.Controls.Add(paging);
        var entries = new List<SearchResultEntry>();
        while (true)
        {
            SearchResponse response;
            try
            {
                Interlocked.Increment(ref _searches);
                response = (SearchResponse)connection.SendRequest(request, _timeout);
            }
            catch (DirectoryOperationException e) when (e.Response?.ResultCode is ResultCode.SizeLimitExceeded or ResultCode.AdminLimitExceeded)
            {
                throw new DirectoryUnavailableException(
                    $"The directory stopped listing {filter} under {searchBase} after {entries.Count + ((e.Response as SearchResponse)?.Entries.Count ?? 0)} entries (a size limit): "
                    + $"allow the service account {_options.BindDn} unlimited (paged) searches.", e);
            }
            catch (DirectoryOperationException e) when (e.Response?.ResultCode == ResultCode.NoSuchObject)
            {
                return entries;
            }
            entries.AddRange(response.Entries.Cast<SearchResultEntry>());
            var page = response.Controls.OfType<PageResultResponseControl>().FirstOrDefault();
            if (page is null || page.Cookie.Length == 0)
            {
                return entries;
            }
            paging.Cookie = page.Cookie;
        }
    }

    private List<SearchResultEntry> Search(LdapConnection connection, string searchBase, string filter, int limit, string[] attributes, SearchScope scope = SearchScope.Subtree)
    {
        var request = new SearchRequest(searchBase, filter, scope, attributes) { SizeLimit = limit, TimeLimit = _timeout };
        try
        {
            Interlocked.Increment(ref _searches);
            var response = (SearchResponse)connection.SendRequest(request, _timeout);
            return response.Entries.Cast<SearchResultEntry>().ToList();
        }
        catch (DirectoryOperationException e) when (e.Response is SearchResponse partial && (int)e.Response.ResultCode == SizeLimitExceeded)
        {
            return partial.Entries.Cast<SearchResultEntry>().ToList();
        }
        catch (DirectoryOperationException e) when (e.Response?.ResultCode == ResultCode.NoSuchObject)
        {
            return [];
        }
    }

    private Task<T> RunAsync<T>(Func<LdapConnection, T> operation, CancellationToken cancellationToken) =>
        RunAsync((connection, _) => operation(connection), cancellationToken);

    /// <summary>Runs <paramref name="operation"/> bound as the service account, on the first server that answers.</summary>
    private Task<T> RunAsync<T>(Func<LdapConnection, string, T> operation, CancellationToken cancellationToken) =>
        RunOnServerAsync(server =>
        {
            using var connection = Connect(server, ServiceCredential());
            try
            {
                Interlocked.Increment(ref _binds);
                connection.Bind();
            }
            catch (LdapException e) when (e.ErrorCode == InvalidCredentials)
            {
                throw new DirectoryUnavailableException($"The directory at {server} refused the service account {_options.BindDn}: wrong Parley:Directory:BindDn or BindPassword.", e, serviceAccountRefused: true);
            }
            return operation(connection, server);
        }, cancellationToken);

    private NetworkCredential ServiceCredential() => new(_options.BindDn, _options.BindPassword);

    /// <summary>Runs <paramref name="operation"/> on the first server that answers, off the caller's thread, under a time-out.</summary>
    private async Task<T> RunOnServerAsync<T>(Func<string, T> operation, CancellationToken cancellationToken)
    {
        if (!_options.IsConfigured)
        {
            throw new DirectoryUnavailableException("No directory is configured (Parley:Directory:Servers).", null);
        }
        await _turns.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var failures = new List<string>();
            foreach (var server in _options.Servers)
            {
                // A refused or reset connection is tried once more before the next server: libldap reports the
                // odd connection under load as "server unavailable" although the server answers the next one.
                for (var attempt = 1; attempt <= 2; attempt++)
                {
                    try
                    {
                        return await Task.Run(() => operation(server), CancellationToken.None).WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        failures.Add($"{server}: no answer within {_options.TimeoutSeconds} s");
                        break;
                    }
                    catch (LdapException e) when (e.ErrorCode is 81 or 85 or 91)
                    {
                        if (attempt == 2)
                        {
                            failures.Add($"{server}: {e.Message}");
                        }
                    }
                }
            }
            throw new DirectoryUnavailableException($"No directory server answered: {string.Join("; ", failures)}.", null);
        }
        finally
        {
            _turns.Release();
        }
    }

    private LdapConnection Connect(string server, NetworkCredential credential)
    {
        var uri = new Uri(server);
        var ldaps = uri.Scheme == "ldaps" || _options.Tls == "ldaps";
        var port = uri.IsDefaultPort || uri.Port <= 0 ? (ldaps ? 636 : 389) : uri.Port;
        var connection = new LdapConnection(new LdapDirectoryIdentifier(uri.Host, port)) { AuthType = AuthType.Anonymous, Timeout = _timeout };
        try
        {
            Secure(connection, ldaps);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        connection.AuthType = AuthType.Basic;
        connection.Credential = credential;
        return connection;
    }

    private void Secure(LdapConnection connection, bool ldaps)
    {
        connection.SessionOptions.ProtocolVersion = 3;
        connection.SessionOptions.ReferralChasing = ReferralChasingOptions.None;
        if (_options.CaDirectory is { } ca && !OperatingSystem.IsWindows())
        {
            connection.SessionOptions.TrustedCertificatesDirectory = ca;
            connection.SessionOptions.StartNewTlsSessionContext();
        }
        if (ldaps)
        {
            connection.SessionOptions.SecureSocketLayer = true;
        }
        else if (_options.Tls == "starttls")
        {
            // On Linux the library hands libldap the server only at the first bind (dotnet/runtime#96988), and
            // StartTLS before it fails as "server unavailable": an anonymous bind opens the connection first.
            Interlocked.Increment(ref _binds);
            connection.Bind();
            connection.SessionOptions.StartTransportLayerSecurity(null);
        }
    }
}

/// <summary>The directory could not be asked: no server answered in time, or the service account was refused.</summary>
public sealed class DirectoryUnavailableException(string message, Exception? inner, bool serviceAccountRefused = false) : Exception(message, inner)
{
    public bool ServiceAccountRefused { get; } = serviceAccountRefused;
}
