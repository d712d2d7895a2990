using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Parley.Ldap;
using Parley.Ldap.Tests.Support;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;

namespace Parley.Benchmarks;

/// <summary>
/// <c>directory</c>: the directory sync, a directory sign-in and a contact search against a throwaway slapd (as the
/// tests start it) holding N generated people in groups of G, loaded with one slapadd of a generated LDIF. For each
/// sync — full (every account new), incremental with nothing changed, incremental after 1% of the people changed
/// and 0.1% left and 0.1% joined (one ldapmodify) — wall and CPU time, bytes allocated, peak working set and the
/// LDAP operations sent; for sign-ins (the directory's part: find the person with the service account, bind as
/// them) and searches (the free-text filter of XEP-0055 search) latency, this process's CPU and LDAP operations
/// each. The node's storage is SQLite in a fresh data directory. Wall-clock figures: run it on a quiet machine.
/// </summary>
internal static class DirectorySyncBenchmark
{
    private const string Domain = "example.test";

    public static async Task RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        Console.WriteLine($"directory: {options.People:N0} people in groups of {options.GroupSize}; {options.SignIns} sign-ins, {options.Searches} searches");

        var clock = Stopwatch.StartNew();
        await using var slapd = await TestDirectory.StartAsync(moreLdif: PeopleLdif(options.People, options.GroupSize));
        Console.WriteLine($"slapd filled (slapadd) and started: {clock.Elapsed.TotalSeconds:F1} s");
        if (options.ServeSeconds > 0)
        {
            await ServeAsync(slapd, options.ServeSeconds);
            return;
        }

