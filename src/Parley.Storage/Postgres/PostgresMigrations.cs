namespace Parley.Storage.Postgres;

/// <summary>One forward-only schema change; <paramref name="Sql"/> runs in the same transaction that records it.</summary>
internal sealed record PostgresMigration(int Version, string Name, string Sql);

/// <summary>
/// The PostgreSQL schema, as the ordered list of migrations that build it. Never edit a released migration:
/// a new table or column is a new entry with the next free version (a branch's reserved number may sit below a
/// later one; the migrator applies whatever a database lacks, in this order).
/// </summary>
/// <remarks>
/// The tables and their meaning follow the SQLite schema (Sqlite/SqliteMigrations.cs), so both stores keep the same
/// data rules. JIDs and other keys are COLLATE "C": they compare and sort byte for byte as the stores promise
/// (ordinal), whatever the database's locale. Times are Unix milliseconds (UTC) in bigint, the precision the stores
/// hand out on both engines. Ids come from identity columns, whose sequences never hand out a number twice.
/// </remarks>
internal static class PostgresMigrations
{
    public static readonly IReadOnlyList<PostgresMigration> All =
    [
        new(1, "accounts, rosters, offline messages, blocklists, user documents", """
            CREATE TABLE accounts (
                jid                text    COLLATE "C" NOT NULL PRIMARY KEY,
                domain             text    COLLATE "C" NOT NULL,
                created_at         bigint  NOT NULL,
                sha1_salt          bytea   NOT NULL,
                sha1_iterations    integer NOT NULL,
                sha1_stored_key    bytea   NOT NULL,
                sha1_server_key    bytea   NOT NULL,
                sha256_salt        bytea   NOT NULL,
                sha256_iterations  integer NOT NULL,
                sha256_stored_key  bytea   NOT NULL,
                sha256_server_key  bytea   NOT NULL
            );
            CREATE INDEX accounts_by_domain ON accounts (domain, jid);

            -- No foreign keys to accounts: users authenticated elsewhere (LDAP) have rosters but no accounts row.
            CREATE TABLE roster_items (
                user_jid       text    COLLATE "C" NOT NULL,
                contact        text    COLLATE "C" NOT NULL,
                name           text,
                subscription   text    NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
                ask_subscribe  boolean NOT NULL,
                pre_approved   boolean NOT NULL,
                groups         text[]  NOT NULL, -- in the order the client gave them
                PRIMARY KEY (user_jid, contact)
            );
            CREATE INDEX roster_items_by_contact ON roster_items (contact);

            CREATE TABLE roster_versions (
                user_jid  text   COLLATE "C" NOT NULL PRIMARY KEY,
                domain    text   COLLATE "C" NOT NULL,
                version   bigint NOT NULL
            );
            CREATE INDEX roster_versions_by_domain ON roster_versions (domain, user_jid);

            CREATE TABLE roster_pending (
                user_jid    text COLLATE "C" NOT NULL,
                contact     text COLLATE "C" NOT NULL,
                stanza_xml  text NOT NULL,
                PRIMARY KEY (user_jid, contact)
            );
            CREATE INDEX roster_pending_by_contact ON roster_pending (contact);

            CREATE TABLE offline_messages (
                id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_jid  text   COLLATE "C" NOT NULL,
                stamp     bigint NOT NULL,
                xml       text   NOT NULL
            );
            CREATE INDEX offline_messages_by_user ON offline_messages (user_jid, id);

            CREATE TABLE blocklist (
                user_jid     text COLLATE "C" NOT NULL,
                blocked_jid  text COLLATE "C" NOT NULL,
                PRIMARY KEY (user_jid, blocked_jid)
            );

            CREATE TABLE user_documents (
                user_jid    text   COLLATE "C" NOT NULL,
                kind        text   COLLATE "C" NOT NULL,
                key         text   COLLATE "C" NOT NULL,
                xml         text   NOT NULL,
                updated_at  bigint NOT NULL,
                PRIMARY KEY (user_jid, kind, key)
            );
            """),

        // Results are in (stamp, id) order; each index ends in (stamp, id), so every filter is a range of one index and
        // a page is read straight off it in either direction.
        new(2, "message archive", """
            CREATE TABLE archive_messages (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                archive        text   COLLATE "C" NOT NULL,
                with_bare      text   COLLATE "C" NOT NULL,
                with_resource  text   COLLATE "C" NOT NULL, -- '' when the peer was addressed by its bare JID
                stamp          bigint NOT NULL,
                xml            text   NOT NULL
            );
            CREATE INDEX archive_messages_by_stamp ON archive_messages (archive, stamp, id);
            CREATE INDEX archive_messages_by_with ON archive_messages (archive, with_bare, stamp, id);
            CREATE INDEX archive_messages_for_retention ON archive_messages (stamp);

            -- Messages per archive, kept by triggers, so RSM's <count/> of an unfiltered query is one row, not a scan.
            CREATE TABLE archive_counts (
                archive   text   COLLATE "C" NOT NULL PRIMARY KEY,
                messages  bigint NOT NULL
            );
            CREATE FUNCTION archive_messages_count() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO archive_counts (archive, messages) VALUES (NEW.archive, 1)
                    ON CONFLICT (archive) DO UPDATE SET messages = archive_counts.messages + 1;
                ELSE
                    UPDATE archive_counts SET messages = messages - 1 WHERE archive = OLD.archive;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER archive_messages_counted AFTER INSERT OR DELETE ON archive_messages
                FOR EACH ROW EXECUTE FUNCTION archive_messages_count();

            CREATE TABLE archive_preferences (
                archive       text   COLLATE "C" NOT NULL PRIMARY KEY,
                default_mode  text   NOT NULL CHECK (default_mode IN ('always', 'never', 'roster')),
                always_jids   text[] NOT NULL,
                never_jids    text[] NOT NULL
            );
            """),

        new(3, "multi-user chat rooms, personal eventing", """
            CREATE TABLE rooms (
                jid           text   COLLATE "C" NOT NULL PRIMARY KEY,
                service       text   COLLATE "C" NOT NULL,
                config_xml    text   NOT NULL,
                subject       text   NOT NULL,
                subject_nick  text   NOT NULL,
                created_at    bigint NOT NULL
            );
            CREATE UNIQUE INDEX rooms_by_service ON rooms (service, jid);

            CREATE TABLE room_affiliations (
                room_jid     text COLLATE "C" NOT NULL,
                jid          text COLLATE "C" NOT NULL,
                affiliation  text NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
                nick         text,
                reason       text,
                PRIMARY KEY (room_jid, jid)
            );
            CREATE INDEX room_affiliations_by_jid ON room_affiliations (jid);

            CREATE TABLE pep_nodes (
                user_jid    text COLLATE "C" NOT NULL,
                node        text COLLATE "C" NOT NULL,
                config_xml  text NOT NULL,
                PRIMARY KEY (user_jid, node)
            );

            -- seq orders items newest first, also within one millisecond.
            CREATE TABLE pep_items (
                seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_jid      text   COLLATE "C" NOT NULL,
                node          text   COLLATE "C" NOT NULL,
                item_id       text   COLLATE "C" NOT NULL,
                published_at  bigint NOT NULL,
                xml           text   NOT NULL
            );
            CREATE UNIQUE INDEX pep_items_by_id ON pep_items (user_jid, node, item_id);
            CREATE INDEX pep_items_by_node ON pep_items (user_jid, node, seq);
            """),

        // What the CLI changed behind running nodes' backs. Each new notice is also announced with NOTIFY on commit,
        // so nodes that LISTEN act on it at once instead of polling.
        new(4, "notices for running nodes", """
            CREATE TABLE node_notices (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                kind        text   NOT NULL,
                subject     text   NOT NULL,
                created_at  bigint NOT NULL
            );
            CREATE INDEX node_notices_by_age ON node_notices (created_at);
            CREATE FUNCTION node_notices_announce() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('parley_node_notices', NEW.id::text);
                RETURN NULL;
            END $$;
            CREATE TRIGGER node_notices_announced AFTER INSERT ON node_notices
                FOR EACH ROW EXECUTE FUNCTION node_notices_announce();
            """),

        // An administrator (or the directory sync) disables an account without deleting its data: it cannot sign in.
        new(5, "accounts can be disabled", """
            ALTER TABLE accounts ADD COLUMN disabled boolean NOT NULL DEFAULT false;
            """),

        // The admin role granted in the database, the audit trail of administrative changes, and the settings an
        // administrator changes at run time (the login banner). No foreign keys: admins may be directory users.
        new(6, "admins, audit trail and server settings", """
            CREATE TABLE admins (
                jid         text   COLLATE "C" NOT NULL PRIMARY KEY,
                granted_at  bigint NOT NULL
            );
            CREATE TABLE audit_log (
                id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at       bigint NOT NULL,
                actor    text   COLLATE "C" NOT NULL,
                origin   text   NOT NULL,
                action   text   NOT NULL,
                subject  text   NOT NULL,
                details  text   NOT NULL
            );
            CREATE INDEX audit_log_by_time ON audit_log (at);
            CREATE INDEX audit_log_by_actor ON audit_log (actor, at);
            CREATE TABLE server_settings (
                name        text   COLLATE "C" NOT NULL PRIMARY KEY,
                value       text   NOT NULL,
                updated_at  bigint NOT NULL
            );
            """),

        // The accounts of LDAP directory people (their password is the directory's); the sync reads it to find who left.
        new(7, "directory users", """
            CREATE TABLE directory_users (
                jid            text   COLLATE "C" NOT NULL PRIMARY KEY,
                dn             text   NOT NULL,
                fingerprint    text   NOT NULL,
                missing_since  bigint NULL
            );
            """),

        // The REST API's tokens: the secret is kept only as its SHA-256 hash; a request's token is found by its public id.
        new(8, "REST API tokens", """
            CREATE TABLE api_tokens (
                name         text    COLLATE "C" NOT NULL PRIMARY KEY,
                token_id     text    COLLATE "C" NOT NULL UNIQUE,
                token_hash  text    NOT NULL,
                read_only    boolean NOT NULL,
                created_at   bigint  NOT NULL
            );
            """),

        // The cluster (Parley.Cluster): its nodes with their leases, kept by the database's clock so that no node's own
        // clock decides who is up; presence redundancy groups; and each account's home node. An account is given the
        // node that takes users with the fewest accounts when it is created, whichever way it is created; with no
        // nodes (a single node) it has none. The revision tells running nodes which assignments changed since they last looked;
        // a change of home sets a new one. Each node writes its session and served-user counts with every renewal. A node
        // failed over by hand (parley cluster failover) keeps running while its group peer serves its users.
        new(9, "cluster nodes, redundancy groups, home nodes", """
            CREATE TABLE cluster_groups (
                name  text COLLATE "C" NOT NULL PRIMARY KEY,
                mode  text NOT NULL CHECK (mode IN ('balanced', 'active-standby'))
            );
            CREATE TABLE cluster_nodes (
                name            text COLLATE "C" NOT NULL PRIMARY KEY,
                group_name      text COLLATE "C" NULL REFERENCES cluster_groups (name),
                group_position  integer     NOT NULL DEFAULT 0,
                address         text        NOT NULL DEFAULT '',
                instance        uuid        NULL,
                started_at      timestamptz NULL,
                renewed_at      timestamptz NULL,
                lease_until     timestamptz NOT NULL DEFAULT '-infinity',
                sessions        integer     NOT NULL DEFAULT 0,
                users_served    integer     NOT NULL DEFAULT 0,
                users_assigned  integer     NOT NULL DEFAULT 0,
                failed_over     boolean     NOT NULL DEFAULT false
            );
            CREATE SEQUENCE cluster_assignment_revisions;
            CREATE TABLE cluster_assignments (
                jid       text   COLLATE "C" NOT NULL PRIMARY KEY REFERENCES accounts (jid) ON DELETE CASCADE,
                node      text   COLLATE "C" NOT NULL REFERENCES cluster_nodes (name),
                revision  bigint NOT NULL DEFAULT nextval('cluster_assignment_revisions')
            );
            CREATE INDEX cluster_assignments_by_revision ON cluster_assignments (revision);
            CREATE INDEX cluster_assignments_by_node ON cluster_assignments (node);

            CREATE FUNCTION cluster_count_assignments() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE cluster_nodes SET users_assigned = users_assigned - 1 WHERE name = OLD.node;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    UPDATE cluster_nodes SET users_assigned = users_assigned + 1 WHERE name = NEW.node;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER cluster_assignments_counted AFTER INSERT OR UPDATE OF node OR DELETE ON cluster_assignments
                FOR EACH ROW EXECUTE FUNCTION cluster_count_assignments();

            CREATE FUNCTION cluster_assign_account() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                chosen text;
            BEGIN
                SELECT n.name INTO chosen FROM cluster_nodes n LEFT JOIN cluster_groups g ON g.name = n.group_name
                    WHERE g.mode IS DISTINCT FROM 'active-standby' OR n.group_position = 0
                    ORDER BY n.users_assigned, n.name LIMIT 1;
                IF chosen IS NOT NULL THEN
                    INSERT INTO cluster_assignments (jid, node) VALUES (NEW.jid, chosen);
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER accounts_assigned AFTER INSERT ON accounts
                FOR EACH ROW EXECUTE FUNCTION cluster_assign_account();
            """),

        // Full-text search (XEP-0431) over the bodies of archived messages: the store writes each message's lexemes
        // (PostgresSearchText; empty for a message without a body) with the message. NULL is "not indexed yet": messages
        // archived before this migration, and rows a copy from SQLite brought, are indexed when storage opens and by the
        // copy (PostgresArchiveStore.IndexUnsearchedAsync), found through the small partial index.
        new(10, "full-text search of archived messages", """
            ALTER TABLE archive_messages ADD COLUMN search tsvector;
            CREATE INDEX archive_messages_search ON archive_messages USING gin (search);
            CREATE INDEX archive_messages_unsearched ON archive_messages (id) WHERE search IS NULL;
            """),

        // The name administrators give an account, and its lower-cased copy that searches compare (AccountArguments.Fold).
        new(11, "account display names", """
            ALTER TABLE accounts ADD COLUMN display_name text NULL;
            ALTER TABLE accounts ADD COLUMN display_name_folded text NULL;
            """),

        // The cluster's data monitor and fallback delay: why a running node does not accept clients yet (NULL once it
        // does), and from when a node that started takes its users back from its group peer (its start plus
        // Parley:Cluster:FallbackDelaySeconds, or the moment of parley cluster fallback; NULL before it started).
        new(12, "cluster node readiness and fallback time", """
            ALTER TABLE cluster_nodes ADD COLUMN waiting_reason text NULL;
            ALTER TABLE cluster_nodes ADD COLUMN fallback_at timestamptz NULL;
            """),

        // archive_counts kept once per statement instead of once per row: a batch of appends (one INSERT) adds to each
        // archive it touched in one upsert, not one per message (about a fifth of PostgreSQL's CPU per archived message,
        // docs/benchmarks.md). Rows are counted and locked in archive order, so batches from several nodes at once cannot
        // deadlock on archive_counts. A transition table needs a trigger per event.
        new(13, "archive counts per statement", """
            DROP TRIGGER archive_messages_counted ON archive_messages;
            DROP FUNCTION archive_messages_count();

            CREATE FUNCTION archive_messages_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO archive_counts (archive, messages)
                    SELECT archive, count(*) FROM inserted GROUP BY archive ORDER BY archive
                ON CONFLICT (archive) DO UPDATE SET messages = archive_counts.messages + EXCLUDED.messages;
                RETURN NULL;
            END $$;
            CREATE TRIGGER archive_messages_counted_on_insert AFTER INSERT ON archive_messages
                REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION archive_messages_count_inserted();

            CREATE FUNCTION archive_messages_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM 1 FROM archive_counts WHERE archive IN (SELECT archive FROM deleted) ORDER BY archive FOR UPDATE;
                UPDATE archive_counts SET messages = archive_counts.messages - gone.messages
                    FROM (SELECT archive, count(*) AS messages FROM deleted GROUP BY archive) AS gone
                    WHERE archive_counts.archive = gone.archive;
                RETURN NULL;
            END $$;
            CREATE TRIGGER archive_messages_counted_on_delete AFTER DELETE ON archive_messages
                REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION archive_messages_count_deleted();
            """),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>The channel <see cref="All"/>'s trigger announces new node notices on.</summary>
    public const string NoticeChannel = "parley_node_notices";
}
