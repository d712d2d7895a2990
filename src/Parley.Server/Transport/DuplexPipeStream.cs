using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Parley.Server.Transport;

/// <summary>
/// A <see cref="Stream"/> over Kestrel's connection pipes, so that an <see cref="System.Net.Security.SslStream"/>
/// can be layered on a connection that started in plain text (STARTTLS). A zero-byte read waits for
/// data without taking a buffer, which lets SslStream keep no buffer while the connection is idle.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe transport) : Stream
{
    private readonly PipeReader _input = transport.Input;
    private readonly PipeWriter _output = transport.Output;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    // Pooled state machines: SslStream reads and writes through here once or more per stanza.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        if (destination.IsEmpty)
        {
            _input.AdvanceTo(buffer.Start);
            return 0;
        }
        var count = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, count).CopyTo(destination.Span);
        _input.AdvanceTo(buffer.GetPosition(count));
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        await _output.WriteAsync(source, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken).AsTask();

    public override void Flush() => throw new NotSupportedException("Synchronous I/O is not used on connections.");
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous I/O is not used on connections.");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous I/O is not used on connections.");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
