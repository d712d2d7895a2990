using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Parley.Server.Hosting;
using Parley.Server.Transport;

namespace Parley.Server.Streams;

/// <summary>Kestrel's entry for client connections on the STARTTLS port (5222).</summary>
public class StartTlsConnectionHandler(ParleyNode node, ConnectionLimiter limiter) : ConnectionHandler
{
    protected virtual bool DirectTls => false;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (!limiter.TryEnter(address))
        {
            connection.Abort(new ConnectionAbortedException("Too many connections from this address."));
            return;
        }
        try
        {
            var transport = new TcpStreamTransport(connection, DirectTls, node.Certificates, node.XmlLimits, node.Metrics);
            await new ClientStream(transport, node).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            limiter.Leave(address);
        }
    }
}

/// <summary>Kestrel's entry for client connections with TLS from the first byte (XEP-0368, port 5223).</summary>
public sealed class DirectTlsConnectionHandler(ParleyNode node, ConnectionLimiter limiter) : StartTlsConnectionHandler(node, limiter)
{
    protected override bool DirectTls => true;
}

/// <summary>Open connections per IP address, against Parley:Limits:MaxConnectionsPerIp.</summary>
public sealed class ConnectionLimiter(ParleyOptions options)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public bool TryEnter(IPAddress address)
    {
        var limit = options.Limits.MaxConnectionsPerIp;
        var count = _open.AddOrUpdate(address, 1, (_, n) => n + 1);
        if (limit > 0 && count > limit)
        {
            Leave(address);
            return false;
        }
        return true;
    }

    public void Leave(IPAddress address)
    {
        var count = _open.AddOrUpdate(address, 0, (_, n) => n - 1);
        if (count <= 0)
        {
            _open.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
        }
    }
}
