/**
 * The SQLite statements the store, the fold and the reads write, as PostgreSQL runs them. The
 * codebase writes one SQL text per statement; the few SQLite-only forms it uses are rewritten
 * here by explicit, tested rules (see `tests/unit/pg_sql_test.ts`, a table of statement ->
 * expected PostgreSQL):
 *
 * - `?` placeholders become `$1, $2, ...` (never inside a quoted literal);
 * - `INSERT OR REPLACE INTO t (cols) VALUES ...` becomes `INSERT ... ON CONFLICT (pk) DO UPDATE
 *   SET c = excluded.c` for every non-key column (the keys come from {@link PRIMARY_KEYS});
 * - `INSERT OR IGNORE INTO` becomes `INSERT INTO ... ON CONFLICT DO NOTHING`;
 * - the two-argument scalar `max(a, b)` / `min(a, b)` become `GREATEST` / `LEAST`;
 * - `group_concat(x)` becomes `string_agg(x, ',')`;
 * - `BEGIN IMMEDIATE` becomes `BEGIN`; a `PRAGMA` is dropped (null: nothing to run).
 *
 * Anything else passes through unchanged. What a rewrite would do badly is written per
 * dialect where it is used instead (the schema below, the JSON aggregates of the model query,
 * the pull cursor).
 *
 * @module
 */
import { MIGRATIONS } from "../projections/schema.ts";

/** The primary key of every table an `INSERT OR REPLACE` may target. */
export const PRIMARY_KEYS: Readonly<Record<string, readonly string[]>> = {
  meta: ["key"],
  sync_state: ["key"],
  events: ["seq"],
  models: ["id"],
  model_tags: ["model_id", "tag"],
  model_metadata: ["model_id", "key"],
  tasks: ["id"],
  task_models: ["task_id", "role", "name"],
  metric_chunks: ["event_id"],
  scalar_series: ["model_id", "title", "series"],
  plots: ["model_id", "title", "series", "iteration"],
  upload_states: ["upload_id"],
  sync_quarantine: ["server", "event_id"],
  sync_gone: ["server", "model_id"],
};

/** Replaces `?` placeholders outside quoted literals and identifiers with `$1, $2, ...`. */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      out += c;
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === "?") out += `$${++n}`;
    else out += c;
  }
  return out;
}