        var dataDir = Directory.CreateTempSubdirectory("parley-directory-bench-").FullName;
        try
        {
            var node = new ParleyOptions { Domains = [Domain], DataDir = dataDir };
            var directoryOptions = node.Module<DirectoryModuleOptions>();
            slapd.Configure(directoryOptions);
            directoryOptions.GroupFilter = "(cn=Team *)";
            directoryOptions.TimeoutSeconds = 600;
            await using var storage = await ParleyHost.OpenStorageAsync(node);
            var directory = new LdapDirectory(directoryOptions);
            var sync = new DirectorySync(directory, directoryOptions, storage, AdministrationServices.WithoutNode(storage, node), Domain, TimeProvider.System);

            await MeasureSyncAsync("full sync", directory, sync);
            await MeasureSyncAsync("incremental sync, nothing changed", directory, sync);
            await slapd.ModifyAsync(ChangesLdif(options.People));
            await MeasureSyncAsync("incremental sync, 1% changed, 0.1% left, 0.1% joined", directory, sync);

            await MeasureEachAsync($"directory sign-in (find + bind) among {options.People:N0}", directory, options.SignIns, async () =>
            {
                var n = Random.Shared.Next(options.People);
                // ChangesLdif deleted every thousandth person from the 50th: the one after signs in instead.
                n += n % 1000 == 50 ? 1 : 0;
                var person = await directory.FindUserAsync($"user{n}") ?? throw new InvalidOperationException($"user{n} is not in the directory");
                if (!await directory.CheckPasswordAsync(person.Dn, $"pw{n}"))
                {
                    throw new InvalidOperationException($"user{n}'s password was refused");
                }
            });
            await MeasureEachAsync($"contact search among {options.People:N0} (free text, limit {directoryOptions.SearchResultLimit})", directory, options.Searches, async () =>
            {
                var filter = ContactSearchService.DirectoryFilter(directoryOptions, [new("search", $"Family{Random.Shared.Next(options.People / 10)}")]);
                if ((await directory.SearchUsersAsync(filter, directoryOptions.SearchResultLimit)).Count == 0)
                {
                    throw new InvalidOperationException($"the search {filter} found no one");
                }
            });
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>People user0…user{N−1} (password pwN) and groups "Team g" of <paramref name="groupSize"/> of them each.</summary>
    private static string PeopleLdif(int people, int groupSize)
    {
        var ldif = new StringBuilder();
        for (var i = 0; i < people; i++)
        {
            ldif.Append(TestDirectory.PersonLdif(Person(i))).Append('\n');
        }
        for (var g = 0; g * groupSize < people; g++)
        {
            var members = Enumerable.Range(g * groupSize, Math.Min(groupSize, people - g * groupSize)).Select(i => Person(i).Dn).ToArray();
            ldif.Append(TestDirectory.GroupLdif($"cn=Team {g},{TestDirectory.GroupBase}", $"Team {g}", members)).Append('\n');
        }
        return ldif.ToString();
    }

    /// <summary>A new title for every 100th person, every 1,000th (from the 50th) gone, as many newcomers.</summary>
    private static string ChangesLdif(int people)
    {
        var ldif = new StringBuilder();
        for (var i = 0; i < people; i += 100)
        {
            ldif.Append($"dn: {Person(i).Dn}\nchangetype: modify\nreplace: title\ntitle: Senior Engineer\n\n");
        }
        for (var i = 50; i < people; i += 1000)
        {
            ldif.Append($"dn: {Person(i).Dn}\nchangetype: delete\n\n");
            ldif.Append(TestDirectory.PersonLdif(Person(people + i), "changetype: add\n")).Append('\n');
        }
        return ldif.ToString();
    }

    private static Person Person(int i) =>
        new($"user{i}", $"uid=user{i},{TestDirectory.PeopleBase}", $"pw{i}", $"Given{i}", $"Family{i}", $"user{i}@{Domain}", $"Dept{i % 100}");

    private static async Task MeasureSyncAsync(string what, LdapDirectory directory, DirectorySync sync)
    {
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var (binds, searches) = directory.OperationsSent;
        var clock = Stopwatch.StartNew();
        var summary = await sync.RunAsync();
        clock.Stop();
        using var process = Process.GetCurrentProcess();
        var after = directory.OperationsSent;
        Console.WriteLine($"{what}: {clock.Elapsed.TotalSeconds:F1} s wall, {(process.TotalProcessorTime - cpuBefore).TotalSeconds:F1} s CPU, "
            + $"{(GC.GetTotalAllocatedBytes() - allocatedBefore) / 1048576} MiB allocated, peak working set {process.PeakWorkingSet64 / 1048576} MiB, "
            + $"LDAP: {after.Binds - binds} binds, {after.Searches - searches} searches");
        Console.WriteLine($"  {summary.ToString().Split(Environment.NewLine)[0]}");
        if (summary.Failure is not null)
        {
            throw new InvalidOperationException(summary.Failure);
        }
    }

    private static async Task MeasureEachAsync(string what, LdapDirectory directory, int times, Func<Task> once)
    {
        var milliseconds = new List<double>(times);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var (binds, searches) = directory.OperationsSent;
        for (var i = 0; i < times; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await once();
            milliseconds.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        using var process = Process.GetCurrentProcess();
        var after = directory.OperationsSent;
        milliseconds.Sort();
        Console.WriteLine($"{what}, ms: median {milliseconds[times / 2]:F2}, p95 {milliseconds[(int)(times * 0.95)]:F2}, max {milliseconds[^1]:F2}; "
            + $"this process's CPU {(process.TotalProcessorTime - cpuBefore).TotalMilliseconds / times:F2} ms each; "
            + $"LDAP each: {(double)(after.Binds - binds) / times:F1} binds, {(double)(after.Searches - searches) / times:F1} searches");
    }

    /// <summary>The command line: <c>directory [--people N] [--group-size G] [--sign-ins S] [--searches Q]</c>.</summary>
    /// <summary>
    /// Holds the filled directory for a node started by hand (`parley serve` with these variables) and a load
    /// generator signing its people in through the node, then stops it.
    /// </summary>
    private static async Task ServeAsync(TestDirectory slapd, int seconds)
    {
        var options = new DirectoryModuleOptions();
        slapd.Configure(options);
        Console.WriteLine("# the node's directory configuration, as environment variables:");
        Console.WriteLine($"export PARLEY__DIRECTORY__SERVERS__0={options.Servers[0]} PARLEY__DIRECTORY__TLS={options.Tls} PARLEY__DIRECTORY__PRESET=openldap");
        Console.WriteLine($"export PARLEY__DIRECTORY__BINDDN='{options.BindDn}' PARLEY__DIRECTORY__BINDPASSWORD='{options.BindPassword}'");
        Console.WriteLine($"export PARLEY__DIRECTORY__USERBASE='{options.UserBase}' PARLEY__DIRECTORY__GROUPBASE='{options.GroupBase}' PARLEY__DIRECTORY__GROUPFILTER='(cn=Team *)'");
        Console.WriteLine($"# people user0… with the passwords pw0…, domain {Domain}; the directory stops in {seconds} s, or at SIGTERM or Ctrl+C");
        // Stopped early, the process still stops slapd by its PID on the way out.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed record Options(int People, int GroupSize, int SignIns, int Searches, int ServeSeconds)
    {
        public static Options Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                values[args[i]] = args[i + 1];
            }

            int Number(string name, int fallback) => values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
            return new Options(Number("--people", 25_000), Number("--group-size", 50), Number("--sign-ins", 200), Number("--searches", 50),
                Number("--serve-seconds", 0));
        }
    }
}
