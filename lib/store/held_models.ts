/**
 * The rows of the models this store last edited (row, tags, metadata), as its own commits left
 * them, so that the next edit of one of them need not read them again.
 *
 * They are what the database holds for as long as nothing else wrote to it, which a write
 * transaction checks in two ways before it uses them: every transaction of this connection
 * since the run of edits began was a model edit that kept its rows up to date and committed (the
 * writer's turn numbers), and no other connection committed since then (`PRAGMA data_version`
 * of the writer connection, read with the lock held, is what it was when the run began: SQLite
 * changes it for every commit of another connection, never for the connection's own). Anything
 * else (an ingest, a report batch, a rebuild, a failed edit) ends the run and every row is
 * forgotten; that edit reads the database as before. The version is read only when kept rows
 * would be used, so a run of edits on models not kept pays nothing for it.
 *
 * Only on a local database through the native driver: PostgreSQL and remote libSQL have no
 * single connection whose version means this.
 *
 * @module
 */
import type { Projection } from "../projections/project.ts";
import type { StoredEvent } from "../events.ts";
import type { Head } from "./append.ts";
import { dataVersion, type Executor, type Writer } from "./writer.ts";

/** Models kept at most (the least recently edited are dropped first). */
export const HELD_MODELS = 256;

/** A model's rows by table (`models`, `model_tags`, `model_metadata`). */
export type ModelTables = ReadonlyMap<string, readonly Record<string, unknown>[]>;

/** The rows of recently edited models, valid while only this store's model edits wrote. */
export class HeldModels {
  readonly #writer: Writer;
  readonly #rows = new Map<string, ModelTables>();
  /** The turn up to which the rows match the database (-1: none yet). */
  #validThrough = -1;
  /** The writer connection's `data_version` at the last check. */
  #version: unknown;
  /** The time of the log's last event (by seq) when the rows were valid. */
  #tailAt: string | undefined;

  /** @param writer The store's writer (its turns say what ran on the connection). */
  constructor(writer: Writer) {
    this.#writer = writer;
  }

  /**
   * Inside a write transaction (it must hold the lock): model `id`'s rows with what a read
   * of the log's head would say, when nothing but this store's model edits wrote since they
   * were kept; otherwise undefined, and every row is forgotten.
   *
   * @param x The transaction's executor (the writer connection).
   * @param id The model.
   */
  async lookup(x: Executor, id: string): Promise<{ tables: ModelTables; head: Head } | undefined> {
    const turn = this.#writer.turn;
    if (this.#validThrough !== turn - 1 || this.#writer.committedTurn !== turn - 1) {
      // A new run of edits: the version it starts from.
      this.#forget();
      this.#version = await dataVersion(x);
      return undefined;
    }
    const tables = this.#rows.get(id);
    // The version is read only when rows would be used: it changed if any other connection
    // committed since the run began (a run of edits on models not kept reads none).
    if (!tables) return undefined;
    const version = await dataVersion(x);
    if (version !== this.#version) {
      this.#forget();
      this.#version = version;
      return undefined;
    }
    // The clock observed the log's newest time when the rows were first read, and stamped
    // every event since: only the tail's time is needed (for the `max_at` rule).
    return { tables, head: { maxAt: undefined, tailAt: this.#tailAt, live: true, inScope: true } };
  }

  #forget(): void {
    this.#rows.clear();
    this.#validThrough = -1;
  }

  /**
   * After an edit's writes, inside its transaction: keeps the rows `p` holds of model `id`
   * (none when it is out of this device's scope). They are used only once the transaction
   * has committed (see {@link lookup}).
   *
   * @param id The model.
   * @param p The projection the edit folded into (its model rows loaded).
   * @param head What the transaction read of the log's head, or what {@link lookup} gave.
   * @param written The events the edit appended, in insertion order.
   */
  keep(id: string, p: Projection, head: Head, written: readonly StoredEvent[]): void {
    // An event on another model's stream changed rows this store may hold: they are dropped.
    for (const e of written) {
      if (e.stream.startsWith("model:")) this.#rows.delete(e.stream.slice(6));
    }
    this.#rows.delete(id);
    if (head.inScope) this.#rows.set(id, p.modelRows(id));
    if (this.#rows.size > HELD_MODELS) this.#rows.delete(this.#rows.keys().next().value!);
    this.#tailAt = written.length > 0 ? written[written.length - 1]!.at : head.tailAt;
    this.#validThrough = this.#writer.turn;
  }
}
