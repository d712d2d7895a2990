using Parley.Server.Hosting;
using Parley.Server.Modules.Ldap;

namespace Parley.Server.Tests.Modules;

public sealed class DirectoryConfigurationTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void The_directory_keys_bind_from_the_file_including_the_server_list_and_the_attribute_mapping()
    {
        File.WriteAllText(_file, """
            { "Parley": { "Directory": {
                "Servers": ["ldaps://dc1.example.com", "ldaps://dc2.example.com"], "Tls": "ldaps", "Preset": "activedirectory",
                "BindDn": "CN=svc,DC=example,DC=com", "UserBase": "OU=Staff,DC=example,DC=com", "Attributes": { "Phone": "mobile" } } } }
            """);

        var directory = ParleyHost.BindOptions(ParleyHost.LoadConfiguration(_file)).Module<DirectoryModuleOptions>();

        Assert.Equal(["ldaps://dc1.example.com", "ldaps://dc2.example.com"], directory.Servers);
        Assert.Equal("sAMAccountName", directory.UserIdAttribute);
        Assert.Equal("thumbnailPhoto", directory.PhotoAttribute);
        Assert.Equal("(userAccountControl:1.2.840.113556.1.4.803:=2)", directory.EffectiveDisabledFilter);
        Assert.Equal("(&(objectCategory=person)(objectClass=user))", directory.EffectiveUserFilter);
        Assert.Equal("department", directory.DepartmentAttribute);
        Assert.Equal("mobile", directory.Attributes.Phone);
    }

    [Theory]
    [InlineData("""{ "Servers": ["ldap://dc1"], "BindDn": "cn=x" }""", "Directory:UserBase")]
    [InlineData("""{ "Servers": ["http://dc1"], "BindDn": "cn=x", "UserBase": "dc=x" }""", "is not an ldap:// or ldaps:// URL")]
    [InlineData("""{ "Tls": "yes" }""", "Directory:Tls must be starttls, ldaps or none")]
    [InlineData("""{ "JidScheme": "upn" }""", "Directory:JidScheme must be userid or mail")]
    [InlineData("""{ "Preset": "eDirectory" }""", "Directory:Preset must be openldap or activedirectory")]
    public void A_wrong_directory_setting_is_refused_naming_its_key(string section, string expected)
    {
        File.WriteAllText(_file, $$"""{ "Parley": { "Directory": {{section}} } }""");

        var error = Assert.Throws<ConfigurationException>(() => ParleyHost.BindOptions(ParleyHost.LoadConfiguration(_file)));

        Assert.Contains(expected, error.Message);
    }
}
