namespace Parley.Protocol.Sasl;

/// <summary>
/// The channel binding data of the current TLS connection for a type ("tls-exporter",
/// "tls-server-end-point"); null when the connection cannot provide that type.
/// </summary>
public delegate byte[]? ChannelBindingProvider(string cbType);
