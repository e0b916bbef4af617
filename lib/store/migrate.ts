/**
 * Schema migrations: brings a database up to {@link SCHEMA_VERSION} in one write transaction,
 * refuses a database written by a newer modelog, and keeps the device's origin id.
 *
 * @module
 */
import { type DbClient, dialectOf } from "./db.ts";
import { MIGRATION_LOCK, PG_MIGRATIONS } from "./pg_sql.ts";
import { newOrigin } from "../clock.ts";
import { ModelogError } from "../errors.ts";
import { MIGRATIONS, PROJECTION_TABLES, SCHEMA_VERSION } from "../projections/schema.ts";
import { eventChecksum } from "./log.ts";

/** Version 2 to 3: computes the checksum of every event written before it was kept. */
async function fillChecksums(w: Pick<DbClient, "execute">): Promise<void> {
  let after = 0;
  for (;;) {
    const rs = await w.execute({
      sql: `SELECT seq, id, stream, type, at, origin, v, data FROM events
            WHERE seq > ? ORDER BY seq LIMIT 2000`,
      args: [after],
    });
    if (rs.rows.length === 0) return;
    for (const r of rs.rows) {
      const e = {
        id: String(r.id),
        stream: String(r.stream),
        type: String(r.type),
        at: String(r.at),
        origin: String(r.origin),
        v: Number(r.v),
      };
      await w.execute({
        sql: "UPDATE events SET checksum = ? WHERE seq = ?",
        args: [eventChecksum(e, String(r.data)), r.seq],
      });
      after = Number(r.seq);
    }
  }
}

/**
 * Runs the pending migrations on the writer connection and returns the store's origin id
 * (made and kept on first open).
 *
 * @param c The writer connection.
 * @param path The database path or URL, for error messages.
 * @param remote Whether `c` is a remote database (interactive transaction instead of
 *   `BEGIN IMMEDIATE`). On PostgreSQL the transaction first takes an advisory lock, so that
 *   several server instances starting at once migrate one after the other.
 * @returns The origin id kept in the database.
 * @throws {ModelogError} `SCHEMA_TOO_NEW` when the database is newer than this code.
 */
export async function migrate(c: DbClient, path: string, remote: boolean): Promise<string> {
  const pg = dialectOf(c) === "postgres";
  const tx = remote ? await c.transaction("write") : undefined;
  const w = tx ?? c;
  if (!tx) await c.execute("BEGIN IMMEDIATE");
  try {
    if (pg) {
      await w.execute({ sql: "SELECT pg_advisory_xact_lock(?::bigint)", args: [MIGRATION_LOCK] });
    }
    await w.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const v = await w.execute("SELECT value FROM meta WHERE key = 'schema_version'");
    const current = v.rows[0] ? Number(v.rows[0].value) : 0;
    if (current > SCHEMA_VERSION) {
      throw new ModelogError(
        "SCHEMA_TOO_NEW",
        `Store ${
          JSON.stringify(path)
        } has schema version ${current}; this modelog understands up to ${SCHEMA_VERSION}: upgrade modelog`,
      );
    }
    for (let i = current; i < SCHEMA_VERSION; i++) {
      for (const sql of (pg ? PG_MIGRATIONS : MIGRATIONS)[i]!) await w.execute(sql);
    }
    if (current >= 1 && current < 3) await fillChecksums(w);
    await w.execute({
      sql:
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      args: [String(SCHEMA_VERSION)],
    });
    const o = await w.execute("SELECT value FROM meta WHERE key = 'origin'");
    let origin = o.rows[0] ? String(o.rows[0].value) : "";
    if (!origin) {
      origin = newOrigin();
      await w.execute({ sql: "INSERT INTO meta(key, value) VALUES ('origin', ?)", args: [origin] });
    }
    if (tx) await tx.commit();
    else await c.execute("COMMIT");
    return origin;
  } catch (e) {
    try {
      if (tx) await tx.rollback();
      else await c.execute("ROLLBACK");
    } catch { /* nothing to roll back */ }
    throw e;
  } finally {
    tx?.close();
  }
}

/** The secondary indexes of the projection tables, from the schema's statements. */
export function projectionIndexes(): { name: string; sql: string }[] {
  const tables = new Set(PROJECTION_TABLES.map((t) => t.name));
  const out: { name: string; sql: string }[] = [];
  for (const m of MIGRATIONS) {
    for (const sql of m) {
      const x = /^CREATE INDEX IF NOT EXISTS (\w+) ON (\w+)/.exec(sql);
      if (x && tables.has(x[2]!)) out.push({ name: x[1]!, sql });
    }
  }
  return out;
}
