using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Parley.LoadGen;

/// <summary>
/// A running node of a cluster on this machine, as scripts/cluster.sh started it: its name and PID from the DIR/pids
/// file, its client port and the rest of its command line from /proc, so that it can be killed and started again
/// exactly as it was.
/// </summary>
internal sealed class ClusterNode
{
    private readonly string[] _commandLine;
    private readonly string _workingDirectory;
    private readonly string _log;

    private ClusterNode(string name, int pid, string[] commandLine, string workingDirectory, string log)
    {
        Name = name;
        Pid = pid;
        _commandLine = commandLine;
        _workingDirectory = workingDirectory;
        _log = log;
        var bind = Option("--bind") ?? "127.0.0.1";
        var port = Option("--c2s-port") is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and < 65536
            ? number
            : throw new UsageException($"Node {name} (pid {pid}) has no --c2s-port on its command line: its clients' port is unknown.");
        Clients = new IPEndPoint(ClientPool.LoopbackAddress(bind), port);
    }

    public string Name { get; }
    public int Pid { get; private set; }

    /// <summary>Where its clients connect (--bind and --c2s-port).</summary>
    public IPEndPoint Clients { get; }

    public NodeProcess Process() => new(Pid);

    /// <summary>The nodes listed in DIR/pids by <c>scripts/cluster.sh start N DIR</c>, in its order (PostgreSQL and nats-server left out).</summary>
    public static IReadOnlyList<ClusterNode> FromDirectory(string directory)
    {
        var pids = Path.Combine(directory, "pids");
        if (!File.Exists(pids))
        {
            throw new UsageException($"{directory} holds no cluster started by scripts/cluster.sh (no {pids}).");
        }
        var nodes = new List<ClusterNode>();
        foreach (var line in File.ReadLines(pids))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 2 || fields[0] is "postgres" or "nats")
            {
                continue;
            }
            var pid = int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw new UsageException($"{pids}: '{line}' does not end with a process id.");
            nodes.Add(Read(fields[0], pid));
        }
        return nodes.Count > 0 ? nodes : throw new UsageException($"{pids} lists no node.");
    }

    /// <summary>SIGKILL: the node gets no chance to give its lease up or tell its peer.</summary>
    public void Kill()
    {
        using var process = System.Diagnostics.Process.GetProcessById(Pid);
        process.Kill();
        process.WaitForExit();
    }

    /// <summary>
    /// Starts the node again with the command line, working directory and log it had, in a session of its own (so
    /// that it outlives this generator and a Ctrl+C here does not reach it), and writes its new PID into DIR/pids
    /// in place of the old one, so that <c>scripts/cluster.sh stop DIR</c> stops it.
    /// </summary>
    public void Restart(string directory)
    {
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = _workingDirectory, UseShellExecute = false };
        // setsid execs (the generator's child is no group leader), and so does the shell: the PID is the node's.
        foreach (var argument in (string[])["sh", "-c", "log=$1; shift; exec \"$@\" >> \"$log\" 2>&1 < /dev/null", "sh", _log, .. _commandLine])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"setsid did not start node {Name}.");
        var oldPid = Pid;
        Pid = process.Id;
        var pids = Path.Combine(directory, "pids");
        var lines = File.ReadAllLines(pids).Select(line => line == $"{Name} {oldPid}" ? $"{Name} {Pid}" : line).ToArray();
        File.WriteAllLines(pids + ".new", lines);
        File.Move(pids + ".new", pids, overwrite: true);
    }

    private static ClusterNode Read(string name, int pid)
    {
        var proc = $"/proc/{pid}";
        if (!Directory.Exists(proc))
        {
            throw new UsageException($"Node {name}: there is no process {pid}; is the cluster running?");
        }
        var commandLine = File.ReadAllText($"{proc}/cmdline").TrimEnd('\0').Split('\0');
        var workingDirectory = new DirectoryInfo($"{proc}/cwd").LinkTarget ?? "/";
        // Its standard output (scripts/cluster.sh: DIR/NAME.log) takes what it logs after a restart too.
        var output = new FileInfo($"{proc}/fd/1").LinkTarget;
        var log = output is not null && File.Exists(output) ? output : Path.Combine(workingDirectory, $"{name}.log");
        return new ClusterNode(name, pid, commandLine, workingDirectory, log);
    }

    private string? Option(string name)
    {
        var at = Array.IndexOf(_commandLine, name);
        return at >= 0 && at + 1 < _commandLine.Length ? _commandLine[at + 1] : null;
    }
}
