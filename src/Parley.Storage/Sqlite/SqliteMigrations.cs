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

        // An archive is a user's (keyed by bare JID) or a room's. Results are in (stamp, id) order: every filter is then a
        // range of one index, and a page is read straight off it. SQLite appends the rowid (id) to every index entry, so
        // both indexes are ordered by (..., stamp, id). The index on stamp alone lets retention find old messages.
        // AUTOINCREMENT: ids are never reused, so an id a client still holds cannot come to mean another message.
        new(3, "message archive", """
            CREATE TABLE archive_messages (
                id             INTEGER PRIMARY KEY AUTOINCREMENT,
                archive        TEXT    NOT NULL,
                with_bare      TEXT    NOT NULL,
                with_resource  TEXT    NOT NULL, -- '' when the peer was addressed by its bare JID
                stamp          INTEGER NOT NULL, -- Unix time, milliseconds, UTC
                xml            TEXT    NOT NULL
            );
            CREATE INDEX archive_messages_by_stamp ON archive_messages (archive, stamp);
            CREATE INDEX archive_messages_by_with ON archive_messages (archive, with_bare, stamp);
            CREATE INDEX archive_messages_for_retention ON archive_messages (stamp);

            -- Messages per archive, kept by triggers: counting a million index entries for RSM's <count/> on every
            -- page would cost tens of milliseconds. Only unfiltered queries use it; filtered ones count their range.
            CREATE TABLE archive_counts (
                archive   TEXT    NOT NULL PRIMARY KEY,
                messages  INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE TRIGGER archive_messages_counted AFTER INSERT ON archive_messages BEGIN
                INSERT INTO archive_counts (archive, messages) VALUES (NEW.archive, 1)
                ON CONFLICT (archive) DO UPDATE SET messages = messages + 1;
            END;
            CREATE TRIGGER archive_messages_uncounted AFTER DELETE ON archive_messages BEGIN
                UPDATE archive_counts SET messages = messages - 1 WHERE archive = OLD.archive;
            END;

            CREATE TABLE archive_preferences (
                archive       TEXT NOT NULL PRIMARY KEY,
                default_mode  TEXT NOT NULL CHECK (default_mode IN ('always', 'never', 'roster')),
                always_json   TEXT NOT NULL, -- JSON array of JIDs
                never_json    TEXT NOT NULL  -- JSON array of JIDs
            ) WITHOUT ROWID;
            """),

        // Only persistent rooms are stored; ad hoc rooms live in memory. A room's messages are in the archive (archive = room JID).
        new(4, "multi-user chat rooms", """
            CREATE TABLE rooms (
                jid           TEXT    NOT NULL PRIMARY KEY,
                service       TEXT    NOT NULL, -- conference.example.com, so one service's rooms are found by index
                config_xml    TEXT    NOT NULL, -- the muc#roomconfig form as submitted
                subject       TEXT    NOT NULL,
                subject_nick  TEXT    NOT NULL,
                created_at    INTEGER NOT NULL  -- Unix time, milliseconds, UTC
            );
            CREATE UNIQUE INDEX rooms_by_service ON rooms (service, jid);

            CREATE TABLE room_affiliations (
                room_jid     TEXT NOT NULL,
                jid          TEXT NOT NULL,
                affiliation  TEXT NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
                nick         TEXT, -- the nickname registered with the room (XEP-0045 §7.10)
                reason       TEXT,
                PRIMARY KEY (room_jid, jid)
            ) WITHOUT ROWID;
            """),

        // Items keep a rowid (seq): they can be large, and seq orders them newest first even within one millisecond.
        new(5, "personal eventing nodes and items", """
            CREATE TABLE pep_nodes (
                user_jid    TEXT NOT NULL,
                node        TEXT NOT NULL,
                config_xml  TEXT NOT NULL, -- the pubsub#node_config form the server wrote
                PRIMARY KEY (user_jid, node)
            ) WITHOUT ROWID;

            CREATE TABLE pep_items (
                seq           INTEGER PRIMARY KEY AUTOINCREMENT,
                user_jid      TEXT    NOT NULL,
                node          TEXT    NOT NULL,
                item_id       TEXT    NOT NULL,
                published_at  INTEGER NOT NULL, -- Unix time, milliseconds, UTC
                xml           TEXT    NOT NULL
            );
            CREATE UNIQUE INDEX pep_items_by_id ON pep_items (user_jid, node, item_id);
            CREATE INDEX pep_items_by_node ON pep_items (user_jid, node, seq);
            """),
        // Deleting an account ends other users' subscriptions to it and its room affiliations: rows found by the
        // account as contact or affiliated JID, not by their owner.
        new(6, "indexes for deleting an account", """
            CREATE INDEX roster_items_by_contact ON roster_items (contact);
            CREATE INDEX roster_pending_by_contact ON roster_pending (contact);
            CREATE INDEX room_affiliations_by_jid ON room_affiliations (jid);
            """),
        // What the CLI changed behind a running node's back; nodes poll for ids above the last they saw.
        // AUTOINCREMENT: an id is never handed out twice, also after the old notices are deleted.
        new(7, "notices for running nodes", """
            CREATE TABLE node_notices (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                kind        TEXT    NOT NULL, -- account-removed, room-changed
                subject     TEXT    NOT NULL, -- the bare JID it is about
                created_at  INTEGER NOT NULL  -- Unix time, milliseconds, UTC
            );
            CREATE INDEX node_notices_by_age ON node_notices (created_at);
            """),
        // An administrator (or the directory sync) disables an account without deleting its data: it cannot sign in.
        new(8, "accounts can be disabled", """
            ALTER TABLE accounts ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
            """),
        // Full-text search (XEP-0431) over the bodies of archived messages, rowid = archive_messages.id. Contentless: the
        // text is in archive_messages.xml already. Each word is stored behind its archive's key (SqliteSearchText), so a
        // search reads one archive's part of the index. The store adds a row with each message that has a body; deleting
        // a message, however it happens (retention, an archive or account removed), removes its row by the trigger.
        // Messages archived before this migration are indexed here; parley_search_text is registered by SqliteStorage.
        new(9, "full-text search of archived messages", """
            CREATE VIRTUAL TABLE archive_search USING fts5 (
                body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
            INSERT INTO archive_search (rowid, body)
                SELECT id, body FROM (SELECT id, parley_search_text(archive, xml) AS body FROM archive_messages)
                WHERE body <> '';
            CREATE TRIGGER archive_messages_unsearchable AFTER DELETE ON archive_messages BEGIN
                DELETE FROM archive_search WHERE rowid = OLD.id;
            END;
            """),
        // The admin role granted in the database, the audit trail of administrative changes, and the settings an
        // administrator changes at run time (the login banner). No foreign keys: admins may be directory users.
        new(10, "admins, audit trail and server settings", """
            CREATE TABLE admins (
                jid         TEXT    NOT NULL PRIMARY KEY,
                granted_at  INTEGER NOT NULL  -- Unix time, milliseconds, UTC
            ) WITHOUT ROWID;

            -- AUTOINCREMENT: ids keep growing after retention deleted the oldest records.
            CREATE TABLE audit_log (
                id       INTEGER PRIMARY KEY AUTOINCREMENT,
                at       INTEGER NOT NULL, -- Unix time, milliseconds, UTC
                actor    TEXT    NOT NULL, -- an admin's bare JID, or the CLI's operating-system user
                origin   TEXT    NOT NULL, -- the client's IP address, or 'cli'
                action   TEXT    NOT NULL, -- e.g. account.create
                subject  TEXT    NOT NULL, -- what it was done to, e.g. a JID
                details  TEXT    NOT NULL  -- what changed; never a password
            );
            CREATE INDEX audit_log_by_time ON audit_log (at);
            CREATE INDEX audit_log_by_actor ON audit_log (actor, at);

            CREATE TABLE server_settings (
                name        TEXT    NOT NULL PRIMARY KEY,
                value       TEXT    NOT NULL,
                updated_at  INTEGER NOT NULL  -- Unix time, milliseconds, UTC
            ) WITHOUT ROWID;
            """),
        // The accounts of LDAP directory people: their password is the directory's, so they have no row of their own
        // in accounts' sense of credentials; the sync keeps this table and reads it to find who left.
        new(11, "directory users", """
            CREATE TABLE directory_users (
                jid            TEXT    NOT NULL PRIMARY KEY,
                dn             TEXT    NOT NULL,
                fingerprint    TEXT    NOT NULL,
                missing_since  INTEGER NULL -- Unix time, milliseconds, UTC
            ) WITHOUT ROWID;
            """),
        // The REST API's tokens: the secret is kept only as its SHA-256 hash; a request's token is found by its public id.
        new(12, "REST API tokens", """
            CREATE TABLE api_tokens (
                name         TEXT    NOT NULL PRIMARY KEY,
                token_id     TEXT    NOT NULL UNIQUE, -- the token's public part
                token_hash  TEXT    NOT NULL,        -- SHA-256 of the secret part, lower-case hex
                read_only    INTEGER NOT NULL,
                created_at   INTEGER NOT NULL         -- Unix time, milliseconds, UTC
            ) WITHOUT ROWID;
            """),
        // The name administrators give an account, and its lower-cased copy that searches compare (AccountArguments.Fold).
        new(13, "account display names", """
            ALTER TABLE accounts ADD COLUMN display_name TEXT NULL;
            ALTER TABLE accounts ADD COLUMN display_name_folded TEXT NULL;
            """),
        // Archive appends are committed here first: a row at the end of one table is all a message's commit writes, where
        // archive_messages costs a leaf of each per-archive index and of the search index per message, all over the file
        // (what limited a busy node, docs/benchmarks.md). SqliteArchiveWriter moves them into archive_messages in large
        // batches, and every read of the archive moves them first. A message keeps its id: the writer takes it from
        // archive_messages' AUTOINCREMENT sequence, which it advances with each batch.
        new(14, "archive appends waiting for their indexes", """
            CREATE TABLE archive_pending (
                id             INTEGER PRIMARY KEY,
                archive        TEXT    NOT NULL,
                with_bare      TEXT    NOT NULL,
                with_resource  TEXT    NOT NULL,
                stamp          INTEGER NOT NULL,
                xml            TEXT    NOT NULL,
                search_text    TEXT    NOT NULL  -- what archive_search indexes (SqliteSearchText); '' for no words
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;
}
