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
import { type Client, createClient, type ResultSet } from "../deps.ts";
import { newOrigin } from "../clock.ts";
import { EVENT_VERSION, type StoredEvent } from "../events.ts";
import { PROJECTION_TABLES } from "../projections/schema.ts";
import { type PendingPreload, Projection } from "../projections/project.ts";
import { logEvent } from "./log.ts";
import { migrate, projectionIndexes } from "./migrate.ts";
import { rowsOf } from "./raw.ts";
import { type Executor, fileUrl, nextTurn, type Writer } from "./writer.ts";

/** Events read and folded per page. */
const PAGE = 20_000;
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
 * Reads the rows a fold asked for: `IN (…)` lists of up to 500 keys for a one-column key, one
 * primary-key read per key otherwise.
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
  const where = p.columns.map((c) => `${c} = ?`).join(" AND ");
  for (const k of p.keys) {
    const rs = await x.execute({ sql: `SELECT * FROM ${p.table} WHERE ${where}`, args: [...k] });
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
  reader: Client;
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
  const t = createClient({ url: fileUrl(scratch) });
  let attached = false;
  try {
    // A throwaway file: no journal, no syncs.
    await t.execute("PRAGMA journal_mode = OFF");
    await t.execute("PRAGMA synchronous = OFF");
    await migrate(t, scratch, false);
    let after = 0;
    let count = 0;
    for (;;) {
      const { events, last } = pageEvents(
        await s.reader.execute({ sql: PAGE_SQL, args: [after, PAGE] }),
      );
      if (events.length > 0) {
        await t.execute("BEGIN");
        await foldInto(t, events);
        await t.execute("COMMIT");
        after = last;
        count += events.length;
        onProgress?.(count);
      }
      await nextTurn();
      if (events.length < SHORT_TAIL) break;
    }
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
    t.close();
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
