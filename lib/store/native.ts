/**
 * A local libSQL database through the native driver (`libsql`, the package `@libsql/client`
 * itself runs on), with its prepared statements kept and reused.
 *
 * Why: `@libsql/client` prepares a fresh native statement for every `execute()`, asks each
 * one whether it returns rows by catching the exception `raw()` throws for those that do not,
 * and builds every row with `Object.defineProperty` per column. A prepare costs more than the
 * primary-key read or one-row write SQLite then does (measured here: a cached read of a model's
 * rows 23 µs, the same statement prepared afresh 79 µs). This client prepares each statement
 * text once (an LRU of {@link STATEMENTS}), and returns rows shaped as the client's are: named
 * columns as own enumerable properties, column indexes readable but not enumerable, integers
 * as numbers, blobs as `ArrayBuffer`. Errors are `LibsqlError`s with the client's codes.
 *
 * @module
 */
import { type InStatement, type InValue, LibsqlError, type ResultSet, type Row } from "../deps.ts";
import { type NativeConnection, NativeDatabase, type NativeStatement } from "../deps.ts";
import type { DbClient, DbTransaction } from "./db.ts";

/** How many prepared statements a connection keeps (least recently used go first). */
export const STATEMENTS = 256;
/** Statements longer than this are run and dropped, not kept (multi-row writes of one size). */
const MAX_KEPT_SQL = 8192;

/** What a kept statement knows about itself. */
interface Kept extends Shape {
  stmt: NativeStatement;
  /** Whether it returns rows (then it is in raw mode). */
  reader: boolean;
  /** Whether it changes the schema (then every kept statement is prepared again). */
  schema: boolean;
  /** The most arguments a run has bound (a shorter list is padded with NULLs to it). */
  width: number;
}

/** Rows as arrays of values, in column order. */
export interface RawRows {
  /** The column names. */
  columns: string[];
  /** The rows. */
  rows: unknown[][];
}

/** The columns of a reader and how its rows are built. */
interface Shape {
  /** Column names, for a reader. */
  columns: string[];
  /** Column declared types, for a reader. */
  types: string[];
  /**
   * The prototype of its rows (column indexes as non-enumerable getters, and `length`), when
   * rows can be built by plain assignment of the named columns; otherwise rows are built as
   * `@libsql/client` builds them ({@link clientRow}).
   */
  proto: object | undefined;
}

/** The shape of a reader's rows, from its columns as the statement reports them now. */
function shapeOf(stmt: NativeStatement): Shape {
  const cols = stmt.columns() as { name: string; type: string | null }[];
  const columns = cols.map((c) => c.name);
  const types = cols.map((c) => c.type ?? "");
  // Plain assignment needs each name once, and none that an index or `length` owns.
  const plain = new Set(columns).size === columns.length &&
    columns.every((c) => c !== "length" && c !== "__proto__" && !/^(0|[1-9]\d*)$/.test(c));
  return { columns, types, proto: plain ? rowPrototype(columns) : undefined };
}

/** A row prototype whose index `i` reads the `i`-th column's own property. */
function rowPrototype(columns: readonly string[]): object {
  const proto: Record<string | number, unknown> = {};
  columns.forEach((name, i) => {
    Object.defineProperty(proto, i, {
      get(this: Record<string, unknown>) {
        return this[name];
      },
    });
  });
  Object.defineProperty(proto, "length", { value: columns.length });
  return proto;
}

/**
 * A row built as `@libsql/client` builds it: every index an own non-enumerable property, each
 * name an enumerable one of its first column (for repeated names, and names such as `length`).
 */
