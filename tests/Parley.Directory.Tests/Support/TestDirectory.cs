using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Parley.Tests.Shared;

namespace Parley.Ldap.Tests.Support;

/// <summary>
/// A throwaway OpenLDAP server (Debian's slapd) on 127.0.0.1 and a free port, with a generated directory:
/// people (one with a DN of commas, spaces and non-ASCII characters, one whose uid is no JID localpart),
/// a disabled person, groups with spaces in their names and a nested group, photos, and a service account
/// that is the only non-administrator allowed to read. Stopped by its PID. Shared by the test projects
/// that need a directory (linked into each).
/// </summary>
public sealed class TestDirectory : IAsyncDisposable
{
    public const string Suffix = "dc=example,dc=test";
    public const string RootDn = "cn=admin," + Suffix;
    public const string RootPassword = "root-secret";
    public const string ServiceDn = "cn=parley,ou=Services," + Suffix;
    public const string ServicePassword = "service-secret";
    public const string PeopleBase = "ou=People," + Suffix;
    public const string GroupBase = "ou=Groups," + Suffix;

    /// <summary>A tiny JPEG, the photo every person of the generated directory has (with its owner's uid appended, so photos differ).</summary>
    public static readonly byte[] Photo = Convert.FromBase64String(
        "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=");

    private readonly string _dir;
    private readonly Process _slapd;

    private TestDirectory(string dir, Process slapd, int port, int? ldapsPort)
    {
        _dir = dir;
        _slapd = slapd;
        Port = port;
        LdapsPort = ldapsPort;
    }

    public int Port { get; }
    public string Url => $"ldap://127.0.0.1:{Port}";

    /// <summary>Points <paramref name="options"/> at this directory as its service account, over plain LDAP (it is on this host).</summary>
    public void Configure(DirectoryOptions options)
    {
        options.Servers = [Url];
        options.Tls = "none";
        options.BindDn = ServiceDn;
        options.BindPassword = ServicePassword;
        options.UserBase = PeopleBase;
        options.GroupBase = GroupBase;
    }

    /// <summary>With TLS: the ldaps:// port (StartTLS is on <see cref="Port"/>).</summary>
    public int? LdapsPort { get; }
    public string LdapsUrl => $"ldaps://127.0.0.1:{LdapsPort}";

    /// <summary>With TLS: a folder holding only the CA certificate (PEM) that signed the server's certificate.</summary>
    public string CaDirectory => Path.Combine(_dir, "ca");

    /// <summary>The people of the generated directory: uid, DN, password.</summary>
    public static IReadOnlyList<Person> People { get; } =
    [
        new("alice", "uid=alice," + PeopleBase, "alice-pw", "Alice", "Archer", "alice@example.test", "Engineering"),
        new("bob", "uid=bob," + PeopleBase, "bob-pw", "Bob", "Baker", "bob@example.test", "Engineering"),
        new("carol", "uid=carol," + PeopleBase, "carol-pw", "Carol", "Cooper", "carol@example.test", "Sales"),
        // RFC 4514: the comma in the RDN value is escaped; spaces and non-ASCII characters are not.
        new("zoe", @"cn=Zoë Çelik\, Jr.," + PeopleBase, "zoe-pw", "Zoë", "Çelik", "zoe@example.test", "R&D (Tools)"),
        new("dave", "uid=dave," + PeopleBase, "dave-pw", "Dave", "Disabled", "dave@example.test", "Sales", Disabled: true),
        new("not a localpart@", "uid=badname," + PeopleBase, "bad-pw", "Bad", "Name", "bad@example.test", "Sales"),
    ];

    public static Person Person(string uid) => People.Single(p => p.Uid == uid);

    /// <summary>Engineering Team holds alice and the nested group Platform, R&amp;D, which holds zoe; Sales holds carol and dave.</summary>
    public const string EngineeringGroupDn = "cn=Engineering Team," + GroupBase;
    public const string PlatformGroupDn = @"cn=Platform\, R&D," + GroupBase;
    public const string SalesGroupDn = "cn=Sales," + GroupBase;

