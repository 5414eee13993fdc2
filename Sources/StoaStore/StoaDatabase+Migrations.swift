import Foundation
import GRDB
import StoaCore

extension StoaDatabase {
    /// Schema migrations. A migration that has shipped is never edited; changes are new migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE node_meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                -- The CRDT state of every record ever created, deleted ones included.
                CREATE TABLE record_state (
                    collection TEXT NOT NULL,
                    id TEXT NOT NULL,
                    state BLOB NOT NULL,
                    PRIMARY KEY (collection, id)
                ) WITHOUT ROWID;
                -- Every change this replica has, local and remote, numbered per origin.
                CREATE TABLE changes (
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    collection TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    delta BLOB NOT NULL,
                    PRIMARY KEY (origin, seq)
                ) WITHOUT ROWID;
                CREATE INDEX changes_hlc ON changes (hlc);
                -- Materialized live records, one table per collection.
                CREATE TABLE quotes (
                    id TEXT PRIMARY KEY NOT NULL,
                    content TEXT NOT NULL DEFAULT '',
                    author TEXT NOT NULL DEFAULT '',
                    source TEXT NOT NULL DEFAULT '',
                    notes TEXT NOT NULL DEFAULT '',
                    tags TEXT NOT NULL DEFAULT '[]',
                    userId TEXT NOT NULL DEFAULT '',
                    created TEXT NOT NULL DEFAULT '',
                    updated TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX quotes_user_created ON quotes (userId, created);
                CREATE TABLE users (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT NOT NULL DEFAULT '',
                    emailVisibility INTEGER NOT NULL DEFAULT 0,
                    verified INTEGER NOT NULL DEFAULT 0,
                    name TEXT NOT NULL DEFAULT '',
                    avatar TEXT NOT NULL DEFAULT '',
                    passwordHash TEXT NOT NULL DEFAULT '',
                    tokenKey TEXT NOT NULL DEFAULT '',
                    created TEXT NOT NULL DEFAULT '',
                    updated TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX users_email ON users (email COLLATE NOCASE);
                """)
        }
        migrator.registerMigration("v2-change-owner") { db in
            // Each change is filed under the user who owns its record, so a device's sync reads
            // only that user's changes (`changes_owner`). Existing changes get their record's owner.
            try db.execute(sql: "ALTER TABLE changes ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
            let decoder = JSONDecoder()
            let states = try Row.fetchCursor(db, sql: "SELECT collection, id, state FROM record_state")
            while let row = try states.next() {
                guard let schema = CollectionSchema.named(row[0]) else { continue }
                let id: String = row[1]
                let state = try StoaDatabase.decodeState(row[2] as Data, json: decoder)
                try db.execute(
                    sql: "UPDATE changes SET owner = ? WHERE collection = ? AND record_id = ?",
                    arguments: [schema.owner(of: state, id: id), schema.name, id]
                )
            }
            try db.execute(sql: "CREATE INDEX changes_owner ON changes (owner, collection, origin, seq)")
        }
        migrator.registerMigration("v3-bounded-history") { db in
            // A change may stand for earlier changes of its origin to the same record and lineage
            // (`covers`, see `Change`); `log_floor` holds, per origin, the prefix compacted out of
            // the log; `changes_record` finds a record's changes from one origin (superseding).
            // Every record state is filed under its lineage's owner (`owner`), deleted ones
            // indexed for device syncs that start below the floor (live ones are found through
            // their rows); a quote created concurrently by another user under the same id keeps
            // its own, hidden lineage in `record_rivals`. States stored from now on leave out what
            // a live record's row holds (`encodeStoredState`); older ones are read as they are.
            try db.execute(sql: """
                ALTER TABLE changes ADD COLUMN covers BLOB;
                CREATE TABLE log_floor (
                    origin TEXT PRIMARY KEY NOT NULL,
                    contiguous INTEGER NOT NULL
                ) WITHOUT ROWID;
                DROP INDEX changes_hlc;
                CREATE INDEX changes_record ON changes (collection, record_id, origin);
                ALTER TABLE record_state ADD COLUMN owner TEXT NOT NULL DEFAULT '';
                ALTER TABLE record_state ADD COLUMN live INTEGER NOT NULL DEFAULT 1;
                CREATE TABLE record_rivals (
                    collection TEXT NOT NULL,
                    id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    state BLOB NOT NULL,
                    PRIMARY KEY (collection, id, owner)
                ) WITHOUT ROWID;
                """)
            let decoder = JSONDecoder()
            // Read first: the rows are updated below.
            for row in try Row.fetchAll(db, sql: "SELECT collection, id, state FROM record_state") {
                guard let schema = CollectionSchema.named(row[0]) else { continue }
                let id: String = row[1]
                let state = try StoaDatabase.decodeState(row[2] as Data, json: decoder)
                try db.execute(
                    sql: "UPDATE record_state SET owner = ?, live = ? WHERE collection = ? AND id = ?",
                    arguments: [schema.owner(of: state, id: id), state.isLive ? 1 : 0, schema.name, id]
                )
            }
            try db.execute(sql: "CREATE INDEX record_state_deleted ON record_state (collection, owner, id) WHERE live = 0")
        }
        migrator.registerMigration("v4-one-account-per-email") { db in
            // `email` shows an address only on the account that holds it cluster-wide (the
            // earliest created of those claiming it); `claimedEmail` is every account's own claim.
            try db.execute(sql: """
                ALTER TABLE users ADD COLUMN claimedEmail TEXT NOT NULL DEFAULT '';
                UPDATE users SET claimedEmail = email;
                CREATE INDEX users_claimed_email ON users (claimedEmail COLLATE NOCASE);
                """)
            for email in try String.fetchAll(db, sql: "SELECT DISTINCT lower(claimedEmail) FROM users WHERE claimedEmail != ''") {
                try StoaDatabase.resolveUnique(db, schema: .users, value: email)
            }
        }
        migrator.registerMigration("v5-superusers") { db in
            try db.execute(sql: """
                CREATE TABLE _superusers (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT NOT NULL DEFAULT '',
                    emailVisibility INTEGER NOT NULL DEFAULT 0,
                    verified INTEGER NOT NULL DEFAULT 0,
                    passwordHash TEXT NOT NULL DEFAULT '',
                    tokenKey TEXT NOT NULL DEFAULT '',
                    created TEXT NOT NULL DEFAULT '',
                    updated TEXT NOT NULL DEFAULT '',
                    claimedEmail TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX _superusers_email ON _superusers (email COLLATE NOCASE);
                CREATE INDEX _superusers_claimed_email ON _superusers (claimedEmail COLLATE NOCASE);
                """)
        }
        migrator.registerMigration("v6-logged-changes") { db in
            // Each record's state row names the changes of it the log holds (`logged`, see
            // `LoggedChanges`); the index over the log by record goes (a random page per write).
            try db.execute(sql: "ALTER TABLE record_state ADD COLUMN logged BLOB")
            var record: (collection: String, id: String)?
            var logged = LoggedChanges()
            func store() throws {
                guard let record, let stored = logged.stored else { return }
                try db.execute(
                    sql: "UPDATE record_state SET logged = ? WHERE collection = ? AND id = ?", arguments: [Data(stored), record.collection, record.id]
                )
            }
            let rows = try Row.fetchCursor(
                db, sql: "SELECT collection, record_id, origin, owner, MAX(seq) FROM changes GROUP BY collection, record_id, origin, owner ORDER BY collection, record_id"
            )
            while let row = try rows.next() {
                let collection: String = row[0]
                let id: String = row[1]
                if record?.collection != collection || record?.id != id {
                    try store()
                    record = (collection, id)
                    logged = LoggedChanges()
                }
                logged = logged.noting(origin: row[2], owner: row[3], seq: UInt64(row[4] as Int64), floor: VersionVector())
            }
            try store()
            try db.execute(sql: "DROP INDEX changes_record")
        }
        return migrator
    }
}
