using System.Diagnostics;
using System.Net;
using System.Text;
using Parley.Protocol;
using Parley.Protocol.Sasl;
using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>
/// <c>parley-loadgen resume</c>: how long a stream management (XEP-0198) resumption takes when the server has N
/// stanzas to send again. Each round: user prefix1 logs in and enables stream management with resumption; prefix2
/// sends it N chat messages, which it reads without acknowledging any; its TCP connection drops without a closing
/// stream tag; a new connection authenticates and resumes with h=0. Measured from sending &lt;resume/&gt; to
/// &lt;resumed/&gt;, and to the last of the N messages sent again (checked: all of them, in order, once).
/// </summary>
internal static class ResumeCommand
{
    public const string Usage =
        "parley-loadgen resume --host 127.0.0.1 --port P --password PW\n" +
        "    [--stanzas 1000] [--rounds 20] [--warmup 5] [--user-prefix load] [--domain localhost] [--direct-tls]";

    private static readonly byte[] EnableResumption = Encoding.UTF8.GetBytes($"<enable xmlns='{Ns.StreamManagement}' resume='true'/>");
    private static readonly TimeSpan RoundDeadline = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var arguments = new Arguments(
            args,
            new HashSet<string> { "--host", "--port", "--password", "--stanzas", "--rounds", "--warmup", "--user-prefix", "--domain" },
            new HashSet<string> { "--direct-tls" });
        var server = new IPEndPoint(ClientPool.LoopbackAddress(arguments.Text("--host")), arguments.Number("--port", 1, 65535));
        var password = arguments.Text("--password");
        // The node drops a client with more unsent stanzas than Limits:MaxSendQueueStanzas (10,000 by default).
        var stanzas = arguments.Number("--stanzas", 1, 100_000, fallback: 1000);
        var rounds = arguments.Number("--rounds", 1, 1000, fallback: 20);
        var warmup = arguments.Number("--warmup", 0, 1000, fallback: 5);
        var prefix = arguments.Text("--user-prefix", "load");
        var domain = arguments.Text("--domain", "localhost");
        var directTls = arguments.Flag("--direct-tls");

        var output = Console.Out;
        output.WriteLine($"{server} {(directTls ? "direct TLS" : "STARTTLS")}, {prefix}2 sends {stanzas} messages to {prefix}1, which resumes with h=0; " +
            $"{warmup} warm-up + {rounds} measured rounds");

