/**
 * `rebuild()`: replays the event log into fresh projections with the same fold the append path
 * uses, so the result equals the incremental state.
 *
 * A local store is rebuilt beside the live one, in bounded memory and without holding the
 * write lock for the replay: the log is read in pages on the read connection (WAL readers never
 * block the writer), and each page is folded incrementally (load the rows it touches, fold,
 * write back) into a scratch database next to the store. Nothing but that page and the rows it
 * touches is in memory. When the log's tail is short, one write transaction copies the scratch
 * projections over the live ones (a bulk `INSERT … SELECT`) and folds the few events written
 * since into them, so a concurrent writer waits only for that copy. A remote database has no scratch file: it is
 * replayed in one transaction.
 *
 * @module
 */
import type { ResultSet } from "../deps.ts";
import type { DbClient } from "./db.ts";
import { newOrigin } from "../clock.ts";
import { EVENT_VERSION, type StoredEvent } from "../events.ts";
import { PROJECTION_TABLES } from "../projections/schema.ts";
import { type PendingPreload, Projection } from "../projections/project.ts";
import { logEvent } from "./log.ts";
import { projectionIndexes } from "./migrate.ts";
import { LogPages, Pacer, Scratch } from "./scratch.ts";
import { rowsOf } from "./raw.ts";
import { type Executor, nextTurn, type Writer } from "./writer.ts";

/** Events read and folded per page. */
const PAGE = 10_000;
/** A tail at most this long is folded inside the final (locked) transaction. */
const SHORT_TAIL = 2_000;

const PAGE_SQL = `SELECT seq, id, stream, type, at, data FROM events
                  WHERE seq > ? ORDER BY seq LIMIT ?`;

/** Turns a page of `PAGE_SQL` rows into events (only what the fold reads). */
function pageEvents(rs: ResultSet): { events: StoredEvent[]; last: number } {
  const events: StoredEvent[] = [];
  let last = 0;
  for (const r of rs.rows) {
    events.push(
      logEvent(
        String(r[1]),
        String(r[2]),
        String(r[3]),
        String(r[4]),
        "",
        EVENT_VERSION,
        "",
        String(r[5]),
      ),
    );
    last = Number(r[0]);
  }
  return { events, last };
}

/**
 * Reads the rows a fold asked for: `IN (…)` lists of up to 500 keys for a one-column key,
 * row-value lists of up to 500 keys for a composite one.
 */
export async function preload(
  x: Executor,
  p: PendingPreload,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  if (p.columns.length === 1) {
    const col = p.columns[0]!;
    for (let i = 0; i < p.keys.length; i += 500) {
      const part = p.keys.slice(i, i + 500).map((k) => k[0]!);
      const rs = await x.execute({
        sql: `SELECT * FROM ${p.table} WHERE ${col} IN (${part.map(() => "?").join(",")})`,
        args: part,
      });
      out.push(...rowsOf<Record<string, unknown>>(rs));
    }
    return out;
  }
  if (p.keys.length === 1) {
    const where = p.columns.map((c) => `${c} = ?`).join(" AND ");
    const rs = await x.execute({
      sql: `SELECT * FROM ${p.table} WHERE ${where}`,
      args: [...p.keys[0]!],
    });
    return rowsOf<Record<string, unknown>>(rs);
  }
  // Several keys: one row-value `IN (VALUES …)` read per 500 keys (SQLite reads each key
  // from the primary key, as the one-key form does), not one statement per key.
  const tuple = `(${p.columns.map(() => "?").join(",")})`;
  for (let i = 0; i < p.keys.length; i += 500) {
    const part = p.keys.slice(i, i + 500);
    const rs = await x.execute({
      sql: `SELECT * FROM ${p.table} WHERE (${p.columns.join(", ")}) IN (VALUES ${
        part.map(() => tuple).join(",")
      })`,
      args: part.flat(),
    });
    out.push(...rowsOf<Record<string, unknown>>(rs));
  }
  return out;
}

