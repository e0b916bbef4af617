/**
 * The one writer of a store: a queue in this process and `BEGIN IMMEDIATE` across processes.
 * A write that meets another process's lock fails with `STORE_LOCKED` after the busy timeout;
 * opening retries on fresh connections until the timeout.
 *
 * @module
 */
import { createClient, type InStatement, type ResultSet } from "../deps.ts";
import type { DbClient } from "./db.ts";
import { NativeClient } from "./native.ts";
import { ModelogError, StoreLockedError } from "../errors.ts";

/** What statements run on inside a write: the writer connection, or a remote transaction. */
export interface Executor {
  /** Runs one statement. */
  execute(stmt: InStatement): Promise<ResultSet>;
  /** Runs one statement and returns at most its first row (where the connection can). */
  executeFirst?(stmt: InStatement): Promise<ResultSet>;
}

/** Connection settings a writer re-applies when it replaces its connection. */
export interface WriterSettings {
  /** The database file (or URL, for a remote database). */
  path: string;
  /** Whether the database is remote (interactive transactions, no pragmas). */
  remote: boolean;
  /** How long a write waits for another process's lock, in ms. */
  busyTimeoutMs: number;
  /** The `synchronous` pragma. */
  synchronous: "normal" | "full";
}

/**
 * The connection's `PRAGMA data_version`: SQLite changes it for every commit of another
 * connection to the file, never for the connection's own.
 *
 * @param x A connection or the transaction's executor (read with the lock held, it covers
 *   every commit before the transaction).
 */
export async function dataVersion(x: Executor): Promise<unknown> {
  const rs = await (x.executeFirst ?? x.execute).call(x, "PRAGMA data_version");
  return rs.rows[0]?.[0];
}

/** How many statements' worth of calls run between two awaited event-loop turns. */
export const TURN_EVERY = 200;

/** Resolves after one macrotask (an event-loop turn). */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/**
 * Counts calls and awaits one event-loop turn after every {@link TURN_EVERY} of them.
 *
 * Why: libSQL frees native objects (a statement prepared for a text no connection keeps, 3.5-8
 * KiB each; the row iterator of every read) only in an N-API finalizer, which runs after a garbage
 * collection and only on a macrotask. A caller's loop of awaited writes or reads completes in
 * microtasks and never yields one, so nothing was freed and its RSS grew without bound (10,000
 * awaited `setMetadata` through `@libsql/client`: 1.1 GB; with a turn every 200 calls: about
 * 170 MB).
 */
export class Breather {
  #since = 0;

