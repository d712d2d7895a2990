namespace Parley.Cli;

/// <summary>What <c>parley</c> exits with; scripts rely on these.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The operation failed: no such account, it exists already, storage could not be used.</summary>
    public const int Failed = 1;

    /// <summary>The command line or the configuration is wrong.</summary>
    public const int Usage = 2;
}

/// <summary>An error to report as "parley: message" and exit with <see cref="ExitCode"/>.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