        var target = new LoginTarget(server, domain, directTls, allowTlsResume: false, new SaltedPasswordCache(ScramHash.Sha256, password));
        var receiver = $"{prefix}1";
        await using var sender = await LoadClient.LoginAsync(target, $"{prefix}2", password, sendInitialPresence: false, cancellationToken).ConfigureAwait(false);
        var toResumed = new List<double>();
        var toAll = new List<double>();
        for (var round = 1; round <= warmup + rounds; round++)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(RoundDeadline);
            var (resumed, all) = await ResumeOnceAsync(target, sender, receiver, password, stanzas, deadline.Token).ConfigureAwait(false);
            var measured = round > warmup;
            output.WriteLine($"round {round,3}{(measured ? "" : " (warm-up)"),-10} <resumed/> after {resumed.TotalMilliseconds,7:0.00} ms, all {stanzas} stanzas after {all.TotalMilliseconds,8:0.00} ms");
            if (measured)
            {
                toResumed.Add(resumed.TotalMilliseconds);
                toAll.Add(all.TotalMilliseconds);
            }
        }
        toResumed.Sort();
        toAll.Sort();
        output.WriteLine($"<resumed/>     {Summary(toResumed)}");
        output.WriteLine($"all stanzas    {Summary(toAll)} ({stanzas / (Median(toAll) / 1000):0} stanzas/s at the median)");
        await sender.CloseAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    /// <returns>Time from sending &lt;resume/&gt; to &lt;resumed/&gt;, and to the last stanza sent again.</returns>
    /// <exception cref="LoginException">The node refused, or sent again something other than the N messages in order.</exception>
    private static async Task<(TimeSpan Resumed, TimeSpan All)> ResumeOnceAsync(
        LoginTarget target, LoadClient sender, string receiver, string password, int stanzas, CancellationToken cancellationToken)
    {
        string previd;
        var ids = new string[stanzas];
        await using (var dropped = await LoadClient.LoginAsync(target, receiver, password, sendInitialPresence: false, cancellationToken).ConfigureAwait(false))
        {
            await dropped.SendAsync(EnableResumption, cancellationToken).ConfigureAwait(false);
            var enabled = await dropped.ExpectAsync("enabled", cancellationToken).ConfigureAwait(false);
            previd = enabled.GetAttribute("id") is { Length: > 0 } id && enabled.GetAttribute("resume") is "true" or "1"
                ? id
                : throw new LoginException($"the node did not offer resumption: {enabled.ToXml(Ns.StreamManagement)}");

            var batch = new StringBuilder(stanzas * 100);
            for (var i = 0; i < stanzas; i++)
            {
                ids[i] = $"m{i}";
                batch.Append($"<message type='chat' to='{dropped.BoundJid}' id='{ids[i]}'><body>unacknowledged {i}</body></message>");
            }
            await sender.SendAsync(Encoding.UTF8.GetBytes(batch.ToString()), cancellationToken).ConfigureAwait(false);
            // Read (so the node has sent them all) and never acknowledged.
            await ReceiveInOrderAsync(dropped, ids, cancellationToken).ConfigureAwait(false);
        }
        // Disposed: the TCP connection is gone without a closing stream tag; the node keeps the session for resumption.

        await using var resuming = await LoadClient.ConnectAuthenticatedAsync(target, receiver, password, cancellationToken).ConfigureAwait(false);
        var start = Stopwatch.GetTimestamp();
        await resuming.SendAsync(Encoding.UTF8.GetBytes($"<resume xmlns='{Ns.StreamManagement}' previd='{previd}' h='0'/>"), cancellationToken).ConfigureAwait(false);
        var resumed = await resuming.ExpectAsync("resumed", cancellationToken).ConfigureAwait(false);
        var toResumed = Stopwatch.GetElapsedTime(start);
        if (resumed.GetAttribute("previd") != previd)
        {
            throw new LoginException($"<resumed/> names another session: {resumed.ToXml(Ns.StreamManagement)}");
        }
        await ReceiveInOrderAsync(resuming, ids, cancellationToken).ConfigureAwait(false);
        var toAll = Stopwatch.GetElapsedTime(start);

        // Acknowledged before closing, so that the node has nothing left to put into offline storage.
        await resuming.SendAsync(Encoding.UTF8.GetBytes($"<a xmlns='{Ns.StreamManagement}' h='{stanzas}'/>"), cancellationToken).ConfigureAwait(false);
        await resuming.CloseAsync(cancellationToken).ConfigureAwait(false);
        return (toResumed, toAll);
    }

    /// <summary>Reads until the messages with <paramref name="ids"/> have arrived, in that order; skips ack requests.</summary>
    private static async Task ReceiveInOrderAsync(LoadClient client, string[] ids, CancellationToken cancellationToken)
    {
        var received = 0;
        while (received < ids.Length)
        {
            var element = await client.NextElementAsync(cancellationToken).ConfigureAwait(false);
            if (element.Name != "message")
            {
                continue;
            }
            if (element.GetAttribute("id") != ids[received])
            {
                throw new LoginException($"expected message {ids[received]}, the node sent {element.ToXml(Ns.Client)}");
            }
            received++;
        }
    }

    private static string Summary(List<double> sorted) =>
        $"min {sorted[0]:0.00} ms, median {Median(sorted):0.00} ms, max {sorted[^1]:0.00} ms";

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
