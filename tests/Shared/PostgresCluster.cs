using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;

namespace Parley.Tests.Shared;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: its own data directory, on 127.0.0.1 on a free port, stopped by its
/// postmaster's PID. <see cref="Shared"/> is started once per test process and stopped when the process ends; a test
/// that stops or restarts PostgreSQL starts a cluster of its own. PostgreSQL missing is a failure, never a skip.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>The superuser's password; the cluster checks passwords on TCP (scram-sha-256), so a wrong one is refused.</summary>
    public const string Password = "parley-test";

    private const int SigInt = 2;
    private const int NoSuchProcess = 3; // ESRCH
    private const string FolderPrefix = "parley-pg-";

    // The test process that made a folder; the folder is abandoned once that process is gone.
    private const string OwnerFile = "owner";

    // Folders from before the owner file: abandoned when no server runs in them and its log has been quiet this long
    // (a test that restarts its server writes the log at each stop and start).
    private static readonly TimeSpan UnownedFolderQuiet = TimeSpan.FromMinutes(15);
    private static readonly Lazy<Task<PostgresCluster>> s_shared = new(StartSharedAsync);
    private static int s_databases;

    private readonly string _folder;
    private readonly string _bin;

    private PostgresCluster(string folder, string bin, int port)
    {
        _folder = folder;
        _bin = bin;
        Port = port;
    }

    public int Port { get; private set; }

    public string DataDirectory => Path.Combine(_folder, "data");

    /// <summary>The cluster every test of this process shares; each test class makes its own database in it.</summary>
    public static Task<PostgresCluster> Shared => s_shared.Value;

    /// <summary>A connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database, string password = Password) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Password = password,
            Database = database,

            // A test that restarts the cluster must not find broken connections in the pool afterwards.
            Pooling = true,
            Timeout = 5,
        }.ConnectionString;

    /// <summary>Creates a new, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "parley")
    {
        var name = $"{prefix}_{Environment.ProcessId}_{Interlocked.Increment(ref s_databases)}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Starts a new cluster (initdb, then the server) and waits until it accepts connections.</summary>
    public static async Task<PostgresCluster> StartAsync()
    {
        var bin = FindBinaries();
        RemoveAbandonedFolders();
        var folder = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        // initdb and the server run as user postgres, who must reach the data directory.
        SetMode(folder, (UnixFileMode)0b111_101_101);
        var cluster = new PostgresCluster(folder, bin, LoopbackPort.Free());
        try
        {
            var passwordFile = Path.Combine(folder, "password");
            await File.WriteAllTextAsync(passwordFile, Password);
            SetMode(passwordFile, (UnixFileMode)0b110_100_100);
            Directory.CreateDirectory(cluster.DataDirectory);
            SetMode(cluster.DataDirectory, (UnixFileMode)0b111_000_000);
            ChownToPostgres(cluster.DataDirectory);
            await cluster.RunAsync("initdb", "-D", cluster.DataDirectory, "-U", "postgres", "--pwfile", passwordFile,
                "--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale", "C.UTF-8");
            await cluster.StartServerAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A streaming-replication standby of this server (pg_basebackup -R: a copy of its data that follows its
    /// write-ahead log), started on a port of its own; <see cref="PromoteAsync"/> makes it the primary.
    /// </summary>
    public async Task<PostgresCluster> StartStandbyAsync()
    {
        var folder = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        SetMode(folder, (UnixFileMode)0b111_101_101);
        var standby = new PostgresCluster(folder, _bin, LoopbackPort.Free());
        try
        {
            Directory.CreateDirectory(standby.DataDirectory);
            SetMode(standby.DataDirectory, (UnixFileMode)0b111_000_000);
            ChownToPostgres(standby.DataDirectory);
            await standby.RunAsync("pg_basebackup", "-d", $"host=127.0.0.1 port={Port} user=postgres password={Password}",
                "-D", standby.DataDirectory, "-R", "-X", "stream", "-c", "fast", "--no-sync");
            await standby.StartServerAsync();
            return standby;
        }
        catch
        {
            await standby.DisposeAsync();
            throw;
        }
    }

    /// <summary>Makes this standby the primary (pg_ctl promote) and waits until it accepts writes.</summary>
    public Task PromoteAsync() => RunAsync("pg_ctl", "-D", DataDirectory, "-w", "-t", "30", "promote");

    /// <summary>Starts the stopped server again, on the same port.</summary>
    public Task StartServerAsync() => RunAsync("pg_ctl", "-D", DataDirectory, "-w", "-t", "30", "-l", Path.Combine(DataDirectory, "server.log"), "-o",
        $"-c listen_addresses=127.0.0.1 -p {Port} -k {DataDirectory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        "start");

    /// <summary>Stops the server with a fast shutdown (SIGINT to the postmaster) and waits until it is gone.</summary>
    public async Task StopServerAsync()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        var pid = int.Parse(File.ReadLines(pidFile).First());
        if (kill(pid, SigInt) != 0)
        {
            return;
        }

        var deadline = Environment.TickCount64 + 30_000;
        while (File.Exists(pidFile) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        NpgsqlConnection.ClearAllPools();
        // The postmaster's last children may still write their files for a moment after it removed postmaster.pid.
        var deadline = Environment.TickCount64 + 10_000;
        while (!TryDelete(_folder) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Asks the server to stop and leaves the deletion of its folder to a process of its own that waits for the server
    /// to be gone: the test host is ended soon after its exit handlers start, often before PostgreSQL's shutdown
    /// checkpoint is written, let alone a data directory of 40 MB deleted. A folder left all the same is deleted by the
    /// next run (<see cref="RemoveAbandonedFolders"/>).
    /// </summary>
    private void StopAndLeaveForRemoval()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        var waitForServer = "";
        if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture, out var pid) && pid > 0)
        {
            kill(pid, SigInt);
            // tail --pid returns when the postmaster has exited.
            waitForServer = string.Create(CultureInfo.InvariantCulture, $"tail --pid={pid} -f /dev/null; ");
        }

        // setsid -f: the remover is nobody's child, so ending the test host's process tree does not end it.
        using var remove = Process.Start(new ProcessStartInfo("setsid",
            ["-f", "sh", "-c", waitForServer + "rm -rf \"$1\"", "parley-pg-cleanup", _folder]) { UseShellExecute = false });
    }

    /// <summary>
    /// Deletes the folders of clusters whose test process is gone. The test host may be ended while its exit handler
    /// still deletes the shared cluster's folder; the next run finishes the job.
    /// </summary>
    private static void RemoveAbandonedFolders()
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            var owner = Path.Combine(folder, OwnerFile);
            var abandoned = File.Exists(owner)
                ? int.TryParse(File.ReadAllText(owner), CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid)
                : !ServerRunsIn(Path.Combine(folder, "data")) && DateTime.UtcNow - LastWriteOf(folder) > UnownedFolderQuiet;
            if (abandoned)
            {
                TryDelete(folder);
            }
        }
    }

    private static DateTime LastWriteOf(string folder)
    {
        var log = Path.Combine(folder, "data", "server.log");
        var folderWritten = Directory.GetLastWriteTimeUtc(folder);
        return File.Exists(log) && File.GetLastWriteTimeUtc(log) > folderWritten ? File.GetLastWriteTimeUtc(log) : folderWritten;
    }

    private static bool ServerRunsIn(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        try
        {
            return File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture, out var pid) && IsRunning(pid);
        }
        catch (IOException)
        {
            return true;
        }
    }

    // Signal 0 checks that the process exists without signalling it.
    private static bool IsRunning(int pid) => kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() != NoSuchProcess;

    private static bool TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task<PostgresCluster> StartSharedAsync()
    {
        var cluster = await StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.StopAndLeaveForRemoval();
        return cluster;
    }

    private static string FindBinaries()
    {
        var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        var bin = versions.Select(version => Path.Combine(version, "bin")).Where(dir => File.Exists(Path.Combine(dir, "initdb"))).Order().LastOrDefault();
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). The PostgreSQL tests need it: run scripts/test.sh, " +
            "which installs Debian's postgresql package, or apt-get install postgresql.");
    }


    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static bool IsRoot => geteuid() == 0;

    private static void ChownToPostgres(string path)
    {
        if (IsRoot)
        {
            using var chown = Process.Start("chown", ["postgres:postgres", path]);
            chown.WaitForExit();
        }
    }

    /// <summary>Runs a PostgreSQL program (as user postgres when the tests run as root, which initdb refuses).</summary>
    private async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (IsRoot)
        {
            start.FileName = "runuser";
            foreach (var argument in (string[])["-u", "postgres", "--", Path.Combine(_bin, program), .. arguments])
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = Path.Combine(_bin, program);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            var log = Path.Combine(DataDirectory, "server.log");
            throw new InvalidOperationException(
                $"{program} failed with exit code {process.ExitCode}: {await output}{await error}{(File.Exists(log) ? File.ReadAllText(log) : "")}");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc")]
    private static extern uint geteuid();
}
