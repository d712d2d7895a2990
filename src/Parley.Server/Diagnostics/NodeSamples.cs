using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Parley.Server.Sessions;

namespace Parley.Server.Diagnostics;

/// <summary>One point of a node's dashboard: when (Unix seconds), sessions, rates per second, CPU % of the machine, memory in MiB.</summary>
public readonly record struct NodeSample(long Time, int Sessions, double LoginsPerSecond, double MessagesPerSecond, double PresencePerSecond, double CpuPercent, double MemoryMiB);

/// <summary>
/// What the console's dashboard plots for this node: every <see cref="Interval"/>, its sessions, the rates of logins, messages and
/// presence received from clients (from the node's own instruments, <see cref="ParleyMetrics"/>), and the process's
/// CPU and memory; the last hour is kept in a ring, which the node's reports (<see cref="Administration.IClusterNodeReports"/>) carry
/// to whichever node's console asks.
/// </summary>
public sealed class NodeSamples : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly int Capacity = (int)(TimeSpan.FromHours(1) / Interval);

    private readonly SessionRegistry _sessions;
    private readonly IMeterFactory _meters;
    private readonly TimeProvider _time;
    private readonly NodeSample[] _ring = new NodeSample[Capacity];
    private readonly Lock _ringLock = new();
    private int _count;
    private int _next;

    private long _logins;
    private long _messages;
    private long _presence;

    public NodeSamples(SessionRegistry sessions, IMeterFactory meters, TimeProvider time)
    {
        _sessions = sessions;
        _meters = meters;
        _time = time;
    }

    /// <summary>The samples taken after <paramref name="after"/> (Unix seconds), oldest first.</summary>
    public IReadOnlyList<NodeSample> Since(long after)
    {
        lock (_ringLock)
        {
            var samples = new List<NodeSample>(_count);
            for (var i = 0; i < _count; i++)
            {
                var sample = _ring[(_next - _count + i + Capacity) % Capacity];
                if (sample.Time > after)
                {
                    samples.Add(sample);
                }
            }
            return samples;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // The node's own meter: in a process with several nodes (tests), each has its own factory.
            if (instrument.Meter.Name == ParleyMetrics.MeterName && instrument.Meter.Scope == _meters
                && instrument.Name is "parley.logins" or "parley.stanzas.received")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>(Count);
        listener.Start();

        using var timer = new PeriodicTimer(Interval, _time);
        using var process = Process.GetCurrentProcess();
        var lastCpu = process.TotalProcessorTime;
        var lastAt = _time.GetTimestamp();
        long lastLogins = 0, lastMessages = 0, lastPresence = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            process.Refresh();
            var now = _time.GetTimestamp();
            var seconds = _time.GetElapsedTime(lastAt, now).TotalSeconds;
            var cpu = process.TotalProcessorTime;
            var logins = Interlocked.Read(ref _logins);
            var messages = Interlocked.Read(ref _messages);
            var presence = Interlocked.Read(ref _presence);
            Add(new NodeSample(
                _time.GetUtcNow().ToUnixTimeSeconds(),
                _sessions.Count,
                Math.Round((logins - lastLogins) / seconds, 2),
                Math.Round((messages - lastMessages) / seconds, 2),
                Math.Round((presence - lastPresence) / seconds, 2),
                Math.Round((cpu - lastCpu).TotalSeconds / seconds / Environment.ProcessorCount * 100, 1),
                Math.Round(process.WorkingSet64 / 1048576.0, 1)));
            (lastCpu, lastAt, lastLogins, lastMessages, lastPresence) = (cpu, now, logins, messages, presence);
        }
    }

    private void Count(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            switch (instrument.Name, tag.Key, tag.Value)
            {
                case ("parley.logins", "outcome", "succeeded"):
                    Interlocked.Add(ref _logins, value);
                    return;
                case ("parley.stanzas.received", "kind", "message"):
                    Interlocked.Add(ref _messages, value);
                    return;
                case ("parley.stanzas.received", "kind", "presence"):
                    Interlocked.Add(ref _presence, value);
                    return;
            }
        }
    }

    private void Add(NodeSample sample)
    {
        lock (_ringLock)
        {
            _ring[_next] = sample;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
        }
    }
}
