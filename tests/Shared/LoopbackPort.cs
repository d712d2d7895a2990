using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Parley.Tests.Shared;

/// <summary>
/// Ports on 127.0.0.1 for the servers a test starts (nodes, nats-server, PostgreSQL, slapd), which bind them a moment
/// after they are chosen. A port the kernel hands out for bind(0) comes from the ephemeral range, and so does the source
/// port of every outgoing connection the tests make: in that moment a client's connection could take it, and the server
/// then fails with "address in use" (seen in CI). So ports are taken below the ephemeral range, where the kernel never
/// puts a connection, each given out once per test process, from a random start so that two test processes rarely meet.
/// </summary>
public static class LoopbackPort
{
    private const int Lowest = 10_000;

    private static readonly (int First, int End) Range = ChooseRange();
    private static int s_next = Random.Shared.Next(Range.End - Range.First);

    /// <summary>A port no one listened on a moment ago, not given out before in this process.</summary>
    public static int Free()
    {
        for (var tried = 0; tried < Range.End - Range.First; tried++)
        {
            var port = Range.First + (int)((uint)Interlocked.Increment(ref s_next) % (uint)(Range.End - Range.First));
            if (CanListenOn(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException($"No free port on 127.0.0.1 between {Range.First} and {Range.End}.");
    }

    private static bool CanListenOn(int port)
    {
        using var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Below the kernel's ephemeral range (net.ipv4.ip_local_port_range), or above it when it starts too low.</summary>
    private static (int First, int End) ChooseRange()
    {
        var (low, high) = (32_768, 60_999);
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            (low, high) = (int.Parse(fields[0], CultureInfo.InvariantCulture), int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            // Not Linux: the usual range is as good a guess as any.
        }
        return low - Lowest >= 5_000 ? (Lowest, low) : (high + 1, 65_536);
    }
}
