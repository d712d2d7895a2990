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

        // No foreign keys to accounts: users authenticated elsewhere (LDAP) have rosters but no accounts row.
        // Deleting an account deletes these rows explicitly (SqliteAccountStore.DeleteUserDataSql).
        // Tables whose rows can hold large XML keep a rowid, as SQLite advises against WITHOUT ROWID for big rows.
        new(2, "rosters, offline messages, blocklists, user documents", """
            CREATE TABLE roster_items (
                user_jid       TEXT    NOT NULL,
                contact        TEXT    NOT NULL,
                name           TEXT,
                subscription   TEXT    NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
                ask_subscribe  INTEGER NOT NULL,
                pre_approved   INTEGER NOT NULL,
                groups_json    TEXT    NOT NULL, -- JSON array of group names, in the order the client gave them
                PRIMARY KEY (user_jid, contact)
            ) WITHOUT ROWID;

            -- One row per user whose roster ever changed; the domain lets an export of one domain find its users by index.
            CREATE TABLE roster_versions (
                user_jid  TEXT    NOT NULL PRIMARY KEY,
                domain    TEXT    NOT NULL,
                version   INTEGER NOT NULL
            ) WITHOUT ROWID;
            -- UNIQUE (it is: user_jid is the key) tells the planner there is one row per user, so a domain's export needs no sort.
            CREATE UNIQUE INDEX roster_versions_by_domain ON roster_versions (domain, user_jid);

            CREATE TABLE roster_pending (
                user_jid    TEXT NOT NULL,
                contact     TEXT NOT NULL,
                stanza_xml  TEXT NOT NULL,
                PRIMARY KEY (user_jid, contact)
            );

            -- AUTOINCREMENT: ids are never reused, so removing ids handed out earlier cannot hit a newer message.
            CREATE TABLE offline_messages (
                id        INTEGER PRIMARY KEY AUTOINCREMENT,
                user_jid  TEXT    NOT NULL,
                stamp     INTEGER NOT NULL, -- Unix time, milliseconds, UTC
                xml       TEXT    NOT NULL
            );
            CREATE INDEX offline_messages_by_user ON offline_messages (user_jid, id);

            CREATE TABLE blocklist (
                user_jid     TEXT NOT NULL,
                blocked_jid  TEXT NOT NULL,
                PRIMARY KEY (user_jid, blocked_jid)
            ) WITHOUT ROWID;

            CREATE TABLE user_documents (
                user_jid    TEXT    NOT NULL,
                kind        TEXT    NOT NULL,
                key         TEXT    NOT NULL,
                xml         TEXT    NOT NULL,
                updated_at  INTEGER NOT NULL, -- Unix time, milliseconds, UTC
                PRIMARY KEY (user_jid, kind, key)
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;
}
