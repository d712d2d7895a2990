namespace Parley.Protocol;

/// <summary>Thrown when a string is not a valid JID; the message says which part is wrong and why.</summary>
public sealed class JidFormatException : FormatException
{
    public JidFormatException(string message)
        : base(message)
    {
    }
}