/** Folds events incrementally into the projections `x` holds (the append path's fold). */
async function foldInto(x: Executor, events: StoredEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = new Projection();
  for (const pl of p.preloads(events)) p.load(pl, await preload(x, pl));
  for (const e of events) p.apply(e);
  for (const s of p.statements()) await x.execute(s);
}

/** What a rebuild needs from its store. */
export interface RebuildSide {
  /** The database file (or URL). */
  path: string;
  /** Whether the database is remote. */
  remote: boolean;
  /** The store's writer. */
  writer: Writer;
  /** The store's read connection. */
  reader: DbClient;
}

/**
 * Rebuilds the projections; returns the number of events replayed.
 *
 * @param s The store's connections.
 * @param onProgress Called with the events replayed so far.
 */
export function rebuildProjections(
  s: RebuildSide,
  onProgress?: (done: number) => void,
): Promise<number> {
  return s.remote ? rebuildInPlace(s.writer, onProgress) : rebuildBeside(s, onProgress);
}

async function rebuildBeside(s: RebuildSide, onProgress?: (done: number) => void) {
  const scratch = `${s.path}.rebuild-${newOrigin()}`;
  const t = new Scratch(scratch);
  const log = new LogPages(s.path, s.writer.busyTimeoutMs);
  const pacer = new Pacer();
  let attached = false;
  try {
    let after = 0;
    let count = 0;
    for (;;) {
      const { events, last } = log.next(after, PAGE);
      await pacer.pace();
      if (events.length > 0) {
        await t.fold(events, pacer);
        after = last;
        count += events.length;
        onProgress?.(count);
      }
      if (events.length < SHORT_TAIL) break;
    }
    log.close();
    t.close();
    await nextTurn();
    await s.writer.run({ sql: "ATTACH DATABASE ? AS rebuilt", args: [scratch] });
    attached = true;
    count += await s.writer.tx(async (x) => {
      for (const tb of PROJECTION_TABLES) {
        await x.execute(`DELETE FROM main.${tb.name}`);
        await x.execute(`INSERT INTO main.${tb.name} SELECT * FROM rebuilt.${tb.name}`);
      }
      // The tail written since the last page, folded into the live tables under the lock
      // (the append path's incremental fold): nothing is missed.
      let n = 0;
      for (;;) {
        const { events, last } = pageEvents(
          await x.execute({ sql: PAGE_SQL, args: [after, PAGE] }),
        );
        if (events.length === 0) break;
        await foldInto(x, events);
        after = last;
        n += events.length;
      }
      return n;
    });
    onProgress?.(count);
    return count;
  } finally {
    if (attached) await s.writer.run("DETACH DATABASE rebuilt").catch(() => {});
    try {
      log.close();
    } catch { /* closed already */ }
    try {
      t.close();
    } catch { /* closed already */ }
    for (const f of [scratch, scratch + "-journal", scratch + "-wal", scratch + "-shm"]) {
      await Deno.remove(f).catch(() => {});
    }
  }
}

/** The remote case: the whole replay in one write transaction. */
function rebuildInPlace(writer: Writer, onProgress?: (done: number) => void): Promise<number> {
  return writer.tx(async (x) => {
    // Secondary indexes are dropped and made again after the bulk write: building an index
    // once over the final rows is cheaper than keeping it up to date row by row.
    const indexes = projectionIndexes();
    for (const ix of indexes) await x.execute(`DROP INDEX IF EXISTS ${ix.name}`);
    for (const t of PROJECTION_TABLES) await x.execute(`DELETE FROM ${t.name}`);
    const p = new Projection();
    let after = 0;
    let count = 0;
    for (;;) {
      const { events, last } = pageEvents(await x.execute({ sql: PAGE_SQL, args: [after, PAGE] }));
      if (events.length === 0) break;
      for (const e of events) p.apply(e);
      after = last;
      count += events.length;
      // Chunk rows are insert-only: write them as we go to keep memory flat.
      for (const st of p.spill()) await x.execute(st);
      onProgress?.(count);
      await nextTurn();
    }
    for (const s of p.statements(true)) await x.execute(s);
    for (const ix of indexes) await x.execute(ix.sql);
    return count;
  });
}
