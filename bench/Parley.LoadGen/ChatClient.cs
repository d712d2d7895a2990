using Parley.Xml;

namespace Parley.LoadGen;

/// <summary>A logged-in session the chat load drives, whatever carries it (TCP, WebSocket).</summary>
internal interface IChatClient : IAsyncDisposable
{
    /// <summary>The full JID the server bound.</summary>
    string BoundJid { get; }

    /// <summary>Reads in the background from now on and hands each stanza to <paramref name="onElement"/>, one at a time per client.</summary>
    void StartReceiving(Action<Element> onElement);

    /// <summary>Sends one stanza from the open-loop schedule's thread, which must not wait for a continuation per send.</summary>
    void Send(ReadOnlySpan<byte> bytes);

    /// <summary>Ends the stream cleanly and waits for the server's end of it.</summary>
    Task CloseAsync(CancellationToken cancellationToken);
}
