using System.Data.Common;
using Npgsql;

namespace Parley.Storage.Postgres;

/// <summary>How a node's connection string is read: the operator's settings, and two of Parley's own.</summary>
public static class PostgresConnectionSettings
{
    private const int DefaultHostRecheckSeconds = 1;

    /// <exception cref="ArgumentException">The connection string does not parse.</exception>
    public static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        try
        {
            var settings = new NpgsqlConnectionStringBuilder(connectionString)
            {
                // Parley leaves no session state on a pooled connection (no SET, session locks are released, the one
                // temporary table is dropped), so the reset Npgsql otherwise runs on every reuse is pure cost: with several
                // storage operations per message it was most of the statements PostgreSQL ran under chat load.
                NoResetOnClose = true,
            };
            if (!Names(connectionString, "Host Recheck Seconds", "HostRecheckSeconds"))
            {
                // Npgsql remembers for this long that a host was down or a standby: with its default of 10 s a node given a
                // primary and its standby found no primary for up to 10 s after the standby was promoted, and every storage
                // operation meanwhile failed. A second is short enough to follow a promotion and costs a check per second.
                settings.HostRecheckSeconds = DefaultHostRecheckSeconds;
            }
            return settings;
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The PostgreSQL connection string does not parse: {e.Message}", nameof(connectionString), e);
        }
    }

    private static bool Names(string connectionString, params string[] keys)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return keys.Any(key => given.ContainsKey(key));
    }
}
