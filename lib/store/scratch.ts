/**
 * The scratch side of a local `rebuild()`: folds pages of the event log into a throwaway
 * database beside the store, through `node:sqlite` (built into the runtime) instead of
 * `@libsql/client`. Why: the replay is bulk work on a plain local file, where the client's
 * per-call costs dominate (a fresh native statement per `execute`, every row turned into an
 * object). Here statements are prepared once and reused, and nothing else changes: the same
 * fold (`Projection`) over the same pages, the same tables, the same values (integers are bound
 * as integers, booleans as 0/1, as the client binds them), so the rebuilt tables equal the
 * incremental ones.
 *
 * Only the scratch file is opened here, never the live database: two SQLite libraries in one
 * process do not see each other's POSIX locks, so a `node:sqlite` connection to the live file
 * would take itself for the only one and reset the WAL index or delete the WAL under libSQL.
 * The log is read on the store's own read connection (`rebuild.ts`).
 *
 * `node:sqlite` calls are synchronous: a rebuild runs this fold in a worker thread of its own
 * (`scratch_worker.ts`), where they hold up nothing else.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { StoredEvent } from "../events.ts";
import { MIGRATIONS } from "../projections/schema.ts";
import { type ChangedRows, type PendingPreload, Projection } from "../projections/project.ts";

type Bound = null | string | bigint | number | Uint8Array;

/** A value as `@libsql/client` would bind it: integers as INTEGER, booleans as 0/1. */
function bind(v: unknown): Bound {
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "string" || typeof v === "bigint" || v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (v instanceof Date) return BigInt(v.getTime());
  return String(v);
}

/** Rows per multi-row `INSERT` of the scratch fold. */
const ROWS_PER_INSERT = 64;
/** Bound parameters per statement at most (SQLite's default limit is 32766). */
const MAX_PARAMS = 30000;

/** The statement writing `rows` rows of an output. */
function insertSql(o: ChangedRows, rows: number): string {
  const tuple = `(${o.columns.map(() => "?").join(",")})`;
  return `${o.verb} INTO ${o.table} (${o.columns.join(",")}) VALUES ${
    Array(rows).fill(tuple).join(",")
  } ${o.suffix}`;
}

/** A `node:sqlite` connection with its statements prepared once. */
class Conn {
  readonly db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  constructor(path: string) {
    this.db = new DatabaseSync(path);
  }
  prepared(sql: string): StatementSync {
    let st = this.#stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.#stmts.set(sql, st);
    }
    return st;
  }
  close(): void {
    this.db.close();
  }
}

/** The throwaway database a rebuild folds into. */
export class Scratch {
  readonly #c: Conn;
  /** Creates the file with the store's tables (no journal, no syncs: it is thrown away). */
  constructor(readonly path: string) {
    this.#c = new Conn(path);
    this.#c.db.exec("PRAGMA journal_mode = OFF");
    this.#c.db.exec("PRAGMA synchronous = OFF");
    // No secondary indexes: the fold reads by primary key only, and the live tables get
    // theirs built once, after the copy (see `swap.ts`).
    for (const m of MIGRATIONS) {
      for (const sql of m) if (!/^CREATE INDEX/i.test(sql)) this.#c.db.exec(sql);
    }
  }

  /** Folds a page of events into the tables (the append path's incremental fold). */
  fold(events: StoredEvent[]): void {
    if (events.length === 0) return;
    const db = this.#c.db;
    db.exec("BEGIN");
    try {
      const p = new Projection();
      for (const pl of p.preloads(events)) p.load(pl, this.#preload(pl));
      for (const e of events) p.apply(e);
      for (const o of p.outputs()) this.#write(o);
      db.exec("COMMIT");
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw e;
    }
  }

  /**
   * Writes an output's changed rows whole, as ingest does (the append path's `UPDATE` of a few
   * changed columns leaves the same row): {@link ROWS_PER_INSERT} rows per run of one prepared
   * multi-row statement, the rest one prepared single-row statement each.
   */
  #write(o: ChangedRows): void {
    const cols = o.columns;
    const n = cols.length;
    const rows = o.rows as readonly Record<string, unknown>[];
    const per = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMS / n)));
    let i = 0;
    if (rows.length >= per) {
      const st = this.#c.prepared(insertSql(o, per));
      const args: Bound[] = new Array(per * n);
      for (; i + per <= rows.length; i += per) {
        let k = 0;
        for (let r = i; r < i + per; r++) {
          const row = rows[r]!;
          for (let c = 0; c < n; c++) args[k++] = bind(row[cols[c]!]);
        }
        st.run(...args);
      }
    }
    if (i === rows.length) return;
    const st = this.#c.prepared(insertSql(o, 1));
    const args: Bound[] = new Array(n);
    for (; i < rows.length; i++) {
      const row = rows[i]!;
      for (let c = 0; c < n; c++) args[c] = bind(row[cols[c]!]);
      st.run(...args);
    }
  }

  /** The rows a fold asked for, by key lists of up to 500 keys (row values for composite keys). */
  #preload(p: PendingPreload): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const cols = p.columns;
    const tuple = cols.length === 1 ? "?" : `(${cols.map(() => "?").join(",")})`;
    const lhs = cols.length === 1 ? cols[0]! : `(${cols.join(", ")})`;
    for (let i = 0; i < p.keys.length; i += 500) {
      const part = p.keys.slice(i, i + 500);
      const list = cols.length === 1
        ? part.map(() => tuple).join(",")
        : `VALUES ${part.map(() => tuple).join(",")}`;
      const st = this.#c.prepared(`SELECT * FROM ${p.table} WHERE ${lhs} IN (${list})`);
      for (const r of st.all(...part.flat().map(bind))) out.push({ ...r });
    }
    return out;
  }

  close(): void {
    this.#c.close();
  }
}
