using System.Diagnostics;
using System.Text;

namespace Parley.Interop.Tests.Support;

/// <summary>A child process whose output is captured; stopped by its own PID, never by name.</summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    private ExternalProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>Sends SIGTERM to this process (by its PID), as a service manager stops it.</summary>
    public void Terminate()
    {
        if (kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>True if the process exited within <paramref name="deadline"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process printed a line containing <paramref name="text"/>, or fails at the deadline.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (HasExited)
            {
                // Its last lines may still have been on their way through the pipe: the wait reads them to the end.
                await _process.WaitForExitAsync();
                if (Output.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
                // A code above 128 is 128 + the signal that ended it.
                throw new TimeoutException($"'{text}' was not printed: the process exited with code {_process.ExitCode}. Output:\n{Output}");
            }
            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"'{text}' was not printed. Output:\n{Output}");
            }
            await Task.Delay(20);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <param name="environment">Variables set for the child on top of this process's own.</param>
    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var started = new ExternalProcess(process);
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
        }
        process.StandardInput.Close();
        return started;
    }

    /// <summary>Runs to completion within the deadline; returns the exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan deadline, string? standardInput = null)
    {
        await using var process = Start(fileName, arguments, standardInput);
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await process._process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {deadline}. Output:\n{process.Output}");
        }
        return (process._process.ExitCode, process.Output);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>Kills the process (SIGKILL) unless it has exited; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
