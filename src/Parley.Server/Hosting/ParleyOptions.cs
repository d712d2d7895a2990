namespace Parley.Server.Hosting;

/// <summary>
/// The node's configuration: section "Parley" of parley.json, PARLEY__* environment variables and
/// the command line, bound in the usual .NET order (later sources win). docs/configuration.md
/// describes every key; keep the two in step.
/// </summary>
public sealed class ParleyOptions
{
    public const string Section = "Parley";

    /// <summary>The XMPP domains this node serves; the first is the default for the CLI.</summary>
    public List<string> Domains { get; set; } = [];

    public string DataDir { get; set; } = "./data";

    public StorageOptions Storage { get; set; } = new();
    public NetworkOptions Network { get; set; } = new();
    public TlsOptions Tls { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    public SessionOptions Sessions { get; set; } = new();
    public LimitOptions Limits { get; set; } = new();
    public WebOptions Web { get; set; } = new();

    /// <summary>
    /// Accounts (bare JIDs) with the admin role besides those granted it with <c>parley admin grant</c>: they may run
    /// the XEP-0133 service administration commands.
    /// </summary>
    public List<string> Admins { get; set; } = [];

    public AuditOptions Audit { get; set; } = new();

    public MetricsOptions Metrics { get; set; } = new();
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>
    /// Parley:Modules:&lt;Name&gt;:Enabled switches a module off (or on again); every module runs unless
    /// switched off here. Names are those of <see cref="Parley.Server.Modules.BuiltInModules"/>, in any case.
    /// </summary>
    public Dictionary<string, ModuleSwitch> Modules { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    private readonly Dictionary<Type, object> _moduleOptions = [];

    /// <summary>A module's own options (its section Parley:&lt;Section&gt;): as bound, or its defaults.</summary>
    public T Module<T>() where T : class, new() => (T)Module(typeof(T));

    public object Module(Type optionsType)
    {
        if (!_moduleOptions.TryGetValue(optionsType, out var moduleOptions))
        {
            _moduleOptions[optionsType] = moduleOptions = Activator.CreateInstance(optionsType)!;
        }
        return moduleOptions;
    }

    public bool IsEnabled(string module) => !Modules.TryGetValue(module, out var moduleSwitch) || moduleSwitch.Enabled;

    /// <summary>The configured domains, or "localhost" when none are.</summary>
    public IReadOnlyList<string> EffectiveDomains => Domains.Count > 0 ? Domains : ["localhost"];
}

public sealed class ModuleSwitch
{
    public bool Enabled { get; set; } = true;
}

public sealed class StorageOptions
{
    /// <summary>"sqlite" (embedded default) or "postgres".</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>SQLite: a file path (default DataDir/parley.db). PostgreSQL: a connection string.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// How often the node looks for notices the <c>parley</c> CLI left in the database (an account removed, a room
    /// changed), so it disconnects removed accounts and reloads changed rooms within this time.
    /// </summary>
    public int NoticePollMilliseconds { get; set; } = 1000;
}

public sealed class NetworkOptions
{
    /// <summary>The address every listener binds; "0.0.0.0" or "::" to serve other machines.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Client connections with STARTTLS (RFC 6120); 0 disables.</summary>
    public int C2sPort { get; set; } = 5222;

    /// <summary>Client connections with TLS from the first byte (XEP-0368); 0 disables.</summary>
    public int C2sTlsPort { get; set; } = 5223;

    /// <summary>Plain HTTP (web clients, /health), for loopback and a TLS-terminating reverse proxy. 0 disables.</summary>
    public int HttpPort { get; set; } = 5280;

    /// <summary>HTTPS with the XMPP ports' certificates (picked up without a restart when they change). 0 disables.</summary>
    public int HttpsPort { get; set; } = 5443;
}

/// <summary>The web endpoints (XMPP over WebSocket, BOSH, discovery, the bundled web client): section Parley:Web.</summary>
public sealed class WebOptions
{
    /// <summary>
    /// Browser origins ("https://intranet.example.com") whose pages may open XMPP sessions, besides the node's own
    /// pages (same origin) and native clients (no Origin header); "*" allows every origin.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Addresses of reverse proxies in front of the plain HTTP port: their X-Forwarded-For names the client, and
    /// their X-Forwarded-Proto: https makes a session secure (sign-in is offered on secure sessions only).
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>The WebSocket URL clients use (wss://chat.example.com/xmpp-websocket) when the node is behind a proxy; else the request's own.</summary>
    public string? PublicWebSocketUrl { get; set; }

    /// <summary>The BOSH URL clients use (https://chat.example.com/http-bind) when the node is behind a proxy; else the request's own.</summary>
    public string? PublicBoshUrl { get; set; }

    /// <summary>How often the node pings an XMPP WebSocket (RFC 6455 ping); a peer that does not answer within as long again is dropped. 0 disables.</summary>
    public int WebSocketPingSeconds { get; set; } = 30;

    /// <summary>The longest a BOSH request is held waiting for something to send (a client may ask for less).</summary>
    public int BoshMaxWaitSeconds { get; set; } = 60;

    /// <summary>A BOSH session with no request held for this long ends (XEP-0124 'inactivity').</summary>
    public int BoshInactivitySeconds { get; set; } = 60;

    /// <summary>Open BOSH sessions from one IP address; more get the terminate condition policy-violation.</summary>
    public int BoshMaxSessionsPerIp { get; set; } = 100;

    /// <summary>An administrator signed in to the console at /admin is signed out after this long without a request.</summary>
    public int ConsoleSessionTimeoutSeconds { get; set; } = 1800;
}

public sealed class TlsOptions
{
    /// <summary>Refuse authentication and stanzas on an unencrypted stream (the default).</summary>
    public bool RequireStartTls { get; set; } = true;

    /// <summary>Certificates for domains; a domain without one gets a self-signed certificate made on first start.</summary>
    public List<CertificateOptions> Certificates { get; set; } = [];
}

public sealed class CertificateOptions
{
    public string Domain { get; set; } = "";

    /// <summary>PEM certificate (chain) file; with <see cref="KeyPath"/>.</summary>
    public string? CertificatePath { get; set; }
    public string? KeyPath { get; set; }

    /// <summary>PKCS#12 file instead of PEM.</summary>
    public string? PfxPath { get; set; }
    public string? PfxPassword { get; set; }
}

public sealed class AuthOptions
{
    /// <summary>
    /// The fewest characters a new password may have, wherever one is set (CLI, in-band registration and password
    /// change); existing passwords keep working.
    /// </summary>
    public int MinPasswordLength { get; set; } = 8;

    /// <summary>PBKDF2 iterations for new SCRAM credentials (RFC 7677 asks for at least 4096).</summary>
    public int ScramIterations { get; set; } = 4096;

    /// <summary>Offer SASL PLAIN (only ever inside TLS).</summary>
    public bool AllowPlain { get; set; } = true;

    /// <summary>
    /// Refuse SCRAM logins whose GS2 flag is "y" while -PLUS is offered (RFC 5802 §6's downgrade rule).
    /// Off by default: clients from before XEP-0440, such as slixmpp 1.8, know only tls-unique,
    /// which TLS 1.3 does not have, and say "y" for that reason alone.
    /// </summary>
    public bool StrictChannelBindingDowngrade { get; set; }

    /// <summary>Delay before answering the first failed attempt; it doubles with each further failure.</summary>
    public int FailureDelayMilliseconds { get; set; } = 500;

    public int MaxFailureDelayMilliseconds { get; set; } = 16_000;

    /// <summary>How long failures are remembered per account and per IP address.</summary>
    public int FailureWindowSeconds { get; set; } = 900;

    /// <summary>
    /// Failed passwords from one IP address (across accounts, within the window) answered without an
    /// address-wide delay; beyond it the delay grows as for an account. High, because behind a NAT every user shares one address.
    /// </summary>
    public int IpFailuresBeforeDelay { get; set; } = 20;

    /// <summary>
    /// The most sign-ins a node starts per second (0: no limit); more wait their turn in order. Keeps a node that takes
    /// over a failed peer's users, who all come back at once, from stalling.
    /// </summary>
    public int LoginsPerSecond { get; set; } = 500;

    /// <summary>How many sign-ins may wait for their turn; one more is refused at once with temporary-auth-failure.</summary>
    public int LoginQueueLength { get; set; } = 25_000;
}

public sealed class SessionOptions
{
    /// <summary>What a bind with a resource already in use does: "replace" (the old session is closed) or "reject".</summary>
    public string ResourceConflict { get; set; } = "replace";

    /// <summary>Time allowed from connect to a bound session.</summary>
    public int NegotiationTimeoutSeconds { get; set; } = 60;

    /// <summary>A connection that sends nothing (not even a whitespace keepalive) for this long is closed.</summary>
    public int IdleTimeoutSeconds { get; set; } = 900;

    /// <summary>The server sends a whitespace keepalive after this long without sending; 0 disables.</summary>
    public int KeepaliveSeconds { get; set; } = 240;

    /// <summary>How long a session whose connection dropped waits for its client to resume it (XEP-0198).</summary>
    public int ResumeTimeoutSeconds { get; set; } = 300;
}

public sealed class LimitOptions
{
    public int MaxStanzaBytes { get; set; } = 256 * 1024;
    public int MaxDepth { get; set; } = 64;
    public int MaxAttributes { get; set; } = 64;
    public int MaxNamespaceDeclarations { get; set; } = 16;

    /// <summary>
    /// Bytes of stanzas queued for a client that does not read; past this the stream is closed with
    /// &lt;policy-violation/&gt;. At least <see cref="MaxStanzaBytes"/>, so that any one stanza fits.
    /// </summary>
    public long MaxSendQueueBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Stanzas kept for a session whose connection dropped while it waits to be resumed (XEP-0198); past this the session ends.</summary>
    public int MaxSendQueueStanzas { get; set; } = 10_000;

    /// <summary>Open connections from one IP address; 0 = unlimited.</summary>
    public int MaxConnectionsPerIp { get; set; } = 0;

    public int MaxResourcesPerAccount { get; set; } = 100;

    /// <summary>Contacts one roster may hold; 0 = unlimited.</summary>
    public int MaxRosterItems { get; set; }

    /// <summary>Messages kept for one offline user (XEP-0160); past this senders get an error. 0 disables offline storage.</summary>
    public int MaxOfflineMessages { get; set; } = 1000;

    /// <summary>
    /// Largest vCard (XEP-0054) a user may store, as serialized UTF-8. Kept below <see cref="MaxStanzaBytes"/>
    /// so that it is the vCard rule, not the stream's, that a too-large photo runs into.
    /// </summary>
    public int MaxVCardBytes { get; set; } = 128 * 1024;

    /// <summary>
    /// Largest item a user may publish to a personal eventing node (XEP-0163), as serialized UTF-8: an
    /// avatar's data, an OMEMO bundle. Kept below <see cref="MaxStanzaBytes"/> so that larger items get
    /// the pubsub error &lt;payload-too-big/&gt; instead of losing the stream.
    /// </summary>
    public int MaxPepItemBytes { get; set; } = 64 * 1024;

    /// <summary>Items one personal eventing node keeps; what a node configured with max_items "max" gets.</summary>
    public int MaxPepItemsPerNode { get; set; } = 1000;
}


public sealed class AuditOptions
{
    /// <summary>Days an audit record of an administrative change is kept; 0 keeps them forever.</summary>
    public int RetentionDays { get; set; } = 365;
}

public sealed class MetricsOptions
{
    /// <summary>Whether /metrics needs an API token (<c>Authorization: Bearer</c>), as the REST API does; open by default, as Prometheus expects.</summary>
    public bool RequireToken { get; set; }

    /// <summary>An OpenTelemetry collector's OTLP/HTTP address (e.g. http://collector:4318) to push the metrics to as well; none when empty.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Seconds between two OTLP exports.</summary>
    public int OtlpIntervalSeconds { get; set; } = 60;
}

/// <summary>
/// Section Parley:Cluster: the nodes of a cluster share the PostgreSQL database and talk through a NATS bus. Without
/// <see cref="Bus"/> the node is a single node and the other keys are not used.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>The NATS server's URL (nats://127.0.0.1:4222), or null for a single node.</summary>
    public string? Bus { get; set; }

    /// <summary>This node's name in the cluster, unique among the running nodes; needed with <see cref="Bus"/>.</summary>
    public string? Node { get; set; }

    /// <summary>The name administrators see for this node: <see cref="Node"/> in a cluster, else the machine's name.</summary>
    public string DisplayName => Node ?? Environment.MachineName;

    /// <summary>The host name clients are sent to for this node (redirects); default: the bind address.</summary>
    public string? Advertise { get; set; }

    /// <summary>
    /// True (the default): a client signed in on a node that does not serve its account is sent to the node that does
    /// (RFC 6120 &lt;see-other-host/&gt;). False: it is served where it connected, its stanzas passing through the node that serves the account.
    /// </summary>
    public bool Redirect { get; set; } = true;

    /// <summary>How many stanzas for other nodes a node holds while the bus is down, to send when it is back.</summary>
    public int BusBufferStanzas { get; set; } = 10_000;

    /// <summary>How long a stanza for another node may wait for the bus to come back before its sender gets remote-server-timeout.</summary>
    public int BusBufferSeconds { get; set; } = 30;

    /// <summary>How long a node's membership lasts without a heartbeat (kept by the database's clock); a node whose lease ran out is down.</summary>
    public int LeaseMilliseconds { get; set; } = 3000;

    /// <summary>How often the node renews its lease; well below <see cref="LeaseMilliseconds"/>.</summary>
    public int HeartbeatMilliseconds { get; set; } = 1000;

    /// <summary>
    /// How long a node that came back must have been up before its group peer sends its users home (fallback); 0: at
    /// the next heartbeat. <c>parley cluster fallback NODE</c> sends them home at once.
    /// </summary>
    public int FallbackDelaySeconds { get; set; }

    /// <summary>
    /// The most clients a node sends to another node each heartbeat when their accounts are served there now (a
    /// fallback, an assignment): the returning node gets its users back at a bounded rate, not all at once.
    /// </summary>
    public int SendAwayPerHeartbeat { get; set; } = 200;
}
