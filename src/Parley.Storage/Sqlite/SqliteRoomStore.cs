using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

internal sealed class SqliteRoomStore(SqliteStorage storage) : IRoomStore
{
    private const string SelectColumns = "SELECT jid, config_xml, subject, subject_nick, created_at FROM rooms";
    private const string SelectSql = SelectColumns + " WHERE jid = $room";
    private const string ListSql = SelectColumns + " WHERE service = $service ORDER BY jid";

    private const string UpsertSql = """
        INSERT INTO rooms (jid, service, config_xml, subject, subject_nick, created_at)
        VALUES ($room, $service, $config, $subject, $subject_nick, $created_at)
        ON CONFLICT (jid) DO UPDATE SET config_xml = excluded.config_xml, subject = excluded.subject, subject_nick = excluded.subject_nick
        """;

    private const string DeleteAffiliationsSql = "DELETE FROM room_affiliations WHERE room_jid = $room";
    private const string DeleteSql = "DELETE FROM rooms WHERE jid = $room";
    private const string SelectAffiliationsSql = "SELECT jid, affiliation, nick, reason FROM room_affiliations WHERE room_jid = $room ORDER BY jid";

    // Only for a stored room: a room deleted by `parley room destroy` gets no rows back from a live copy of it.
    private const string UpsertAffiliationSql = """
        INSERT INTO room_affiliations (room_jid, jid, affiliation, nick, reason)
        SELECT $room, $jid, $affiliation, $nick, $reason WHERE EXISTS (SELECT 1 FROM rooms WHERE jid = $room)
        ON CONFLICT (room_jid, jid) DO UPDATE SET affiliation = excluded.affiliation, nick = excluded.nick, reason = excluded.reason
        """;

    private const string UpdateSql = "UPDATE rooms SET config_xml = $config, subject = $subject, subject_nick = $subject_nick WHERE jid = $room";

    private const string DeleteAffiliationSql = "DELETE FROM room_affiliations WHERE room_jid = $room AND jid = $jid";

    public async Task<StoredRoom?> GetAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectSql;
        select.Parameters.AddWithValue("$room", room);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRoom(reader) : null;
    }

    public async Task<IReadOnlyList<StoredRoom>> ListAsync(string service, CancellationToken cancellationToken = default)
    {
        RoomArguments.CheckService(service);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = ListSql;
        select.Parameters.AddWithValue("$service", service);
        var rooms = new List<StoredRoom>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rooms.Add(ReadRoom(reader));
        }

        return rooms;
    }

    public async Task SaveAsync(StoredRoom room, CancellationToken cancellationToken = default)
    {
        RoomArguments.CheckRoom(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var upsert = connection.CreateCommand();
        upsert.CommandText = UpsertSql;
        upsert.Parameters.AddWithValue("$room", room.Jid);
        upsert.Parameters.AddWithValue("$service", RoomArguments.ServiceOf(room.Jid));
        upsert.Parameters.AddWithValue("$config", room.ConfigXml);
        upsert.Parameters.AddWithValue("$subject", room.Subject);
        upsert.Parameters.AddWithValue("$subject_nick", room.SubjectNick);
        upsert.Parameters.AddWithValue("$created_at", room.CreatedAt.ToUnixTimeMilliseconds());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> UpdateAsync(StoredRoom room, CancellationToken cancellationToken = default)
    {
        RoomArguments.CheckRoom(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var update = connection.CreateCommand();
        update.CommandText = UpdateSql;
        update.Parameters.AddWithValue("$room", room.Jid);
        update.Parameters.AddWithValue("$config", room.ConfigXml);
        update.Parameters.AddWithValue("$subject", room.Subject);
        update.Parameters.AddWithValue("$subject_nick", room.SubjectNick);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var affiliations = connection.CreateCommand())
        {
            affiliations.Transaction = transaction;
            affiliations.CommandText = DeleteAffiliationsSql;
            affiliations.Parameters.AddWithValue("$room", room);
            await affiliations.ExecuteNonQueryAsync(cancellationToken);
        }

        int deleted;
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = DeleteSql;
            delete.Parameters.AddWithValue("$room", room);
            deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
        return deleted == 1;
    }

    public async Task<IReadOnlyList<RoomAffiliation>> GetAffiliationsAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var select = connection.CreateCommand();
        select.CommandText = SelectAffiliationsSql;
        select.Parameters.AddWithValue("$room", room);
        var affiliations = new List<RoomAffiliation>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            affiliations.Add(new RoomAffiliation(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return affiliations;
    }

    public async Task SetAffiliationAsync(string room, RoomAffiliation affiliation, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        RoomArguments.CheckAffiliation(affiliation);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        using var change = connection.CreateCommand();
        change.Parameters.AddWithValue("$room", room);
        change.Parameters.AddWithValue("$jid", affiliation.Jid);
        if (affiliation.Affiliation == "none")
        {
            change.CommandText = DeleteAffiliationSql;
        }
        else
        {
            change.CommandText = UpsertAffiliationSql;
            change.Parameters.AddWithValue("$affiliation", affiliation.Affiliation);
            change.Parameters.AddWithValue("$nick", (object?)affiliation.Nick ?? DBNull.Value);
            change.Parameters.AddWithValue("$reason", (object?)affiliation.Reason ?? DBNull.Value);
        }

        await change.ExecuteNonQueryAsync(cancellationToken);
    }

    private static StoredRoom ReadRoom(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
}
