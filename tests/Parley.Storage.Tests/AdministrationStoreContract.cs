namespace Parley.Storage.Tests;

/// <summary>What every <see cref="IAdminStore"/>, <see cref="IAuditStore"/> and <see cref="IServerSettingStore"/> must do.</summary>
public abstract class AdministrationStoreContract : StorageContract
{
    [Fact]
    public async Task Granting_and_revoking_the_admin_role_say_whether_they_changed_anything()
    {
        Assert.True(await Storage.Admins.GrantAsync("bob@example.org"));
        Assert.True(await Storage.Admins.GrantAsync("alice@example.org"));
        Assert.False(await Storage.Admins.GrantAsync("alice@example.org"));

        Assert.Equal(["alice@example.org", "bob@example.org"], await Storage.Admins.ListAsync());
        Assert.True(await Storage.Admins.IsAdminAsync("alice@example.org"));
        Assert.False(await Storage.Admins.IsAdminAsync("Alice@example.org"));

        Assert.True(await Storage.Admins.RevokeAsync("alice@example.org"));
        Assert.False(await Storage.Admins.RevokeAsync("alice@example.org"));
        Assert.False(await Storage.Admins.IsAdminAsync("alice@example.org"));
        Assert.Equal(["bob@example.org"], await Storage.Admins.ListAsync());
    }

    [Fact]
    public async Task Audit_records_are_listed_oldest_first_with_everything_recorded()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var first = await Storage.Audit.AppendAsync("root", "cli", "account.create", "alice@example.org", "");
        var second = await Storage.Audit.AppendAsync("admin@example.org", "127.0.0.1", "account.disable", "bob@example.org", "disabled");