const REPLACE = /^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)/i;
const IGNORE = /^\s*INSERT\s+OR\s+IGNORE\s+INTO\s+/i;
const SCALAR_MINMAX = /\b(max|min)\(\s*([\w.]+)\s*,\s*([\w.]+)\s*\)/gi;
const GROUP_CONCAT = /\bgroup_concat\(\s*([\w.]+)\s*(?:,\s*('[^']*')\s*)?\)/gi;

/**
 * One SQLite statement as PostgreSQL runs it, or null when it has nothing to do there (a
 * `PRAGMA`).
 *
 * @throws {TypeError} for an `INSERT OR REPLACE` into a table with no known key
 */
export function toPostgres(sql: string): string | null {
  const trimmed = sql.trim();
  if (/^PRAGMA\b/i.test(trimmed)) return null;
  if (/^BEGIN\s+IMMEDIATE\s*;?$/i.test(trimmed)) return "BEGIN";
  let s = trimmed;
  const rep = REPLACE.exec(s);
  if (rep) {
    const table = rep[1]!;
    const keys = PRIMARY_KEYS[table];
    if (!keys) throw new TypeError(`INSERT OR REPLACE into ${table}: no primary key known`);
    const cols = rep[2]!.split(",").map((c) => c.trim());
    const rest = cols.filter((c) => !keys.includes(c));
    s = s.replace(/^\s*INSERT\s+OR\s+REPLACE\s+INTO/i, "INSERT INTO");
    s += rest.length
      ? ` ON CONFLICT (${keys.join(", ")}) DO UPDATE SET ${
        rest.map((c) => `${c} = excluded.${c}`).join(", ")
      }`
      : ` ON CONFLICT (${keys.join(", ")}) DO NOTHING`;
  } else if (IGNORE.test(s)) {
    s = s.replace(IGNORE, "INSERT INTO ") + " ON CONFLICT DO NOTHING";
  }
  s = s.replace(
    SCALAR_MINMAX,
    (_m, f: string, a: string, b: string) =>
      `${f.toLowerCase() === "max" ? "GREATEST" : "LEAST"}(${a}, ${b})`,
  );
  s = s.replace(
    GROUP_CONCAT,
    (_m, x: string, sep: string | undefined) => `string_agg(${x}, ${sep ?? "','"})`,
  );
  return numberPlaceholders(s);
}

/**
 * One SQLite `CREATE TABLE` / `CREATE INDEX` of the schema as PostgreSQL DDL: integers are
 * `BIGINT` (a model size passes 2^31), reals `DOUBLE PRECISION`, text compares bytewise
 * (`COLLATE "C"`, as SQLite does: HLC times and ids must order the same on both), the event
 * sequence is a `BIGSERIAL`, and `WITHOUT ROWID` goes.
 */
export function ddlToPostgres(sql: string): string {
  return sql
    .replace(/\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b/gi, "BIGSERIAL PRIMARY KEY")
    .replace(/\bINTEGER\b/g, "BIGINT")
    .replace(/\bREAL\b/g, "DOUBLE PRECISION")
    .replace(/\bBLOB\b/g, "BYTEA")
    .replace(/\bTEXT\b/g, 'TEXT COLLATE "C"')
    .replace(/\)\s*WITHOUT\s+ROWID\s*$/i, ")");
}

/**
 * Statements PostgreSQL runs after the shared schema of a version: the event's transaction id
 * (`tx`, for the pull cursor: see `pullSql`), the upload states of resumable S3 uploads.
 */
const PG_EXTRA: readonly (readonly string[])[] = [
  [
    `ALTER TABLE events ADD COLUMN IF NOT EXISTS tx xid8 NOT NULL DEFAULT pg_current_xact_id()`,
    `CREATE INDEX IF NOT EXISTS events_tx_seq ON events(tx, seq)`,
    `CREATE TABLE IF NOT EXISTS upload_states (
      upload_id TEXT COLLATE "C" PRIMARY KEY,
      version BIGINT NOT NULL,
      state TEXT NOT NULL,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  ],
];

/** The migrations of the schema as PostgreSQL runs them, version by version. */
export const PG_MIGRATIONS: readonly (readonly string[])[] = MIGRATIONS.map((m, i) => [
  ...m.map(ddlToPostgres),
  ...(PG_EXTRA[i] ?? []),
]);

/** The advisory lock key every migration takes (several instances may start at once). */
export const MIGRATION_LOCK = 0x6d6f_6465_6c6f_67n; // "modelog"

/**
 * The pull page on PostgreSQL: events after the cursor `(tx, seq)` in `(tx, seq)` order, only
 * those whose transaction is older than every transaction still running. An event's `seq` is
 * taken when it is inserted, not when it commits, so a seq cursor skips an event whose
 * transaction commits after a later one; ordered by transaction id and served only below the
 * snapshot's horizon, every row a reader could still be missing is beyond its cursor.
 */
export const PG_PULL_SQL = `SELECT seq, id, stream, type, at, origin, v, actor, data, tx, more
  FROM (
    SELECT seq, id, stream, type, at, origin, v, actor, data, tx::text AS tx,
      row_number() OVER w AS n,
      sum(octet_length(data) + octet_length(stream) + octet_length(type) + octet_length(at)
          + octet_length(origin) + octet_length(actor) + 120) OVER w AS cum,
      count(*) OVER () AS more
    FROM (
      SELECT * FROM events
      WHERE (tx, seq) > ($1::text::xid8, $2::bigint)
        AND tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx, seq LIMIT $3
    ) page
    WINDOW w AS (ORDER BY tx, seq)
  ) sized
  WHERE n = 1 OR cum <= $4
  ORDER BY tx, seq`;
