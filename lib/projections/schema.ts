/**
 * The SQL schema of the store: the event log, the read-side projections and the store's own
 * bookkeeping, with numbered migrations.
 *
 * @module
 */

/** The schema version this code writes and understands. */
export const SCHEMA_VERSION = 4;

/** The projection tables, in the order a canonical dump lists them, with their sort keys. */
export const PROJECTION_TABLES: readonly { name: string; orderBy: string }[] = [
  { name: "models", orderBy: "id" },
  { name: "model_tags", orderBy: "model_id, tag" },
  { name: "model_metadata", orderBy: "model_id, key" },
  { name: "tasks", orderBy: "id" },
  { name: "task_models", orderBy: "task_id, role, name" },
  { name: "metric_chunks", orderBy: "event_id" },
  { name: "scalar_series", orderBy: "model_id, title, series" },
  { name: "plots", orderBy: "model_id, title, series, iteration" },
];

/** The migrations: entry i brings a database from version i to i + 1 (a list of statements). */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      stream TEXT NOT NULL,
      type TEXT NOT NULL,
      at TEXT NOT NULL,
      origin TEXT NOT NULL,
      v INTEGER NOT NULL,
      actor TEXT NOT NULL,
      data TEXT NOT NULL,
      remote INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE INDEX IF NOT EXISTS events_stream ON events(stream, at)`,
    `CREATE TABLE IF NOT EXISTS models (
      id TEXT PRIMARY KEY,
      created INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL DEFAULT '',
      name TEXT NOT NULL DEFAULT '',
      comment TEXT NOT NULL DEFAULT '',
      project TEXT NOT NULL DEFAULT '',
      framework TEXT NOT NULL DEFAULT '',
      config_text TEXT NOT NULL DEFAULT '',
      labels TEXT NOT NULL DEFAULT '{}',
      parent TEXT NOT NULL DEFAULT '',
      task TEXT NOT NULL DEFAULT '',
      original_task TEXT NOT NULL DEFAULT '',
      uri TEXT NOT NULL DEFAULT '',
      hash TEXT NOT NULL DEFAULT '',
      size INTEGER NOT NULL DEFAULT 0,
      iteration INTEGER,
      is_package INTEGER NOT NULL DEFAULT 0,
      published INTEGER NOT NULL DEFAULT 0,
      published_at TEXT NOT NULL DEFAULT '',
      archived INTEGER NOT NULL DEFAULT 0,
      removed INTEGER NOT NULL DEFAULT 0,
      removed_at TEXT NOT NULL DEFAULT '',
      last_update TEXT NOT NULL DEFAULT '',
      clock TEXT NOT NULL DEFAULT '{}'
    )`,
    `CREATE INDEX IF NOT EXISTS models_order ON models(last_update DESC, id)`,
    `CREATE INDEX IF NOT EXISTS models_project ON models(project, last_update DESC)`,
    `CREATE INDEX IF NOT EXISTS models_name ON models(name)`,
    `CREATE INDEX IF NOT EXISTS models_uri ON models(uri)`,
    `CREATE INDEX IF NOT EXISTS models_hash ON models(hash)`,
    `CREATE TABLE IF NOT EXISTS model_tags (
      model_id TEXT NOT NULL, tag TEXT NOT NULL, present INTEGER NOT NULL, at TEXT NOT NULL,
      PRIMARY KEY (model_id, tag)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS model_tags_tag ON model_tags(tag, model_id) WHERE present = 1`,
    `CREATE TABLE IF NOT EXISTS model_metadata (
      model_id TEXT NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL,
      present INTEGER NOT NULL, at TEXT NOT NULL, PRIMARY KEY (model_id, key)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS model_metadata_kv ON model_metadata(key, value, model_id) WHERE present = 1`,
    `CREATE TABLE IF NOT EXISTS tasks (
      id TEXT PRIMARY KEY,
      created INTEGER NOT NULL DEFAULT 0,
      project TEXT NOT NULL DEFAULT '',
      name TEXT NOT NULL DEFAULT '',
      task_type TEXT NOT NULL DEFAULT '',
      tags TEXT NOT NULL DEFAULT '[]',
      output_uri TEXT NOT NULL DEFAULT '',
      closed INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL DEFAULT '',
      last_update TEXT NOT NULL DEFAULT ''
    )`,
    `CREATE TABLE IF NOT EXISTS task_models (
      task_id TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL, model_id TEXT NOT NULL,
      at TEXT NOT NULL, PRIMARY KEY (task_id, role, name)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS task_models_model ON task_models(model_id)`,
    `CREATE TABLE IF NOT EXISTS metric_chunks (
      event_id TEXT PRIMARY KEY, model_id TEXT NOT NULL, title TEXT NOT NULL,
      series TEXT NOT NULL, n INTEGER NOT NULL, min_iter INTEGER NOT NULL,
      max_iter INTEGER NOT NULL, at TEXT NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS metric_chunks_series ON metric_chunks(model_id, title, series, at)`,
    `CREATE TABLE IF NOT EXISTS scalar_series (
      model_id TEXT NOT NULL, title TEXT NOT NULL, series TEXT NOT NULL,
      count INTEGER NOT NULL, min REAL, max REAL, last TEXT NOT NULL, last_iter INTEGER NOT NULL,
      last_at TEXT NOT NULL, max_iter INTEGER NOT NULL,
      PRIMARY KEY (model_id, title, series)) WITHOUT ROWID`,
    `CREATE TABLE IF NOT EXISTS plots (
      model_id TEXT NOT NULL, title TEXT NOT NULL, series TEXT NOT NULL, iteration INTEGER NOT NULL,
      kind TEXT NOT NULL, event_id TEXT NOT NULL, at TEXT NOT NULL,
      PRIMARY KEY (model_id, title, series, iteration)) WITHOUT ROWID`,
    `CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ],
  // Version 2: events the sync worker holds back from a server (refused, or a blob that failed
  // its hash), each with its reason; `held_by` names the event a waiting one queues behind.
  [
    `CREATE TABLE IF NOT EXISTS sync_quarantine (
      server TEXT NOT NULL, event_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL,
      type TEXT NOT NULL, reason TEXT NOT NULL, held_by TEXT NOT NULL DEFAULT '',
      status TEXT NOT NULL DEFAULT 'held', since TEXT NOT NULL,
      PRIMARY KEY (server, event_id)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS sync_quarantine_stream ON sync_quarantine(server, stream, status)`,
  ],
  // Version 3: a checksum per event (see `store/log.ts`); `migrate` fills it for old events.
  [`ALTER TABLE events ADD COLUMN checksum TEXT NOT NULL DEFAULT ''`],
  // Version 4: models a project-limited server said left this device's scope (a pull's `gone`),
  // per server, with when the pull said so. Local state, not a
  // projection: the log keeps every event, a rebuild never touches it, and the model reads
  // leave a model out while any server holds it here (see `sync/worker.ts`).
  [
    `CREATE TABLE IF NOT EXISTS sync_gone (
      server TEXT NOT NULL, model_id TEXT NOT NULL, since TEXT NOT NULL,
      PRIMARY KEY (server, model_id)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS sync_gone_model ON sync_gone(model_id)`,
  ],
];
