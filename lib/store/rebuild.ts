/**
 * `rebuild()`: replays the event log into fresh projections with the same fold the append path
 * uses, so the result equals the incremental state.
 *
 * A local store is rebuilt beside the live one, in bounded memory, and a concurrent writer
 * (in this process or another) never waits for more than one short transaction:
 *
 * 1. The log is read in pages on a read connection of its own (WAL readers never block the
 *    writer) and each page is folded incrementally (load the rows it touches, fold, write back)
 *    into a scratch database next to the store (`scratch.ts`), without the write lock, in a
 *    worker thread (`scratch_worker.ts`) while this thread reads the next page.
 * 2. The scratch tables are copied into `__rebuilt` twins of the projection tables inside the
 *    live database, in short write transactions on the store's own writer (`swap.ts`).
 * 3. The events written meanwhile are folded into the twins, a short transaction per page;
 *    the transaction that folds the last (short) page also swaps the twins in (renames only).
 *    Only that one transaction changes what readers see; the replaced tables are dropped
 *    after it, a transaction each.
 *
 * One rebuild runs at a time per store (a lock file beside it, across processes); a crashed
 * one leaves the store as it was, and its scratch file and `__rebuilt` tables are removed by
 * the next rebuild. A remote database has no scratch file: it is replayed in one transaction.
 *
 * @module
 */
import type { ResultSet } from "../deps.ts";
import type { DbClient } from "./db.ts";
import { newOrigin } from "../clock.ts";
import type { StoredEvent } from "../events.ts";
import { PROJECTION_TABLES } from "../projections/schema.ts";
import { type PendingPreload, Projection } from "../projections/project.ts";
import { foldEventsOfRows } from "./log.ts";
import { projectionIndexes } from "./migrate.ts";
import { ScratchThread } from "./scratch_thread.ts";
import { notJson, PageNotJsonError, readPageText } from "./log_pages.ts";
import {
  CopyPacer,
  copyTable,
  createRebuiltTables,
  dropLeftovers,
  dropStale,
  intoRebuilt,
  liveShapes,
  pausedTx,
  preloadRebuilt,
  swapIn,
} from "./swap.ts";
import { basename, dirname, join } from "node:path";
import { rowsOf } from "./raw.ts";
import { type Executor, nextTurn, type Writer } from "./writer.ts";

/**
 * Yields a macrotask once this thread has worked `budgetMs` without one (the log's reads are
 * native calls that never yield), so timers and I/O of the same process run meanwhile.
 */
