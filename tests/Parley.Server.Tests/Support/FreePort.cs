using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Parley.Server.Tests.Support;

public static class FreePort
{
    private static readonly ConcurrentDictionary<int, byte> Given = new();

    /// <summary>
    /// A loopback port that was free a moment ago and was never given out before in this test run,
    /// so that two nodes started in parallel do not get the same one.
    /// </summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (Given.TryAdd(port, 0))
            {
                return port;
            }
        }
    }
}
