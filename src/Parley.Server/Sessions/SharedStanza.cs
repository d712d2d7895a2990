using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Parley.Protocol;
using Parley.Xml;

namespace Parley.Server.Sessions;

/// <summary>
/// A stanza that is byte for byte the same for every recipient (a room's groupchat message, which
/// carries no 'to'): serialized once when shared, and each connection's writer copies those bytes
/// instead of serializing it again (DESIGN.md §6). A shared element must not change afterwards.
/// </summary>
public static class SharedStanza
{
    private static readonly ConditionalWeakTable<Element, byte[]> Serialized = new();

    public static Element Share(Element stanza)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        stanza.WriteTo(buffer, Ns.Client);
        Serialized.AddOrUpdate(stanza, buffer.WrittenSpan.ToArray());
        return stanza;
    }

    public static bool TryGetBytes(Element stanza, [NotNullWhen(true)] out byte[]? bytes) => Serialized.TryGetValue(stanza, out bytes);
}