        Assert.True(first < second);
        var records = await Storage.Audit.ListAsync(since: null, actor: null, max: 10);
        Assert.Equal([(first, "root", "cli", "account.create", "alice@example.org", ""), (second, "admin@example.org", "127.0.0.1", "account.disable", "bob@example.org", "disabled")],
            records.Select(r => (r.Id, r.Actor, r.Origin, r.Action, r.Subject, r.Details)));
        Assert.All(records, r => Assert.InRange(r.At, before, DateTimeOffset.UtcNow.AddSeconds(1)));
    }

    [Fact]
    public async Task Audit_records_are_filtered_by_actor_and_time_and_limited()
    {
        await Storage.Audit.AppendAsync("root", "cli", "account.create", "a@example.org", "");
        await Storage.Audit.AppendAsync("admin@example.org", "::1", "account.create", "b@example.org", "");
        await Storage.Audit.AppendAsync("root", "cli", "account.create", "c@example.org", "");

        Assert.Equal(["a@example.org", "c@example.org"], (await Storage.Audit.ListAsync(null, "root", 10)).Select(r => r.Subject));
        Assert.Equal(["a@example.org", "b@example.org"], (await Storage.Audit.ListAsync(null, null, 2)).Select(r => r.Subject));
        Assert.Empty(await Storage.Audit.ListAsync(DateTimeOffset.UtcNow.AddMinutes(1), null, 10));
        Assert.Equal(3, (await Storage.Audit.ListAsync(DateTimeOffset.UtcNow.AddMinutes(-1), null, 10)).Count);
        // A filter is a value, not SQL.
        Assert.Empty(await Storage.Audit.ListAsync(null, "root' OR '1'='1", 10));
    }

    [Fact]
    public async Task Audit_records_are_listed_newest_first_filtered_by_action_actor_and_time_and_paged_by_id()
    {
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Storage.Audit.AppendAsync(i % 2 == 0 ? "root" : "admin@example.org", "cli", i < 3 ? "account.create" : "room.destroy", $"s{i}@example.org", ""));
        }

        var all = await Storage.Audit.ListNewestFirstAsync(new AuditSearch(), before: null, max: 10);
        Assert.Equal(["s4", "s3", "s2", "s1", "s0"], all.Select(r => r.Subject.Split('@')[0]));
        var firstPage = await Storage.Audit.ListNewestFirstAsync(new AuditSearch(), before: null, max: 2);
        Assert.Equal([ids[4], ids[3]], firstPage.Select(r => r.Id));
        Assert.Equal([ids[2], ids[1]], (await Storage.Audit.ListNewestFirstAsync(new AuditSearch(), firstPage[^1].Id, 2)).Select(r => r.Id));
        Assert.Equal([ids[0]], (await Storage.Audit.ListNewestFirstAsync(new AuditSearch(), ids[1], 2)).Select(r => r.Id));

        // The action is found in any case and as part of the name; the actor exactly.
        Assert.Equal([ids[2], ids[1], ids[0]], (await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Action: "ACCOUNT.CREATE"), null, 10)).Select(r => r.Id));
        Assert.Equal([ids[4], ids[3]], (await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Action: "destroy"), null, 10)).Select(r => r.Id));
        Assert.Equal([ids[4], ids[2]], (await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Actor: "root", Action: "."), ids[4] + 1, 2)).Select(r => r.Id));
        Assert.Empty(await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Since: DateTimeOffset.UtcNow.AddMinutes(1)), null, 10));
        Assert.Equal(5, (await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Since: DateTimeOffset.UtcNow.AddMinutes(-1)), null, 10)).Count);

        // A search is plain text, not SQL nor a LIKE pattern.
        Assert.Empty(await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Action: "%"), null, 10));
        Assert.Empty(await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Action: "account_create"), null, 10));
        Assert.Empty(await Storage.Audit.ListNewestFirstAsync(new AuditSearch(Action: "x' OR '1'='1"), null, 10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Storage.Audit.ListNewestFirstAsync(new AuditSearch(), null, 0));
    }

    [Fact]
    public async Task Deleting_old_audit_records_keeps_newer_ones_and_ids_keep_growing()
    {
        var old = await Storage.Audit.AppendAsync("root", "cli", "account.create", "a@example.org", "");

        Assert.Equal(0, await Storage.Audit.DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddHours(-1)));
        Assert.Equal(1, await Storage.Audit.DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddSeconds(1)));

        Assert.Empty(await Storage.Audit.ListAsync(null, null, 10));
        Assert.True(await Storage.Audit.AppendAsync("root", "cli", "account.create", "b@example.org", "") > old);
    }

    [Fact]
    public async Task An_audit_record_without_actor_origin_or_action_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Storage.Audit.AppendAsync("", "cli", "account.create", "a@example.org", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Storage.Audit.AppendAsync("root", "", "account.create", "a@example.org", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Storage.Audit.AppendAsync("root", "cli", "", "a@example.org", ""));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Storage.Audit.ListAsync(null, null, 0));

        Assert.Empty(await Storage.Audit.ListAsync(null, null, 10));
    }

    [Fact]
    public async Task A_setting_is_kept_as_given_replaced_and_deleted()
    {
        const string banner = "Authorized use only.\n<script>alert('x')</script> & \"quotes\"\n";

        Assert.Null(await Storage.Settings.GetAsync(ServerSettings.Banner));
        await Storage.Settings.SetAsync(ServerSettings.Banner, "first");
        await Storage.Settings.SetAsync(ServerSettings.Banner, banner);
        Assert.Equal(banner, await Storage.Settings.GetAsync(ServerSettings.Banner));

        Assert.True(await Storage.Settings.DeleteAsync(ServerSettings.Banner));
        Assert.False(await Storage.Settings.DeleteAsync(ServerSettings.Banner));
        Assert.Null(await Storage.Settings.GetAsync(ServerSettings.Banner));
    }

    [Fact]
    public async Task A_canceled_token_stops_every_operation_and_changes_nothing()
    {
        var token = CanceledToken();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Storage.Admins.GrantAsync("alice@example.org", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Storage.Audit.AppendAsync("root", "cli", "account.create", "a@example.org", "", token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Storage.Settings.SetAsync(ServerSettings.Banner, "x", token));

        Assert.Empty(await Storage.Admins.ListAsync());
        Assert.Empty(await Storage.Audit.ListAsync(null, null, 10));
        Assert.Null(await Storage.Settings.GetAsync(ServerSettings.Banner));
    }
}