  /** Counts one call; every {@link TURN_EVERY} calls, resolves after a macrotask. */
  breathe(): Promise<void> | undefined {
    if (++this.#since < TURN_EVERY) return undefined;
    this.#since = 0;
    return nextTurn();
  }
}

/**
 * The libSQL `file:` URL of a local path. Each path segment is percent-encoded: the client
 * decodes `%xx` and treats `#` and `?` as URL syntax, so a raw `a%20b` would open `a b`.
 */
export function fileUrl(path: string): string {
  return "file:" + path.split("/").map(encodeURIComponent).join("/");
}

/**
 * Whether a libSQL error means the file is not a SQLite database or is damaged. An I/O error
 * counts too: SQLite reports some damaged pages (and a failing disk) that way; a full disk has
 * its own code (`SQLITE_FULL`) and is not one of these.
 */
export function isNotADatabase(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? "";
  return code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT") ||
    code.startsWith("SQLITE_IOERR") || /file is not a database|malformed/i.test(String(e));
}

/** The `STORE_CORRUPT` error for a database SQLite reports as damaged or foreign. */
export function corrupt(path: string, cause: unknown): ModelogError {
  return new ModelogError(
    "STORE_CORRUPT",
    `Store ${JSON.stringify(path)} is not a modelog database or is damaged (${
      String(cause)
    }): nothing was written; restore it from a backup`,
    { cause },
  );
}

/** Whether a libSQL error means another connection holds the lock. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? "";
  return code.startsWith("SQLITE_BUSY") || /database is locked/i.test(String(e));
}

/**
 * SQLite's page cache per connection (`PRAGMA cache_size`; negative: KiB): 8 MiB, filled only
 * as pages are used, against the default 2 MiB. 32 MiB was measured too: no clear gain in durable
 * edits on a store of 100,000 models, and 20-40 MB more peak RSS while reporting 10M scalars.
 */
export const CACHE_SIZE = -8192;

/** Applies the per-connection pragmas of a local database (WAL is kept by the file). */
async function applyPragmas(c: DbClient, s: WriterSettings): Promise<void> {
  await c.execute(`PRAGMA busy_timeout = ${s.busyTimeoutMs}`);
  await c.execute(`PRAGMA synchronous = ${s.synchronous.toUpperCase()}`);
  await c.execute(`PRAGMA cache_size = ${CACHE_SIZE}`);
}

/**
 * One connection: the store's own file through the native driver with kept statements
 * (`native.ts`); a remote database, or a `file:` URL given as such, through `@libsql/client`.
 */
function connect(config: { url: string; authToken?: string }, s: WriterSettings): DbClient {
  if (s.remote || config.url !== fileUrl(s.path)) return createClient(config);
  return new NativeClient(s.path, s.busyTimeoutMs);
}

/**
 * Opens the writer and reader connections and runs `init` on the writer, retrying on fresh
 * connections while another process holds the lock (up to the busy timeout).
 *
 * @param config The libSQL client config.
 * @param s The connection settings.
 * @param init Runs once the connections are set up (the migrations).
 * @returns Both connections (the same one for a remote database) and what `init` returned.
 * @throws {StoreLockedError} When the lock stays held past the busy timeout.
 */
export async function openConnections<T>(
  config: { url: string; authToken?: string },
  s: WriterSettings,
  init: (w: DbClient) => Promise<T>,
): Promise<{ w: DbClient; r: DbClient; value: T }> {
  const t0 = Date.now();
  for (let attempt = 0;; attempt++) {
    // Fresh connections on every attempt: after SQLITE_BUSY the native driver can leave a
    // statement unfinished on a connection, which breaks its later commits.
    let w: DbClient | undefined, r: DbClient | undefined;
    try {
      w = connect(config, s);
      r = s.remote ? w : connect(config, s);
      if (!s.remote) {
        for (const c of [w, r]) await c.execute(`PRAGMA busy_timeout = ${s.busyTimeoutMs}`);
        await w.execute("PRAGMA journal_mode = WAL");
        for (const c of [w, r]) {
          await c.execute(`PRAGMA synchronous = ${s.synchronous.toUpperCase()}`);
          await c.execute(`PRAGMA cache_size = ${CACHE_SIZE}`);
        }
      }
      return { w, r, value: await init(w) };
    } catch (e) {
      w?.close();
      if (r !== w) r?.close();
      if (!isBusy(e)) throw e;
      if (Date.now() - t0 > s.busyTimeoutMs) throw new StoreLockedError(s.path, { cause: e });
      await new Promise((res) =>
        setTimeout(res, 10 + Math.random() * 40 * Math.min(attempt + 1, 5))
      );
    }
  }
}

/**
 * The store's writer connection behind a queue: one write at a time in this process, each
 * write transaction `BEGIN IMMEDIATE` (or a remote write transaction).
 */
export class Writer {
  #w: DbClient;
  #x: Executor;
  #lock: Promise<unknown> = Promise.resolve();
  readonly #s: WriterSettings;
  readonly #assertOpen: () => void;
  readonly #breather = new Breather();
  /** Whether the connection is a {@link NativeClient} (a replacement is one too). */
  readonly #native: boolean;
  #turns = 0;
  #committed = 0;

