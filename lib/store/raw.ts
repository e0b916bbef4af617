/**
 * Raw SQL reads on a store's read connection, for the rooms that own SQL (`store/`,
 * `projections/`, the query compiler). The connection is not a public member of `Store`: the
 * store registers it here when it is made, and only code that imports this module can reach it.
 *
 * @module
 */
import type { Row } from "../deps.ts";
import { Breather } from "./writer.ts";
import type { DbClient, Dialect } from "./db.ts";

/** A value bound to a SQL parameter. */
export type SqlArg = null | string | number | bigint | boolean | Uint8Array | ArrayBuffer | Date;

/** What a store hands over: its read connection and a guard that throws once it is closed. */
export interface ReadSide {
  /** The read connection (the writer's, for a remote database). */
  readonly client: DbClient;
  /** The SQL dialect of the database. */
  readonly dialect: Dialect;
  /** Throws `STORE_CLOSED` when the store has been closed. */
  assertOpen(): void;
}

const readers = new WeakMap<object, ReadSide>();
/** Per store: a turn every so many reads (see `Breather`: native statements need one to be freed). */
const breathers = new WeakMap<object, Breather>();

/**
 * Registers a store's read side. Called once, by the `Store` constructor; a second
 * registration for the same store is refused.
 */
export function registerReader(store: object, side: ReadSide): void {
  if (readers.has(store)) throw new TypeError("This store's reader is already registered");
  readers.set(store, side);
  breathers.set(store, new Breather());
}

function sideOf(store: object): ReadSide {
  const side = readers.get(store);
  if (!side) throw new TypeError("Not an open modelog store");
  side.assertOpen();
  return side;
}

/**
 * The SQL dialect of an open store's database, for the few reads written per dialect.
 *
 * @param store An open store.
 */
export function dialectOfStore(store: object): Dialect {
  return sideOf(store).dialect;
}

/** Turns libSQL rows into plain objects with the result's columns. */
export function rowsOf<T>(rs: { rows: Row[]; columns: string[] }): T[] {
  const out: T[] = [];
  for (const row of rs.rows) {
    const o: Record<string, unknown> = {};
    for (const c of rs.columns) o[c] = row[c];
    out.push(o as T);
  }
  return out;
}

/**
 * Value arrays as plain objects with the columns' names (a repeated name keeps its first
 * column's value, as {@link rowsOf} does). Every object gets its keys in the same order, so
 * they share one shape.
 */
function objectsOf<T>(raw: { columns: string[]; rows: unknown[][] }): T[] {
  const names: string[] = [], at: number[] = [];
  raw.columns.forEach((c, i) => {
    if (!names.includes(c)) {
      names.push(c);
      at.push(i);
    }
  });
  const out: T[] = new Array(raw.rows.length);
  for (let r = 0; r < raw.rows.length; r++) {
    const a = raw.rows[r]!;
    const o: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = a[at[i]!];
    out[r] = o as T;
  }
  return out;
}

/**
 * Runs a read query on the store's read connection and returns its rows as plain objects.
 *
 * @param store An open store.
 * @param sql The statement, with `?` placeholders.
 * @param args The bound values.
 * @returns Every row.
 */
export async function readAll<T>(store: object, sql: string, args: SqlArg[] = []): Promise<T[]> {
  const c = sideOf(store).client;
  const rows = c.executeRaw
    ? objectsOf<T>(await c.executeRaw({ sql, args }))
    : rowsOf<T>(await c.execute({ sql, args }));
  await breathers.get(store)?.breathe();
  return rows;
}

/**
 * The first row of a read query on the store's read connection, or undefined.
 *
 * @param store An open store.
 * @param sql The statement, with `?` placeholders.
 * @param args The bound values.
 * @returns The first row, if any.
 */
export async function readOne<T>(
  store: object,
  sql: string,
  args: SqlArg[] = [],
): Promise<T | undefined> {
  return (await readAll<T>(store, sql, args))[0];
}

/**
 * Every row of a statement as arrays of column values, in column order (for canonical dumps).
 *
 * @param store An open store.
 * @param sql The statement.
 * @returns The rows as value arrays.
 */
export async function readValues(store: object, sql: string): Promise<unknown[][]> {
  const rs = await sideOf(store).client.execute({ sql, args: [] });
  await breathers.get(store)?.breathe();
  return rs.rows.map((r) => rs.columns.map((c) => r[c]));
}
