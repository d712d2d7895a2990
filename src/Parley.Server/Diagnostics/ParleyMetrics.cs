using System.Diagnostics;
using System.Diagnostics.Metrics;
using Parley.Server.Sessions;
using Parley.Server.Streams;

namespace Parley.Server.Diagnostics;

/// <summary>
/// The node's instruments (System.Diagnostics.Metrics), on the meter <see cref="MeterName"/> from the host's
/// IMeterFactory, so each node in a process has its own. An exporter (Prometheus on /metrics once the node has its
/// HTTP listener, or OTLP) subscribes to <see cref="MeterNames"/>: these and .NET's own System.Runtime meter, which
/// already measures GC, heap and memory (dotnet.gc.*, dotnet.process.memory.working_set).
/// Counting is an interlocked add per stanza; the observable instruments walk the sessions only when collected.
/// </summary>
public sealed class ParleyMetrics
{
    public const string MeterName = "Parley.Server";

    /// <summary>The meters an exporter should subscribe to (Parley.Cluster exists only on a node of a cluster).</summary>
    public static readonly IReadOnlyList<string> MeterNames = [MeterName, "Parley.Cluster", "System.Runtime"];

    private static readonly KeyValuePair<string, object?> UserArchive = new("archive", "user");
    private static readonly KeyValuePair<string, object?> RoomArchive = new("archive", "room");
    private static readonly KeyValuePair<string, object?> TlsResumed = new("resumed", "true");
    private static readonly KeyValuePair<string, object?> TlsInFull = new("resumed", "false");
    private static readonly KeyValuePair<string, object?> TlsResumptionUnknown = new("resumed", "unknown");

    private readonly Counter<long> _stanzasIn;
    private readonly Counter<long> _stanzasOut;
    private readonly Counter<long> _logins;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _tlsHandshakes;
    private readonly Histogram<double> _archiveAppends;

    public ParleyMetrics(IMeterFactory meters, SessionRegistry sessions)
    {
        var meter = meters.Create(MeterName);
        _stanzasIn = meter.CreateCounter<long>("parley.stanzas.received", "{stanza}", "Stanzas received from clients, by kind (message, presence, iq).");
        _stanzasOut = meter.CreateCounter<long>("parley.stanzas.sent", "{stanza}", "Stanzas queued to clients, by kind (message, presence, iq).");
        _logins = meter.CreateCounter<long>("parley.logins", "{login}", "Sign-ins, by outcome (succeeded, failed).");
        _authFailures = meter.CreateCounter<long>("parley.auth.failures", "{failure}", "Refused sign-ins, by reason (the SASL condition, e.g. not-authorized, account-disabled).");
        _tlsHandshakes = meter.CreateCounter<long>("parley.tls.handshakes", "{handshake}", "TLS handshakes completed on the client ports (STARTTLS and direct TLS), by whether the client resumed an earlier session (resumed: true, false, unknown).");
        _archiveAppends = meter.CreateHistogram<double>("parley.archive.append.duration", "s", "Messages appended to archives, by archive (user, room), and how long each append took.");
        meter.CreateObservableGauge("parley.sessions", () => SessionsByTransport(sessions), "{session}", "Bound client sessions, by transport (STARTTLS, direct TLS, ...).");
        meter.CreateObservableGauge("parley.send_queue.bytes", () => SendQueues(sessions), "By", "Bytes queued for clients that have not read them yet: the total and the largest single queue.");
    }

    public void StanzaReceived(string kind) => _stanzasIn.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void StanzaSent(string kind) => _stanzasOut.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void LoginSucceeded() => _logins.Add(1, new KeyValuePair<string, object?>("outcome", "succeeded"));

    /// <param name="reason">The SASL failure condition sent to the client.</param>
    public void LoginFailed(string reason)
    {
        _logins.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        _authFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    /// <param name="resumed">Whether the client resumed a session; null when OpenSSL could not be asked.</param>
    public void TlsHandshakeCompleted(bool? resumed) =>
        _tlsHandshakes.Add(1, resumed switch { true => TlsResumed, false => TlsInFull, null => TlsResumptionUnknown });

    /// <summary>Times an append to a user's archive started at <paramref name="startedTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void UserArchiveAppended(long startedTimestamp) => _archiveAppends.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, UserArchive);

    /// <summary>Times an append to a room's archive started at <paramref name="startedTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void RoomArchiveAppended(long startedTimestamp) => _archiveAppends.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, RoomArchive);

    private static IEnumerable<Measurement<int>> SessionsByTransport(SessionRegistry sessions)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var session in sessions.All)
        {
            counts[session.Transport] = counts.GetValueOrDefault(session.Transport) + 1;
        }
        foreach (var (transport, count) in counts)
        {
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("transport", transport));
        }
    }

    private static IEnumerable<Measurement<long>> SendQueues(SessionRegistry sessions)
    {
        long total = 0, largest = 0;
        foreach (var session in sessions.All)
        {
            if (session.Sink is ClientStream stream)
            {
                var queued = stream.QueuedBytes;
                total += queued;
                largest = Math.Max(largest, queued);
            }
        }
        yield return new Measurement<long>(total, new KeyValuePair<string, object?>("queue", "total"));
        yield return new Measurement<long>(largest, new KeyValuePair<string, object?>("queue", "largest"));
    }
}