    /// <param name="tls">Also StartTLS and ldaps://, with a certificate for 127.0.0.1 from a CA generated for this directory.</param>
    /// <param name="moreLdif">More entries for the generated directory (a benchmark's thousands of people), loaded before slapd starts.</param>
    /// <param name="sizeLimit">Entries one search by the service account returns, as Active Directory's 1,000 or slapd's default 500.</param>
    /// <param name="pagedUnlimited">Whether paged searches (RFC 2696) may return everything despite <paramref name="sizeLimit"/>.</param>
    public static async Task<TestDirectory> StartAsync(bool tls = false, string? moreLdif = null, int sizeLimit = 500, bool pagedUnlimited = true)
    {
        var dir = Directory.CreateTempSubdirectory("parley-slapd-").FullName;
        var data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        var config = Path.Combine(dir, "slapd.conf");
        var tlsConfig = tls ? WriteCertificates(dir) : "";
        await File.WriteAllTextAsync(config, $"""
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            include /etc/ldap/schema/nis.schema
            pidfile {dir}/slapd.pid
            {tlsConfig}
            modulepath /usr/lib/ldap
            moduleload back_mdb
            database mdb
            maxsize 1073741824
            suffix "{Suffix}"
            rootdn "{RootDn}"
            rootpw {RootPassword}
            directory {data}
            limits dn.exact="{ServiceDn}" size.soft={sizeLimit} size.hard={sizeLimit} size.pr=500 size.prtotal={(pagedUnlimited ? "unlimited" : sizeLimit.ToString())}
            access to attrs=userPassword by self write by anonymous auth by * none
            access to * by dn.exact="{ServiceDn}" read by self read by * none
            """);
        var ldif = Path.Combine(dir, "directory.ldif");
        await File.WriteAllTextAsync(ldif, GeneratedLdif() + moreLdif, new UTF8Encoding(false));
        await RunAsync("/usr/sbin/slapadd", ["-f", config, "-l", ldif], null);

        var port = LoopbackPort.Free();
        int? ldapsPort = tls ? LoopbackPort.Free() : null;
        var urls = tls ? $"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldapsPort}/" : $"ldap://127.0.0.1:{port}/";
        var start = new ProcessStartInfo("/usr/sbin/slapd") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-f", config, "-h", urls, "-d", "0" })
        {
            start.ArgumentList.Add(arg);
        }
        var slapd = Process.Start(start)!;
        slapd.ErrorDataReceived += (_, _) => { };
        slapd.OutputDataReceived += (_, _) => { };
        slapd.BeginErrorReadLine();
        slapd.BeginOutputReadLine();
        var directory = new TestDirectory(dir, slapd, port, ldapsPort);
        await directory.WaitUntilListeningAsync(TimeSpan.FromSeconds(20));
        return directory;
    }

