using System.Diagnostics;
using System.Text;
using Parley.Ldap;
using Parley.Ldap.Tests.Support;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;
using Parley.Storage;

// Directory sync, sign-in and contact search against a throwaway slapd filled with generated people.
// Usage: parley-directorybench [PEOPLE] [GROUP_SIZE]   (defaults 25000 and 50; run it on a quiet machine)
var people = args.Length > 0 ? int.Parse(args[0]) : 25_000;
var groupSize = args.Length > 1 ? int.Parse(args[1]) : 50;

Console.WriteLine($"generating {people} people in groups of {groupSize} ...");
var ldif = new StringBuilder();
for (var i = 0; i < people; i++)
{
    ldif.Append(TestDirectory.PersonLdif(new Person($"user{i}", $"uid=user{i},{TestDirectory.PeopleBase}", $"pw{i}", $"Given{i}", $"Family{i}", $"user{i}@example.test", $"Dept{i % 100}"))).Append('\n');
}
for (var g = 0; g * groupSize < people; g++)
{
    var members = Enumerable.Range(g * groupSize, Math.Min(groupSize, people - g * groupSize)).Select(i => $"uid=user{i},{TestDirectory.PeopleBase}").ToArray();
    ldif.Append(TestDirectory.GroupLdif($"cn=Team {g},{TestDirectory.GroupBase}", $"Team {g}", members)).Append('\n');
}
var clock = Stopwatch.StartNew();
await using var slapd = await TestDirectory.StartAsync(moreLdif: ldif.ToString());
Console.WriteLine($"slapd loaded and started in {clock.Elapsed.TotalSeconds:F1} s");

var dataDir = Directory.CreateTempSubdirectory("parley-directorybench-").FullName;
try
{
    var node = new ParleyOptions { Domains = ["example.test"], DataDir = dataDir };
    var options = node.Module<DirectoryModuleOptions>();
    options.Servers = [slapd.Url];
    options.Tls = "none";
    options.BindDn = TestDirectory.ServiceDn;
    options.BindPassword = TestDirectory.ServicePassword;
    options.UserBase = TestDirectory.PeopleBase;
    options.GroupBase = TestDirectory.GroupBase;
    options.GroupFilter = "(cn=Team *)";
    options.TimeoutSeconds = 120;
    await using var storage = await ParleyHost.OpenStorageAsync(node);
    var directory = new LdapDirectory(options);
    var sync = new DirectorySync(directory, options, storage, AdministrationServices.WithoutNode(storage, node), "example.test", TimeProvider.System);

    await Measure("full sync", () => sync.RunAsync());
    await Measure("incremental sync (nothing changed)", () => sync.RunAsync());

    var signIns = new List<double>();
    for (var i = 0; i < 200; i++)
    {
        var n = Random.Shared.Next(people);
        var start = Stopwatch.GetTimestamp();
        var person = await directory.FindUserAsync($"user{n}") ?? throw new InvalidOperationException($"user{n} not found");
        if (!await directory.CheckPasswordAsync(person.Dn, $"pw{n}"))
        {
            throw new InvalidOperationException($"user{n}'s password was refused");
        }
        signIns.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    Report("directory sign-in (find + bind), ms", signIns);

    var searches = new List<double>();
    for (var i = 0; i < 50; i++)
    {
        var start = Stopwatch.GetTimestamp();
        await directory.SearchUsersAsync($"(|(givenName=*{Random.Shared.Next(people)}*)(mail=*{Random.Shared.Next(people)}@*))", options.SearchResultLimit);
        searches.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    Report($"contact search among {people} (substring, limit {options.SearchResultLimit}), ms", searches);
}
finally
{
    Directory.Delete(dataDir, recursive: true);
}

static async Task Measure(string what, Func<Task<DirectorySyncSummary>> run)
{
    var allocatedBefore = GC.GetTotalAllocatedBytes();
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var summary = await run();
    clock.Stop();
    var process = Process.GetCurrentProcess();
    Console.WriteLine($"{what}: {clock.Elapsed.TotalSeconds:F1} s wall, {(process.TotalProcessorTime - cpuBefore).TotalSeconds:F1} s CPU, "
        + $"{(GC.GetTotalAllocatedBytes() - allocatedBefore) / 1048576} MiB allocated, peak working set {process.PeakWorkingSet64 / 1048576} MiB");
    Console.WriteLine($"  {summary.ToString().Split(Environment.NewLine)[0]}");
}

static void Report(string what, List<double> milliseconds)
{
    milliseconds.Sort();
    Console.WriteLine($"{what}: median {milliseconds[milliseconds.Count / 2]:F2}, p95 {milliseconds[(int)(milliseconds.Count * 0.95)]:F2}, max {milliseconds[^1]:F2}");
}
