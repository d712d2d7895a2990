namespace Parley.Storage.Sqlite;

/// <summary>
/// The SQLite schema, as the ordered list of migrations that build it. Never edit a released migration:
/// a new table or column is a new entry at the end with the next version.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<SqliteMigration> All =
    [
        new(1, "accounts", """
            CREATE TABLE accounts (
                jid                TEXT    NOT NULL PRIMARY KEY,
                domain             TEXT    NOT NULL,
                created_at         INTEGER NOT NULL, -- Unix time, milliseconds, UTC
                sha1_salt          BLOB    NOT NULL,
                sha1_iterations    INTEGER NOT NULL,
                sha1_stored_key    BLOB    NOT NULL,
                sha1_server_key    BLOB    NOT NULL,
                sha256_salt        BLOB    NOT NULL,
                sha256_iterations  INTEGER NOT NULL,
                sha256_stored_key  BLOB    NOT NULL,
                sha256_server_key  BLOB    NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX accounts_by_domain ON accounts (domain, jid);
            """),
    ];

    public static int LatestVersion => All[^1].Version;
}