  /**
   * @param w The writer connection (owned from now on).
   * @param settings Connection settings, re-applied when the connection is replaced.
   * @param assertOpen Throws when the store is closed; checked before each transaction.
   */
  constructor(w: DbClient, settings: WriterSettings, assertOpen: () => void) {
    this.#w = w;
    this.#x = w;
    this.#s = settings;
    this.#native = w instanceof NativeClient;
    this.#assertOpen = assertOpen;
  }

  /** How long a statement waits for another process's lock, in ms. */
  get busyTimeoutMs(): number {
    return this.#s.busyTimeoutMs;
  }

  /** The connection writes run on right now (inside {@link tx}: the transaction). */
  get executor(): Executor {
    return this.#x;
  }

  /**
   * The number of the latest exclusive section ({@link exclusive}, and so every {@link tx} and
   * {@link run}) to start: inside one, its own number.
   */
  get turn(): number {
    return this.#turns;
  }

  /** The number ({@link turn}) of the latest transaction that committed. */
  get committedTurn(): number {
    return this.#committed;
  }

  /** Whether the connection is the native driver's (see `native.ts`). */
  get native(): boolean {
    return this.#native;
  }

  /** Runs `fn` as the only writer of this store in this process. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const go = () => {
      this.#turns++;
      return fn();
    };
    const run = this.#lock.then(go, go);
    this.#lock = run.catch(() => {});
    return run;
  }

  /**
   * Runs `fn` inside `BEGIN IMMEDIATE` … `COMMIT` on the writer connection, as the only
   * writer; rolls back when it throws.
   *
   * @throws {StoreLockedError} When another process holds the lock past the busy timeout.
   */
  async tx<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    const out = await this.#txNow(fn);
    // After the write lock is released: a turn here never holds up another writer.
    await this.#breather.breathe();
    return out;
  }

  #txNow<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.#assertOpen();
      if (this.#s.remote) {
        const tx = await this.#w.transaction("write");
        this.#x = tx;
        try {
          const out = await fn(tx);
          await tx.commit();
          this.#committed = this.#turns;
          return out;
        } catch (e) {
          await tx.rollback().catch(() => {});
          throw e;
        } finally {
          tx.close();
          this.#x = this.#w;
        }
      }
      try {
        await this.#w.execute("BEGIN IMMEDIATE");
      } catch (e) {
        if (isBusy(e)) {
          await this.#reset();
          throw new StoreLockedError(this.#s.path, { cause: e });
        }
        throw e;
      }
      try {
        const out = await fn(this.#w);
        await this.#w.execute("COMMIT");
        this.#committed = this.#turns;
        return out;
      } catch (e) {
        try {
          await this.#w.execute("ROLLBACK");
        } catch { /* already rolled back */ }
        if (isBusy(e)) {
          await this.#reset();
          throw new StoreLockedError(this.#s.path, { cause: e });
        }
        if (isNotADatabase(e)) throw corrupt(this.#s.path, e);
        throw e;
      }
    });
  }

  /** Runs one statement outside a transaction, as the only writer (autocommit). */
  async run(stmt: InStatement): Promise<ResultSet> {
    const out = await this.exclusive(() => {
      this.#assertOpen();
      return this.#w.execute(stmt);
    });
    await this.#breather.breathe();
    return out;
  }

  /**
   * Replaces the writer connection. After SQLITE_BUSY the native driver can leave a statement
   * unfinished on the connection, which makes every later COMMIT fail; a fresh connection
   * (with the same pragmas) is the reliable way back.
   */
  async #reset(): Promise<void> {
    try {
      this.#w.close();
    } catch { /* already closed */ }
    const w = this.#native
      ? new NativeClient(this.#s.path, this.#s.busyTimeoutMs)
      : createClient({ url: fileUrl(this.#s.path) });
    await applyPragmas(w, this.#s);
    this.#w = w;
    this.#x = w;
  }

  /** Closes the writer connection (a pool: resolves once it has ended). */
  close(): void | Promise<void> {
    return this.#w.close();
  }
}
