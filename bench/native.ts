/**
 * The benchmarks' hand-written baselines at the layer the store runs on: a connection of the
 * native driver (`libsql`) with the store's per-connection pragmas, and its statements each
 * prepared once.
 *
 * @module
 */
import { NativeDatabase } from "../lib/deps.ts";
import type { NativeConnection, NativeStatement } from "../lib/deps.ts";
import { CACHE_SIZE } from "../lib/store/writer.ts";

/**
 * A native connection to `path` with the pragmas the store's local connections run with
 * (`lib/store/writer.ts`): a busy timeout, `synchronous = NORMAL` (the store's default) and
 * its page cache ({@link CACHE_SIZE}). The journal mode is the file's (a store's is WAL).
 *
 * @param path The database file (created when missing).
 * @param timeoutMs How long a statement waits for another connection's lock.
 */
export function nativeOn(path: string, timeoutMs = 5000): NativeConnection {
  const db = new NativeDatabase(path, { timeout: timeoutMs });
  try {
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec(`PRAGMA cache_size = ${CACHE_SIZE}`);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * A native connection's prepared statements, each prepared once (by SQL text).
 *
 * @param db The connection.
 * @param opts `raw`: statements that return rows return them as arrays (`stmt.raw(true)`).
 * @returns The kept statement of an SQL text, prepared on first use.
 */
export function prepared(
  db: NativeConnection,
  opts: { raw?: boolean } = {},
): (sql: string) => NativeStatement {
  const kept = new Map<string, NativeStatement>();
  return (sql) => {
    let st = kept.get(sql);
    if (!st) {
      st = db.prepare(sql);
      if (opts.raw && st.reader) st.raw(true);
      kept.set(sql, st);
    }
    return st;
  };
}
