using Microsoft.Extensions.Logging;
using Parley.Server.Auth;
using Parley.Server.Diagnostics;
using Parley.Server.ModuleContract;
using Parley.Server.Routing;
using Parley.Server.Sessions;
using Parley.Server.Streams;
using Parley.Server.Transport;
using Parley.Storage;
using Parley.Xml;

namespace Parley.Server.Hosting;

/// <summary>The parts of a running node that every connection uses.</summary>
public sealed class ParleyNode(
    ParleyOptions options,
    IParleyStorage storage,
    CertificateStore certificates,
    SessionRegistry sessions,
    ResumableSessions resumable,
    SessionCloser sessionCloser,
    ModuleRegistry modules,
    Router router,
    AuthThrottle authThrottle,
    LoginGate loginGate,
    IAuthenticationBackend authentication,
    ConnectionMonitor connections,
    ParleyMetrics metrics,
    ISessionPlacement placement,
    ISessionReplication replication,
    ILoggerFactory loggerFactory)
{
    public ParleyOptions Options { get; } = options;
    public IParleyStorage Storage { get; } = storage;
    public CertificateStore Certificates { get; } = certificates;
    public SessionRegistry Sessions { get; } = sessions;
    public ResumableSessions Resumable { get; } = resumable;
    public SessionCloser SessionCloser { get; } = sessionCloser;
    public ModuleRegistry Modules { get; } = modules;
    public Router Router { get; } = router;
    public AuthThrottle AuthThrottle { get; } = authThrottle;
    public LoginGate LoginGate { get; } = loginGate;
    public IAuthenticationBackend Authentication { get; } = authentication;
    public ConnectionMonitor Connections { get; } = connections;
    public ParleyMetrics Metrics { get; } = metrics;
    public ISessionPlacement Placement { get; } = placement;
    public ISessionReplication Replication { get; } = replication;
    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    private volatile bool _stopping;

    /// <summary>Set when the node starts shutting down: sessions end instead of hibernating, new streams are refused.</summary>
    public bool IsStopping => _stopping;

    public void BeginStopping() => _stopping = true;

    public XmlLimits XmlLimits { get; } = new()
    {
        MaxStanzaBytes = options.Limits.MaxStanzaBytes,
        MaxDepth = options.Limits.MaxDepth,
        MaxAttributes = options.Limits.MaxAttributes,
        MaxNamespaceDeclarations = options.Limits.MaxNamespaceDeclarations,
    };
}
