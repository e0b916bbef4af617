/**
 * A {@link DbClient} over PostgreSQL (the pinned `postgres` driver): a connection pool for
 * autocommit statements and reads, a reserved connection per write transaction. Statements
 * arrive in SQLite's dialect and are rewritten once each (`pg_sql.ts`, cached); results come
 * back shaped as libSQL's (rows readable by index and by column name), with `bigint` and
 * `numeric` columns as JS numbers (SQLite's integers are numbers too).
 *
 * @module
 */
import { type InStatement, postgres, type ResultSet, type Row, type Sql } from "../deps.ts";
import type { DbClient, DbTransaction } from "./db.ts";
import type { Executor } from "./writer.ts";
import { toPostgres } from "./pg_sql.ts";

/** A value PostgreSQL takes for a bound `?`. */
type PgArg = null | string | number | Uint8Array;

/** SQLite's bindings as PostgreSQL's: booleans as 0/1, dates as ms, bigints as text. */
function pgArg(v: unknown): PgArg {
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return String(v);
  if (v instanceof Date) return v.getTime();
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return v as PgArg;
}

const EMPTY: ResultSet = {
  columns: [],
  columnTypes: [],
  rows: [],
  rowsAffected: 0,
  lastInsertRowid: undefined,
  toJSON: () => ({}),
};

const cache = new Map<string, string | null>();

/** The PostgreSQL text of a statement (cached: the store repeats a few hundred shapes). */
function translated(sql: string): string | null {
  let t = cache.get(sql);
  if (t === undefined && !cache.has(sql)) {
    t = toPostgres(sql);
    if (cache.size > 5000) cache.clear();
    cache.set(sql, t);
  }
  return t ?? null;
}

type Runner = Pick<Sql, "unsafe">;

async function run(on: Runner, stmt: InStatement): Promise<ResultSet> {
  const sql = typeof stmt === "string" ? stmt : stmt.sql;
  const raw = typeof stmt === "string" ? [] : stmt.args ?? [];
  const text = translated(sql);
  if (text === null) return EMPTY;
  const args = Array.isArray(raw) ? raw.map(pgArg) : [];
  // Prepared (named) only for the short statements that repeat: a multi-row insert's text
  // differs with its row count and would fill every connection's statement cache.
  const res = await on.unsafe(text, args as never[], { prepare: args.length <= 32 }).values();
  const columns = (res.columns ?? []).map((c: { name: string }) => c.name);
  const rows: Row[] = [];
  for (const vals of res as unknown as unknown[][]) {
    const row = vals as unknown as Record<string, unknown>;
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = vals[i];
    rows.push(row as unknown as Row);
  }
  return {
    columns,
    columnTypes: columns.map(() => ""),
    rows,
    rowsAffected: res.count ?? 0,
    lastInsertRowid: undefined,
    toJSON: () => ({ columns, rows }),
  };
}

/** Options of {@link openPostgres}. */
export interface PostgresOptions {
  /** Most pooled connections (default 10). */
  max?: number;
}

/** A PostgreSQL database as the store's client. */
export class PostgresClient implements DbClient {
  /** The dialect, for {@link dialectOf}. */
  readonly dialect = "postgres" as const;
  /** The driver's pool (for the PostgreSQL-only stores: upload states). */
  readonly sql: Sql;
  #ended: Promise<void> | undefined;

  /**
   * @param url A `postgres://` URL.
   * @param options Pool size.
   */
  constructor(url: string, options: PostgresOptions = {}) {
    const asNumber = { to: 0, from: [20, 1700], serialize: String, parse: Number };
    this.sql = postgres(url, {
      max: options.max ?? 10,
      onnotice: () => {},
      types: { modelogNumber: asNumber } as never,
    });
  }

  /** Runs one statement on a pooled connection (autocommit). */
  execute(stmt: InStatement): Promise<ResultSet> {
    return run(this.sql, stmt);
  }

  /** Begins a write transaction on a connection reserved for it. */
  async transaction(_mode: "write"): Promise<DbTransaction> {
    const conn = await this.sql.reserve();
    try {
      await conn.unsafe("BEGIN");
    } catch (e) {
      conn.release();
      throw e;
    }
    let released = false;
    return {
      execute: (stmt) => run(conn, stmt),
      commit: async () => {
        await conn.unsafe("COMMIT");
      },
      rollback: async () => {
        await conn.unsafe("ROLLBACK");
      },
      close: () => {
        if (released) return;
        released = true;
        conn.release();
      },
    };
  }

  /** Ends the pool; resolves when every connection has closed. */
  close(): Promise<void> {
    this.#ended ??= this.sql.end({ timeout: 5 });
    return this.#ended;
  }
}

/**
 * On PostgreSQL, where several server instances write one database: takes a transaction
 * advisory lock per stream the events touch, in sorted order (so no deadlock), before the fold
 * loads its rows. The fold reads rows and writes them back whole, so two instances folding the
 * same model at once would otherwise lose one's update; every row a fold writes belongs to the
 * stream of the event folded. Two instances ingesting the same event serialize here too, so
 * the second finds it stored and skips it.
 */
export async function lockStreams(
  x: Executor,
  events: readonly { stream: string }[],
): Promise<void> {
  const streams = [...new Set(events.map((e) => e.stream))].sort();
  for (let i = 0; i < streams.length; i += 500) {
    const part = streams.slice(i, i + 500);
    await x.execute({
      // unnest keeps the array's (sorted) order.
      sql: "SELECT pg_advisory_xact_lock(hashtextextended(s, 0)) FROM unnest(?::text[]) AS s",
      args: [`{${part.map((p) => JSON.stringify(p)).join(",")}}`],
    });
  }
}
