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
            // A change may stand for earlier changes of its origin to the same record (`covers`,
            // see `Change`); `log_floor` holds, per origin, the prefix compacted out of the log;
            // deleted records' states are filed under their owner (live ones are found through
            // their rows) for device syncs that start below the floor; `changes_record` finds a
            // record's changes from one origin (superseding). States stored from now on leave out
            // what a live record's row holds (`encodeStoredState`); older ones are read as they are.
            try db.execute(sql: """
                ALTER TABLE changes ADD COLUMN covers BLOB;
                CREATE TABLE log_floor (
                    origin TEXT PRIMARY KEY NOT NULL,
                    contiguous INTEGER NOT NULL
                ) WITHOUT ROWID;
                DROP INDEX changes_hlc;
                CREATE INDEX changes_record ON changes (collection, record_id, origin);
                ALTER TABLE record_state ADD COLUMN owner TEXT NOT NULL DEFAULT '';
                """)
            let decoder = JSONDecoder()
            // Read first: the rows are updated below.
            for row in try Row.fetchAll(db, sql: """
                SELECT collection, id, state FROM record_state r
                WHERE NOT EXISTS (SELECT 1 FROM quotes q WHERE r.collection = 'quotes' AND q.id = r.id)
                  AND NOT EXISTS (SELECT 1 FROM users u WHERE r.collection = 'users' AND u.id = r.id)
                """) {
                guard let schema = CollectionSchema.named(row[0]) else { continue }
                let id: String = row[1]
                let state = try StoaDatabase.decodeState(row[2] as Data, json: decoder)
                try db.execute(
                    sql: "UPDATE record_state SET owner = ? WHERE collection = ? AND id = ?",
                    arguments: [schema.owner(of: state, id: id), schema.name, id]
                )
            }
            try db.execute(sql: "CREATE INDEX record_state_deleted ON record_state (collection, owner, id) WHERE owner != ''")
        }
        return migrator
    }
}
