/**
 * What a projection fold is: a named, pure function of the events that keeps some projection
 * tables. A fold declares which rows a batch of events needs loaded (`preload`), folds events
 * over the loaded state in memory (`apply`, no I/O), and says which rows to write back
 * (`outputs`). The store runs the SQL; the fold knows its tables and keys but not the database.
 *
 * The same fold serves both paths: an append loads only the rows its batch touches and folds
 * the batch over them; `rebuild()` starts from an empty state and folds the whole log. So a
 * rebuild equals the incremental state by construction, and each fold must give the same rows
 * for any order of the same events.
 *
 * @module
 */
import type { StoredEvent } from "../events.ts";

/**
 * Rows a fold needs before it folds a batch: those of `table` whose `columns` equal one of
 * `keys`. One column: read with `IN (…)` lists; several: one primary-key read per key.
 */
export interface Preload {
  /** The table to read. */
  readonly table: string;
  /** The columns the keys match. */
  readonly columns: readonly string[];
  /** The key tuples (one value per column). */
  readonly keys: readonly (readonly string[])[];
  /** Keeps only some of the rows read (when reading by a key prefix). */
  readonly keep?: (row: Record<string, unknown>) => boolean;
}

/** Rows a fold writes to one table. */
export interface Output<S> {
  /** The table. */
  readonly table: string;
  /** Its columns, in the order values are bound. */
  readonly columns: readonly string[];
  /** The rows to write: those the fold changed, or with `all` every row it holds (rebuild). */
  rows(state: S, all: boolean): readonly object[];
  /**
   * For insert-only rows: forgets the rows once written, so a long replay keeps memory flat
   * (`rebuild()` writes them after every page of events).
   */
  written?(state: S): void;
  /**
   * The table's primary key columns. With it, a row that was loaded and changed is written
   * back as an `UPDATE` of the columns that changed (a few rows only): an `INSERT OR REPLACE`
   * deletes and re-inserts the row, touching every index of the table.
   */
  readonly key?: readonly string[];
  /** The statement's verb (default `INSERT OR REPLACE`). */
  readonly verb?: string;
  /** Text after the values, e.g. an `ON CONFLICT` clause. */
  readonly suffix?: string;
}

/** A named projection fold over a state `S`. */
export interface Fold<S> {
  /** The fold's name (for messages and tests). */
  readonly name: string;
  /** A fresh, empty state. */
  init(): S;
  /** The rows a batch of events needs loaded before folding (none: an empty list). */
  preload(events: readonly StoredEvent[]): Preload[];
  /**
   * Adds rows read for one of this fold's preloads to the state. It copies what it keeps: the
   * projection keeps the given objects as the rows were loaded (to write back only changes).
   */
  load(state: S, table: string, rows: readonly object[]): void;
  /** Folds one event into the state. Pure: no I/O, changes only `state`. */
  apply(state: S, e: StoredEvent): void;
  /** What the fold writes back. */
  readonly outputs: readonly Output<S>[];
}

/** Splits `model:<id>` into its kind and id. */
export function splitStream(stream: string): ["model" | "task", string] {
  const i = stream.indexOf(":");
  return [stream.slice(0, i) === "task" ? "task" : "model", stream.slice(i + 1)];
}

/** A map key for a composite key (parts joined by NUL, which no part holds). */
export function key(...parts: (string | number)[]): string {
  return parts.join("\u0000");
}

/** A copy of `o` with its keys sorted (a canonical JSON text for the same content). */
export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** Rows of `map` to write: every row, or those whose keys are in `dirty`. */
export function pick<T>(map: Map<string, T>, dirty: Set<string>, all: boolean): T[] {
  if (all) return [...map.values()];
  const out: T[] = [];
  for (const k of dirty) {
    const r = map.get(k);
    if (r) out.push(r);
  }
  return out;
}