    /// <summary>A CA and a server certificate for 127.0.0.1 signed by it, as PEM files; returns slapd's TLS directives.</summary>
    private static string WriteCertificates(string dir)
    {
        using var caKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var caRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Parley Test Directory CA", caKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(
            System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyCertSign | System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
        using var serverKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var serverRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", serverKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
        Directory.CreateDirectory(Path.Combine(dir, "ca"));
        File.WriteAllText(Path.Combine(dir, "ca", "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        return $"""
            TLSCACertificateFile {dir}/ca/ca.pem
            TLSCertificateFile {dir}/server.pem
            TLSCertificateKeyFile {dir}/server.key
            """;
    }

    /// <summary>Applies an LDIF change (add, delete, modify) as the directory's administrator, as an HR system would.</summary>
    public Task ModifyAsync(string ldif) =>
        RunAsync("/usr/bin/ldapmodify", ["-x", "-H", Url, "-D", RootDn, "-w", RootPassword], ldif);

    /// <summary>Adds a person of inetOrgPerson under ou=People.</summary>
    public Task AddPersonAsync(Person person) => ModifyAsync(PersonLdif(person, "changetype: add\n"));

    public Task DeleteAsync(string dn) => ModifyAsync($"dn: {dn}\nchangetype: delete\n");

    public static string PersonLdif(Person p, string changeType = "")
    {
        var photo = Photo.Concat(Encoding.UTF8.GetBytes(p.Uid)).ToArray();
        var lines = new StringBuilder();
        lines.Append(Line("dn", p.Dn)).Append(changeType)
            .Append("objectClass: inetOrgPerson\n")
            .Append(Line("uid", p.Uid))
            .Append(Line("cn", p.Dn.StartsWith("cn=", StringComparison.Ordinal) ? CommonName(p.Dn) : $"{p.GivenName} {p.Surname}"))
            .Append(Line("displayName", $"{p.GivenName} {p.Surname}"))
            .Append(Line("givenName", p.GivenName))
            .Append(Line("sn", p.Surname))
            .Append(Line("mail", p.Mail))
            .Append(Line("telephoneNumber", "+1 555 0100"))
            .Append(Line("title", "Engineer"))
            .Append(Line("departmentNumber", p.Department))
            .Append(Line("userPassword", p.Password))
            .Append("jpegPhoto:: ").Append(Convert.ToBase64String(photo)).Append('\n');
        if (p.Disabled)
        {
            lines.Append("employeeType: disabled\n");
        }
        return lines.ToString();
    }

    /// <summary>The cn of a DN whose first RDN is cn=..., unescaped (the test DNs escape only commas).</summary>
    private static string CommonName(string dn)
    {
        var end = dn.IndexOf(",ou=", StringComparison.Ordinal);
        return dn[3..end].Replace(@"\,", ",", StringComparison.Ordinal);
    }

    private static string GeneratedLdif()
    {
        var ldif = new StringBuilder();
        ldif.Append($"dn: {Suffix}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n");
        foreach (var ou in new[] { "People", "Groups", "Services" })
        {
            ldif.Append($"dn: ou={ou},{Suffix}\nobjectClass: organizationalUnit\nou: {ou}\n\n");
        }
        ldif.Append($"dn: {ServiceDn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: parley\nuserPassword: {ServicePassword}\n\n");
        foreach (var person in People)
        {
            ldif.Append(PersonLdif(person)).Append('\n');
        }
        ldif.Append(GroupLdif(EngineeringGroupDn, "Engineering Team", Person("alice").Dn, PlatformGroupDn)).Append('\n');
        ldif.Append(GroupLdif(PlatformGroupDn, "Platform, R&D", Person("zoe").Dn, Person("bob").Dn)).Append('\n');
        ldif.Append(GroupLdif(SalesGroupDn, "Sales", Person("carol").Dn, Person("dave").Dn)).Append('\n');
        return ldif.ToString();
    }

    public static string GroupLdif(string dn, string cn, params string[] members)
    {
        var ldif = new StringBuilder(Line("dn", dn)).Append("objectClass: groupOfNames\n").Append(Line("cn", cn));
        foreach (var member in members)
        {
            ldif.Append(Line("member", member));
        }
        return ldif.ToString();
    }

    /// <summary>An LDIF line; values that are not plain ASCII go base64-encoded (RFC 2849).</summary>
    private static string Line(string attribute, string value) =>
        value.All(c => c is >= ' ' and < (char)127) && !value.StartsWith(' ') && !value.StartsWith(':') && !value.StartsWith('<')
            ? $"{attribute}: {value}\n"
            : $"{attribute}:: {Convert.ToBase64String(Encoding.UTF8.GetBytes(value))}\n";

    private async Task WaitUntilListeningAsync(TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            if (_slapd.HasExited)
            {
                throw new InvalidOperationException($"slapd exited with {_slapd.ExitCode} before it listened on {Port}.");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }
        }
    }

    private static async Task RunAsync(string program, string[] args, string? input)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = input is not null };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    /// <summary>An ldap:// URL on a loopback port that was free a moment ago: a directory server that is down.</summary>
    public static string UnreachableUrl() => $"ldap://127.0.0.1:{LoopbackPort.Free()}";

    /// <summary>
    /// A loopback port never given out before in this process: two directories started in parallel on one port would
    /// have the second test talk to the first one's slapd until it stops.
    /// </summary>

    public async ValueTask DisposeAsync()
    {
        if (!_slapd.HasExited)
        {
            _slapd.Kill();
            await _slapd.WaitForExitAsync();
        }
        _slapd.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

public sealed record Person(string Uid, string Dn, string Password, string GivenName, string Surname, string Mail, string Department, bool Disabled = false);