function clientRow(a: readonly unknown[], columns: readonly string[]): Row {
  const row = {};
  Object.defineProperty(row, "length", { value: a.length });
  for (let i = 0; i < a.length; i++) {
    const value = fromSql(a[i]);
    Object.defineProperty(row, i, { value });
    const name = columns[i]!;
    if (!Object.hasOwn(row, name)) {
      Object.defineProperty(row, name, {
        value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
  }
  return row as Row;
}

/** A value as the driver binds it (as `@libsql/client` converts, for the number mode). */
function toSql(v: InValue, i: number): unknown {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) {
        throw new RangeError(
          `Only finite numbers (not Infinity or NaN) can be passed as arguments (argument ${i})`,
        );
      }
      return v;
    case "boolean":
      return v ? 1 : 0;
    case "undefined":
      throw new TypeError(`undefined cannot be passed as argument to the database (argument ${i})`);
    default:
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      if (v instanceof Date) return v.valueOf();
      return v;
  }
}

/** A value as read (blobs as `ArrayBuffer`, as `@libsql/client` returns them). */
function fromSql(v: unknown): unknown {
  if (v instanceof Uint8Array) {
    return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  }
  return v;
}

/**
 * The driver's error as `@libsql/client` reports it: `code` the base result code
 * (`SQLITE_BUSY`), `extendedCode` the driver's (`SQLITE_BUSY_SNAPSHOT`).
 */
function mapError(e: unknown): unknown {
  const err = e as { code?: unknown; rawCode?: unknown; message?: string };
  if (e instanceof Error && typeof err.code === "string" && err.code.startsWith("SQLITE_")) {
    const base = err.code.split("_").slice(0, 2).join("_");
    const raw = typeof err.rawCode === "number" ? err.rawCode : undefined;
    return new LibsqlError(e.message, base, err.code, raw, e);
  }
  return e;
}

/** A value as `@libsql/client`'s `toJSON` gives it (blobs in base64). */
function jsonValue(v: unknown): unknown {
  if (!(v instanceof ArrayBuffer)) return v;
  const bytes = new Uint8Array(v);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** The result of a statement, in `@libsql/client`'s shape. */
class NativeResultSet implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}

  toJSON(): unknown {
    const n = this.columns.length;
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((r) => Array.from({ length: n }, (_, i) => jsonValue(r[i]))),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid?.toString() ?? null,
    };
  }
}

/** `fn`'s value as a settled promise; a thrown driver error as `@libsql/client` reports it. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(mapError(e));
  }
}

/**
 * One connection to a local database file, statements prepared once. Statements run
 * synchronously in the driver (as `@libsql/client`'s local client does) and resolve at once.
 *
 * @example
 * ```ts ignore
 * const db = new NativeClient("/tmp/x.db");
 * await db.execute({ sql: "SELECT ? AS n", args: [1] }); // rows[0].n === 1
 * db.close();
 * ```
 */
export class NativeClient implements DbClient {
  readonly #db: NativeConnection;
  /** Kept statements by SQL text, least recently used first. */
  readonly #kept = new Map<string, Kept>();
  #closed = false;

  /**
   * @param path The database file (created when missing).
   * @param timeoutMs How long a statement waits for another connection's lock.
   */
  constructor(path: string, timeoutMs = 0) {
    try {
      this.#db = new NativeDatabase(path, { timeout: timeoutMs });
    } catch (e) {
      throw mapError(e);
    }
  }

