/**
 * The database a store runs its SQL on, whichever engine it is: the embedded libSQL client
 * (`@libsql/client` satisfies {@link DbClient} as it is) or PostgreSQL (`pg.ts`). Statements
 * are written once, in SQLite's dialect, with `?` placeholders; the PostgreSQL client rewrites
 * the few SQLite-only forms (`pg_sql.ts`). Where the dialects must differ, callers ask
 * {@link dialectOf}.
 *
 * @module
 */
import type { InStatement, ResultSet } from "../deps.ts";

/** The SQL dialect of a database. */
export type Dialect = "sqlite" | "postgres";

/** A write transaction in progress (interactive: each statement awaited in turn). */
export interface DbTransaction {
  /** Runs one statement inside the transaction. */
  execute(stmt: InStatement): Promise<ResultSet>;
  /** Commits. */
  commit(): Promise<void>;
  /** Rolls back. */
  rollback(): Promise<void>;
  /** Releases the transaction's connection (after commit or rollback). */
  close(): void;
}

/** What the store needs of a database connection. */
export interface DbClient {
  /** Runs one statement (autocommit). */
  execute(stmt: InStatement): Promise<ResultSet>;
  /** Runs one read and returns its rows as value arrays in column order (where it can). */
  executeRaw?(stmt: InStatement): Promise<{ columns: string[]; rows: unknown[][] }>;
  /** Begins a write transaction. */
  transaction(mode: "write"): Promise<DbTransaction>;
  /** Closes the connection (a pool: resolves once it has ended). */
  close(): void | Promise<void>;
}

/** Whether a database URL names PostgreSQL (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string | undefined): boolean {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** The dialect of a client: PostgreSQL clients say so, anything else is libSQL. */
export function dialectOf(c: object): Dialect {
  return (c as { dialect?: Dialect }).dialect === "postgres" ? "postgres" : "sqlite";
}