class Pacer {
  #since = performance.now();
  constructor(readonly budgetMs = 100) {}
  /** Awaits a turn when the budget is spent. */
  async pace(): Promise<void> {
    if (performance.now() - this.#since < this.budgetMs) return;
    await nextTurn();
    this.#since = performance.now();
  }
}

/** Events read and folded per page. */
const PAGE = 10_000;
/** Pages handed to the scratch fold and not folded yet, at most. */
const FOLDING = 2;
/** The scratch fold stops once a page of the log is shorter than this. */
const SHORT_TAIL = 2_000;
/** Events written during the copy, folded per write transaction (at most). */
const CATCH_UP = 1_000;
/** Beside the database file: the scratch databases (`…rebuild-<id>`) and the rebuild lock. */
const SCRATCH_SUFFIX = ".rebuild-";
const LOCK_SUFFIX = ".rebuild.lock";

const PAGE_SQL = `SELECT seq, id, stream, type, at, data FROM events
                  WHERE seq > ? ORDER BY seq LIMIT ?`;

/** Turns a page of `PAGE_SQL` rows into events (only what the fold reads). */
function pageEvents(rs: ResultSet): { events: StoredEvent[]; last: number } {
  return foldEventsOfRows(rs.rows, 0);
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

/**
 * Folds events incrementally into the projections `x` holds (the append path's fold); with
 * `rebuilt`, into the `__rebuilt` tables.
 */
async function foldInto(x: Executor, events: StoredEvent[], rebuilt = false): Promise<void> {
  if (events.length === 0) return;
  const p = new Projection();
  const w = rebuilt ? intoRebuilt(x) : x;
  for (const pl of p.preloads(events)) {
    p.load(pl, await preload(x, rebuilt ? preloadRebuilt(pl) : pl));
  }
  for (const e of events) p.apply(e);
  for (const s of p.statements()) await w.execute(s);
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
  // One rebuild of a store at a time (across processes too): the `__rebuilt` tables and the
  // scratch files found while holding the lock are a crashed rebuild's, and are removed.
  const lock = await Deno.open(`${s.path}${LOCK_SUFFIX}`, { create: true, write: true });
  try {
    await lock.lock(true);
    await removeScratchFiles(s.path);
    await dropLeftovers(s.writer);
    return await rebuildLocked(s, onProgress);
  } finally {
    lock.close();
  }
}

async function rebuildLocked(s: RebuildSide, onProgress?: (done: number) => void) {
  const scratch = `${s.path}${SCRATCH_SUFFIX}${newOrigin()}`;
  const pacer = new Pacer();
  let attached = false;
  let t: ScratchThread | undefined;
  try {
    const copyPacer = new CopyPacer();
    await copyPacer.prime(s.writer);
    // 1. The log, page by page, into the scratch database (no write lock): this thread reads
    // the next page while the worker folds the one before.
    t = await ScratchThread.open(scratch);
    const folding: { after: number; done: Promise<unknown> }[] = [];
    const settle = async () => {
      const page = folding.shift()!;
      const err = await page.done;
      if (err instanceof PageNotJsonError) throw await notJson(s.reader, page.after, PAGE, err);
      if (err) throw err;
    };
    let after = 0;
    let count = 0;
    for (;;) {
      const page = await readPageText(s.reader, after, PAGE);
      await pacer.pace();
      if (page.n > 0) {
        const n = page.n;
        // Never rejects (a failure is its value), so a failure waits here for its turn.
        const done = t.fold(page.text).then(() => {
          count += n;
          onProgress?.(count);
        }, (e: unknown) => e ?? new Error("the scratch fold failed"));
        folding.push({ after, done });
        after = page.last;
      }
      while (folding.length >= FOLDING) await settle();
      if (page.n < SHORT_TAIL) break;
    }
    while (folding.length > 0) await settle();
    await t.close();
    t = undefined;
    await nextTurn();
    // 2. The scratch tables copied beside the live ones, in short transactions.
    const shapes = await liveShapes(s.reader);
    await createRebuiltTables(s.writer, shapes);
    await s.writer.run({ sql: "ATTACH DATABASE ? AS rebuilt", args: [scratch] });
    attached = true;
    for (const shape of shapes) await copyTable(s.writer, "rebuilt", shape, copyPacer);
    await s.writer.run("DETACH DATABASE rebuilt");
    attached = false;
    // 3. The events written meanwhile, folded into the new tables a page at a time; the last
    // page, shorter than a full one, in the transaction that swaps the new tables in.
    for (let swapped = false; !swapped;) {
      const [page] = await pausedTx(s.writer, async (x) => {
        const { events, last } = pageEvents(
          await x.execute({ sql: PAGE_SQL, args: [after, CATCH_UP] }),
        );
        await foldInto(x, events, true);
        // A page shorter than a full one reached the log's end: it is folded and the tables
        // swapped in the same transaction. (A fixed small threshold could be outrun forever
        // by a writer that writes that many events during each pause.)
        const final = events.length < CATCH_UP;
        if (final) await swapIn(x, shapes);
        return { n: events.length, last, final };
      });
      after = page.last;
      count += page.n;
      swapped = page.final;
    }
    await dropStale(s.writer, shapes);
    onProgress?.(count);
    return count;
  } finally {
    if (attached) await s.writer.run("DETACH DATABASE rebuilt").catch(() => {});
    t?.end();
    for (const f of [scratch, scratch + "-journal", scratch + "-wal", scratch + "-shm"]) {
      await Deno.remove(f).catch(() => {});
    }
  }
}

/** Removes the scratch files of earlier rebuilds of the store at `path` (under the lock). */
async function removeScratchFiles(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = basename(path) + SCRATCH_SUFFIX;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith(prefix)) {
      await Deno.remove(join(dir, e.name)).catch(() => {});
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
