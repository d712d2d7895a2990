using Npgsql;
using NpgsqlTypes;

namespace Parley.Storage.Postgres;

internal sealed class PostgresRoomStore(PostgresStorage storage) : IRoomStore
{
    private const string SelectColumns = "SELECT jid, config_xml, subject, subject_nick, created_at FROM rooms";
    private const string SelectSql = SelectColumns + " WHERE jid = @room";
    private const string ListSql = SelectColumns + " WHERE service = @service ORDER BY jid";

    private const string UpsertSql = """
        INSERT INTO rooms (jid, service, config_xml, subject, subject_nick, created_at)
        VALUES (@room, @service, @config, @subject, @subject_nick, @created_at)
        ON CONFLICT (jid) DO UPDATE SET config_xml = excluded.config_xml, subject = excluded.subject, subject_nick = excluded.subject_nick
        """;

    private const string DeleteAffiliationsSql = "DELETE FROM room_affiliations WHERE room_jid = @room";
    private const string DeleteSql = "DELETE FROM rooms WHERE jid = @room";
    private const string SelectAffiliationsSql = "SELECT jid, affiliation, nick, reason FROM room_affiliations WHERE room_jid = @room ORDER BY jid";

    // Only for a stored room: a room deleted by `parley room destroy` gets no rows back from a live copy of it.
    private const string UpsertAffiliationSql = """
        INSERT INTO room_affiliations (room_jid, jid, affiliation, nick, reason)
        SELECT @room, @jid, @affiliation, @nick, @reason WHERE EXISTS (SELECT 1 FROM rooms WHERE jid = @room)
        ON CONFLICT (room_jid, jid) DO UPDATE SET affiliation = excluded.affiliation, nick = excluded.nick, reason = excluded.reason
        """;

    private const string UpdateSql = "UPDATE rooms SET config_xml = @config, subject = @subject, subject_nick = @subject_nick WHERE jid = @room";

    private const string DeleteAffiliationSql = "DELETE FROM room_affiliations WHERE room_jid = @room AND jid = @jid";

    public async Task<StoredRoom?> GetAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = RoomCommand(SelectSql, connection, room);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRoom(reader) : null;
    }

    public async Task<IReadOnlyList<StoredRoom>> ListAsync(string service, CancellationToken cancellationToken = default)
    {
        RoomArguments.CheckService(service);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(ListSql, connection);
        select.Parameters.AddWithValue("service", service);
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
        await using var upsert = RoomContentCommand(UpsertSql, connection, room);
        upsert.Parameters.AddWithValue("service", RoomArguments.ServiceOf(room.Jid));
        upsert.Parameters.AddWithValue("created_at", room.CreatedAt.ToUnixTimeMilliseconds());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> UpdateAsync(StoredRoom room, CancellationToken cancellationToken = default)
    {
        RoomArguments.CheckRoom(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var update = RoomContentCommand(UpdateSql, connection, room);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var affiliations = RoomCommand(DeleteAffiliationsSql, connection, room))
        {
            await affiliations.ExecuteNonQueryAsync(cancellationToken);
        }

        int deleted;
        await using (var delete = RoomCommand(DeleteSql, connection, room))
        {
            deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return deleted == 1;
    }

    public async Task<IReadOnlyList<RoomAffiliation>> GetAffiliationsAsync(string room, CancellationToken cancellationToken = default)
    {
        RoomArguments.ServiceOf(room);
        await using var connection = await storage.OpenConnectionAsync(cancellationToken);
        await using var select = RoomCommand(SelectAffiliationsSql, connection, room);
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
        await using var change = RoomCommand(affiliation.Affiliation == "none" ? DeleteAffiliationSql : UpsertAffiliationSql, connection, room);
        change.Parameters.AddWithValue("jid", affiliation.Jid);
        if (affiliation.Affiliation != "none")
        {
            change.Parameters.AddWithValue("affiliation", affiliation.Affiliation);
            change.Parameters.AddWithValue("nick", NpgsqlDbType.Text, (object?)affiliation.Nick ?? DBNull.Value);
            change.Parameters.AddWithValue("reason", NpgsqlDbType.Text, (object?)affiliation.Reason ?? DBNull.Value);
        }

        await change.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlCommand RoomCommand(string sql, NpgsqlConnection connection, string room)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("room", room);
        return command;
    }

    private static NpgsqlCommand RoomContentCommand(string sql, NpgsqlConnection connection, StoredRoom room)
    {
        var command = RoomCommand(sql, connection, room.Jid);
        command.Parameters.AddWithValue("config", room.ConfigXml);
        command.Parameters.AddWithValue("subject", room.Subject);
        command.Parameters.AddWithValue("subject_nick", room.SubjectNick);
        return command;
    }

    private static StoredRoom ReadRoom(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
}
