using System.Buffers;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Parley.Protocol;
using Parley.Server.Diagnostics;
using Parley.Server.Streams;
using Parley.Xml;

namespace Parley.Server.Transport;

/// <summary>
/// An XMPP stream over a TCP connection (RFC 6120): STARTTLS on the client port, or TLS from the
/// first byte on the direct-TLS port (XEP-0368). The stream is one XML document per direction,
/// restarted after TLS and after SASL.
/// </summary>
public sealed class TcpStreamTransport : IStreamTransport
{
    private static readonly byte[] StreamClose = "</stream:stream>"u8.ToArray();
    private static readonly byte[] Space = " "u8.ToArray();

    private readonly ConnectionContext _connection;
    private readonly CertificateStore _certificates;
    private readonly ParleyMetrics _metrics;
    private readonly bool _directTls;
    private readonly ConnectionPipes _pipes;
    private readonly XmlStreamReader _reader;

    public TcpStreamTransport(ConnectionContext connection, bool directTls, CertificateStore certificates, XmlLimits limits, ParleyMetrics metrics)
    {
        _connection = connection;
        _directTls = directTls;
        _certificates = certificates;
        _metrics = metrics;
        _pipes = new ConnectionPipes(connection);
        _reader = new XmlStreamReader(limits);
        RemoteAddress = (connection.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
    }

    public string ConnectionId => _connection.ConnectionId;
    public string RemoteAddress { get; }
    public string Description => _directTls ? "direct TLS" : "STARTTLS";
    public bool IsSecure => _pipes.IsSecure;
    public bool CanStartTls => !_pipes.IsSecure;
    public string? StreamNamespace => _reader.StreamDefaultNamespace;
    public string? DefaultNamespace => Ns.Client;
    public long LastReceived { get; private set; } = Environment.TickCount64;
    public IReadOnlyList<string> ChannelBindingTypes => _pipes.ChannelBindingTypes();
    public CancellationToken Closed => _connection.ConnectionClosed;

    public byte[]? ChannelBinding(string type) => _pipes.ChannelBinding(type);

    private async Task StartTlsAsync(string? streamDomain)
    {
        await _pipes.StartTlsAsync(_certificates, streamDomain, Closed).ConfigureAwait(false);
        _metrics.TlsHandshakeCompleted(_pipes.TlsResumed);
    }

    public async ValueTask OpenAsync()
    {
        if (_directTls)
        {
            await StartTlsAsync(streamDomain: null).ConfigureAwait(false);
        }
    }

    public async Task ReadAsync(IStreamHandler handler)
    {
        while (true)
        {
            var input = _pipes.Input;
            var result = await input.ReadAsync(Closed).ConfigureAwait(false);
            LastReceived = Environment.TickCount64;
            var buffer = result.Buffer;
            var next = StreamAction.Continue;
            try
            {
                while (next == StreamAction.Continue && _reader.TryRead(ref buffer, out var ev))
                {
                    next = await handler.HandleAsync(ev).ConfigureAwait(false);
                    if (next == StreamAction.Restart)
                    {
                        // The new stream's header may already be in this buffer.
                        _reader.Reset();
                        next = StreamAction.Continue;
                    }
                }
                if (next == StreamAction.StartTls)
                {
                    // Whitespace after <starttls/> ("<starttls/>\n" from go-xmpp) is allowed between elements (RFC 6120 §11.7):
                    // consumed here, so that it does not reach the TLS handshake.
                    var whitespace = new SequenceReader<byte>(buffer);
                    whitespace.AdvancePastAny((byte)' ', (byte)'\t', (byte)'\r', (byte)'\n');
                    buffer = buffer.Slice(whitespace.Position);
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            switch (next)
            {
                case StreamAction.StartTls:
                    if (!buffer.IsEmpty)
                    {
                        // Plain text pipelined after <starttls/> would be processed as if it came over TLS (CVE-2011-0411 style).
                        throw new XmlStreamException(XmlStreamError.PolicyViolation, "Data was sent after <starttls/> before the TLS handshake.");
                    }
                    await StartTlsAsync(handler.Domain).ConfigureAwait(false);
                    _reader.Reset();
                    continue;
                case StreamAction.Stop:
                    return;
            }
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public void WriteStreamHeader(string id, string from) =>
        _pipes.Output.Write(Encoding.UTF8.GetBytes(
            $"<?xml version='1.0'?><stream:stream xmlns='{Ns.Client}' xmlns:stream='{Ns.Streams}' id='{id}' from='{from}' version='1.0' xml:lang='en'>"));

    public void Write(Element element) => element.WriteTo(_pipes.Output, DefaultNamespace);

    public void Write(ReadOnlySpan<byte> element) => _pipes.Output.Write(element);

    public void WriteStreamClose() => _pipes.Output.Write(StreamClose);

    public void WriteKeepalive() => _pipes.Output.Write(Space);

    public async ValueTask<bool> FlushAsync()
    {
        var flushed = await _pipes.Output.FlushAsync(Closed).ConfigureAwait(false);
        return !flushed.IsCompleted && !flushed.IsCanceled;
    }

    public ValueTask CloseOutputAsync() => _pipes.CloseOutputAsync();

    public void Abort() => _connection.Abort(new ConnectionAbortedException("Closed by the server."));

    public ValueTask DisposeAsync() => _pipes.DisposeAsync();
}
