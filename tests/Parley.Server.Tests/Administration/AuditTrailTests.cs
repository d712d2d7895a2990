using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Administration;
using Parley.Server.Hosting;
using Parley.Server.Tests.Support;

namespace Parley.Server.Tests.Administration;

/// <summary>How long the node keeps audit records, and what the configuration may say about admins and the trail.</summary>
public sealed class AuditTrailTests
{
    [Fact]
    public async Task Records_older_than_the_retention_are_deleted_and_newer_ones_kept()
    {
        await using var node = await TestNode.StartAsync(options => options.Audit.RetentionDays = 30);
        var audit = node.App.Node.Storage.Audit;
        await audit.AppendAsync("root", "cli", AuditActions.AccountCreate, "alice@localhost", "");
        var retention = node.App.Web.Services.GetRequiredService<AuditRetentionService>();

        Assert.Equal(0, await retention.DeleteExpiredAsync(DateTimeOffset.UtcNow.AddDays(29)));
        Assert.Single(await audit.ListAsync(null, null, 10));
        Assert.Equal(1, await retention.DeleteExpiredAsync(DateTimeOffset.UtcNow.AddDays(31)));
        Assert.Empty(await audit.ListAsync(null, null, 10));
    }

    [Fact]
    public async Task A_retention_of_0_keeps_records_forever()
    {
        await using var node = await TestNode.StartAsync(options => options.Audit.RetentionDays = 0);
        await node.App.Node.Storage.Audit.AppendAsync("root", "cli", AuditActions.AccountCreate, "alice@localhost", "");

        Assert.Equal(0, await node.App.Web.Services.GetRequiredService<AuditRetentionService>().DeleteExpiredAsync(DateTimeOffset.UtcNow.AddYears(100)));
        Assert.Single(await node.App.Node.Storage.Audit.ListAsync(null, null, 10));
    }

    [Fact]
    public void Bad_admins_and_a_negative_retention_are_configuration_problems_that_name_the_key()
    {
        var options = new ParleyOptions { Admins = ["boss@localhost", "localhost", "boss@localhost/phone", "not a jid"] };
        options.Audit.RetentionDays = -1;

        var problems = ConfigurationCheck.Problems(options);

        Assert.Equal(
            [
                "Parley:Admins: 'localhost' is not an account's bare JID such as admin@localhost.",
                "Parley:Admins: 'boss@localhost/phone' is not an account's bare JID such as admin@localhost.",
                "Parley:Admins: 'not a jid' is not an account's bare JID such as admin@localhost.",
                "Parley:Audit:RetentionDays: must be 0 (keep forever) or more.",
            ],
            problems.Where(p => p.Contains("Admins") || p.Contains("Audit")));
    }
}
