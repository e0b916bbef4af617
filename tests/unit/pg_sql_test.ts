/**
 * The SQLite -> PostgreSQL rewrites of `lib/store/pg_sql.ts`, as a table of statement ->
 * expected PostgreSQL text, and the schema's DDL as PostgreSQL runs it.
 */
import assert from "node:assert/strict";
import {
  ddlToPostgres,
  numberPlaceholders,
  PG_MIGRATIONS,
  PRIMARY_KEYS,
  toPostgres,
} from "../../lib/store/pg_sql.ts";
import { MIGRATIONS } from "../../lib/projections/schema.ts";

const CASES: [string, string | null][] = [
  ["SELECT 1", "SELECT 1"],
  ["SELECT id FROM events WHERE id IN (?,?,?)", "SELECT id FROM events WHERE id IN ($1,$2,$3)"],
  ["SELECT '?' AS q, ? AS v", "SELECT '?' AS q, $1 AS v"],
  [`SELECT "a?b" FROM t WHERE x = ?`, `SELECT "a?b" FROM t WHERE x = $1`],
  ["SELECT 'it''s ?' WHERE a = ?", "SELECT 'it''s ?' WHERE a = $1"],
  [
    "INSERT OR REPLACE INTO models (id,name,size) VALUES (?,?,?),(?,?,?) ",
    "INSERT INTO models (id,name,size) VALUES ($1,$2,$3),($4,$5,$6) ON CONFLICT (id) DO UPDATE " +
    "SET name = excluded.name, size = excluded.size",
  ],
  [
    "INSERT OR REPLACE INTO model_tags (model_id,tag,present,at) VALUES (?,?,?,?)",
    "INSERT INTO model_tags (model_id,tag,present,at) VALUES ($1,$2,$3,$4) ON CONFLICT " +
    "(model_id, tag) DO UPDATE SET present = excluded.present, at = excluded.at",
  ],
  [
    "INSERT OR REPLACE INTO sync_state (key) VALUES (?)",
    "INSERT INTO sync_state (key) VALUES ($1) ON CONFLICT (key) DO NOTHING",
  ],
  [
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('origin', ?)",
    "INSERT INTO meta(key, value) VALUES ('origin', $1) ON CONFLICT DO NOTHING",
  ],
  [
    "INSERT INTO meta(key, value) VALUES ('max_at', ?) ON CONFLICT(key) DO UPDATE SET value = " +
    "max(value, excluded.value)",
    "INSERT INTO meta(key, value) VALUES ('max_at', $1) ON CONFLICT(key) DO UPDATE SET value = " +
    "GREATEST(value, excluded.value)",
  ],
  ["SELECT min(a, b), max(x) FROM t", "SELECT LEAST(a, b), max(x) FROM t"],
  [
    "SELECT hash, group_concat(id) AS ids, max(uri) AS uri FROM models GROUP BY hash",
    "SELECT hash, string_agg(id, ',') AS ids, max(uri) AS uri FROM models GROUP BY hash",
  ],
  ["SELECT group_concat(id, ';') FROM t", "SELECT string_agg(id, ';') FROM t"],
  ["BEGIN IMMEDIATE", "BEGIN"],
  ["PRAGMA busy_timeout = 10000", null],
  ["  pragma synchronous = NORMAL", null],
  [
    "SELECT seq FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
    "SELECT seq FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
  ],
];

Deno.test("pg_sql: each SQLite form the store writes has its expected PostgreSQL text", () => {
  for (const [sqlite, pg] of CASES) assert.equal(toPostgres(sqlite), pg, sqlite);
});

Deno.test("pg_sql: placeholders count across lines and skip quoted text", () => {
  assert.equal(
    numberPlaceholders("a = ?\n AND b = '?' AND c = ?"),
    "a = $1\n AND b = '?' AND c = $2",
  );
});

Deno.test("pg_sql: INSERT OR REPLACE into a table with no known key is refused", () => {
  assert.throws(() => toPostgres("INSERT OR REPLACE INTO nowhere (a) VALUES (?)"), TypeError);
});

Deno.test("pg_sql: the schema's DDL as PostgreSQL runs it", () => {
  assert.equal(
    ddlToPostgres("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, r REAL)"),
    "CREATE TABLE t (seq BIGSERIAL PRIMARY KEY, n BIGINT, r DOUBLE PRECISION)",
  );
  assert.equal(
    ddlToPostgres("CREATE TABLE t (k TEXT NOT NULL, PRIMARY KEY (k)) WITHOUT ROWID"),
    'CREATE TABLE t (k TEXT COLLATE "C" NOT NULL, PRIMARY KEY (k))',
  );
  const all = PG_MIGRATIONS.flat().join("\n");
  assert.doesNotMatch(all, /AUTOINCREMENT|WITHOUT ROWID|\bINTEGER\b|\bREAL\b/);
  assert.match(all, /tx xid8/);
  // Every table the schema creates has its key known to the INSERT OR REPLACE rewrite.
  for (const sql of MIGRATIONS.flat()) {
    const m = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(sql);
    if (m) assert.ok(PRIMARY_KEYS[m[1]!], `no key for ${m[1]}`);
  }
});