  /** Runs one statement (autocommit unless a transaction was begun with SQL). */
  execute(stmt: InStatement): Promise<ResultSet> {
    return settle(() => this.#result(stmt, false));
  }

  /**
   * Runs one statement and returns at most its first row (the rest are not read): for reads
   * known to give one row.
   */
  executeFirst(stmt: InStatement): Promise<ResultSet> {
    return settle(() => this.#result(stmt, true));
  }

  /**
   * Runs one statement and returns its rows as arrays of values in column order (blobs as
   * `ArrayBuffer`), without building row objects: for callers that build their own.
   */
  executeRaw(stmt: InStatement): Promise<RawRows> {
    return settle(() => {
      const r = this.#step(stmt, false);
      if (!("rows" in r)) return { columns: [], rows: [] };
      for (const a of r.rows) for (let i = 0; i < a.length; i++) a[i] = fromSql(a[i]);
      return { columns: r.k.columns, rows: r.rows };
    });
  }

  /** {@link execute}'s result, rows shaped as `@libsql/client`'s. */
  #result(stmt: InStatement, first: boolean): ResultSet {
    const r = this.#step(stmt, first);
    if (!("rows" in r)) {
      return new NativeResultSet([], [], [], r.changes, BigInt(r.lastInsertRowid));
    }
    const { k, rows: raw } = r;
    const rows: Row[] = new Array(raw.length);
    const n = k.columns.length;
    const proto = k.proto;
    for (let i = 0; i < raw.length; i++) {
      const a = raw[i]!;
      if (!proto) {
        rows[i] = clientRow(a, k.columns);
        continue;
      }
      const row = Object.create(proto) as Record<string, unknown>;
      for (let c = 0; c < n; c++) row[k.columns[c]!] = fromSql(a[c]);
      rows[i] = row as unknown as Row;
    }
    return new NativeResultSet(k.columns, k.types, rows, 0, undefined);
  }

  /**
   * Runs one statement on its kept (or newly prepared) statement: a write's change counts, or a
   * read's rows as the driver's value arrays (only the first with `first`).
   */
  #step(
    stmt: InStatement,
    first: boolean,
  ): { k: Kept; rows: unknown[][] } | { changes: number; lastInsertRowid: number | bigint } {
    if (this.#closed) throw new LibsqlError("The client is closed", "CLIENT_CLOSED");
    const sql = typeof stmt === "string" ? stmt : stmt.sql;
    const given = typeof stmt === "string" ? [] : stmt.args ?? [];
    if (!Array.isArray(given)) {
      throw new TypeError("named arguments are not supported: pass the arguments as an array");
    }
    const args = given.map(toSql);
    const k = this.#statement(sql);
    // SQLite keeps a statement's bindings between runs: a parameter this run does not give
    // would keep the last run's value. Unbound, it is NULL, as on a fresh statement.
    if (args.length < k.width) {
      for (let i = args.length; i < k.width; i++) args.push(null);
    } else k.width = args.length;
    try {
      if (!k.reader) {
        const info = k.stmt.run(args) as { changes: number; lastInsertRowid: number | bigint };
        // A schema change can change what kept statements return: prepare them again.
        if (k.schema) this.#forget();
        return info;
      }
      let rows: unknown[][];
      if (first) {
        // One native call, where `all()` also builds and drops an iterator (about 5 µs).
        const row = k.stmt.get(args) as unknown[] | undefined;
        rows = row === undefined ? [] : [row];
      } else rows = k.stmt.all(args) as unknown[][];
      // Another connection's schema change re-prepares the statement inside SQLite: a `*`
      // then yields a different number of columns than were kept. Read them again. (A change
      // that keeps the count, a rename, is not seen: asking the columns on every run costs
      // about as much as the read itself.)
      if (rows.length > 0 && rows[0]!.length !== k.columns.length) {
        Object.assign(k, shapeOf(k.stmt));
      }
      return { k, rows };
    } catch (e) {
      // A statement that failed midway is not reused.
      this.#kept.delete(sql);
      throw e;
    }
  }

  /** The kept statement of `sql`, prepared now when not kept. */
  #statement(sql: string): Kept {
    const had = this.#kept.get(sql);
    if (had) {
      this.#kept.delete(sql);
      this.#kept.set(sql, had);
      return had;
    }
    const stmt = this.#db.prepare(sql);
    const reader = stmt.reader as boolean;
    if (reader) stmt.raw(true);
    const k: Kept = {
      stmt,
      reader,
      schema: /^\s*(CREATE|ALTER|DROP)\b/i.test(sql),
      width: 0,
      ...(reader ? shapeOf(stmt) : { columns: [], types: [], proto: undefined }),
    };
    if (sql.length <= MAX_KEPT_SQL) {
      this.#kept.set(sql, k);
      if (this.#kept.size > STATEMENTS) this.#kept.delete(this.#kept.keys().next().value!);
    }
    return k;
  }

  /** Drops every kept statement. */
  #forget(): void {
    this.#kept.clear();
  }

  /** Begins a write transaction (`BEGIN IMMEDIATE`) on this connection. */
  transaction(_mode: "write"): Promise<DbTransaction> {
    return this.execute("BEGIN IMMEDIATE").then(() => {
      let open = true;
      const end = async (sql: string) => {
        if (!open) return;
        open = false;
        await this.execute(sql);
      };
      return {
        execute: (s: InStatement) => this.execute(s),
        commit: () => end("COMMIT"),
        rollback: () => end("ROLLBACK"),
        close: () => {
          if (open) void end("ROLLBACK").catch(() => {});
        },
      };
    });
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection (kept statements go with it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forget();
    this.#db.close();
  }
}
