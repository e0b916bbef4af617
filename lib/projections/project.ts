/**
 * The projection: every named fold (`folds/`) run together. Used both by the append path (on
 * the rows an append touches, loaded in its transaction) and by `rebuild()` (on every row, from
 * an empty state). Because both run the same folds, rebuild equals the incremental state by
 * construction; tests check it.
 *
 * Convergence rules: every model field is a last-writer-wins register ordered by the event's
 * HLC; tags and metadata keys are per-element LWW; publish and removal are one-way; a model's
 * `last_update` is the newest HLC of its events.
 *
 * @module
 */
import type { InStatement, InValue } from "../deps.ts";
import type { StoredEvent } from "../events.ts";
import type { Fold, Output, Preload } from "./fold.ts";
import { modelsFold } from "./folds/models.ts";
import { tagsFold } from "./folds/tags.ts";
import { metadataFold } from "./folds/metadata.ts";
import { tasksFold } from "./folds/tasks.ts";
import { taskLinksFold } from "./folds/task_links.ts";
import { scalarsFold } from "./folds/scalars.ts";
import { plotsFold } from "./folds/plots.ts";

export { emptyModel, MODEL_COLUMNS, type ModelRow } from "./folds/models.ts";
export type { TagRow } from "./folds/tags.ts";
export type { MetadataRow } from "./folds/metadata.ts";
export type { TaskRow } from "./folds/tasks.ts";
export type { TaskModelRow } from "./folds/task_links.ts";
export type { ChunkRow, SeriesRow } from "./folds/scalars.ts";
export type { PlotRow } from "./folds/plots.ts";
export { splitStream } from "./fold.ts";
export type { Fold, Output, Preload } from "./fold.ts";

/** Every fold, in the order their tables are written. */
export const FOLDS: readonly Fold<unknown>[] = [
  modelsFold,
  tagsFold,
  metadataFold,
  tasksFold,
  taskLinksFold,
  scalarsFold,
  plotsFold,
];

/** One fold with its state. */
interface Running {
  fold: Fold<unknown>;
  state: unknown;
}

/** A preload of one fold, to read and hand back with {@link Projection.load}. */
export interface PendingPreload extends Preload {
  /** Which fold asked (an index into the projection's folds). */
  readonly fold: number;
}

/** The rows one fold output changed, with how to write them (see {@link Projection.outputs}). */
export interface ChangedRows {
  /** The table. */
  readonly table: string;
  /** Its columns, in the order values are bound. */
  readonly columns: readonly string[];
  /** The rows. */
  readonly rows: readonly object[];
  /** The statement's verb. */
  readonly verb: string;
  /** Text after the values (an `ON CONFLICT` clause, or empty). */
  readonly suffix: string;
}

/**
 * The in-memory state of every fold: what the store loads rows into, folds events over and
 * writes back.
 */
export class Projection {
  readonly #running: Running[];

  /** A projection over `folds` (default: all), each from its empty state. */
  constructor(folds: readonly Fold<unknown>[] = FOLDS) {
    this.#running = folds.map((fold) => ({ fold, state: fold.init() }));
  }

  /** What the folds need loaded before they fold `events`. */
  preloads(events: readonly StoredEvent[]): PendingPreload[] {
    const out: PendingPreload[] = [];
    this.#running.forEach((r, fold) => {
      for (const p of r.fold.preload(events)) out.push({ ...p, fold });
    });
    return out;
  }

  /** Hands the rows read for a preload to the fold that asked. */
  load(p: PendingPreload, rows: readonly Record<string, unknown>[]): void {
    const r = this.#running[p.fold]!;
    r.fold.load(r.state, p.table, p.keep ? rows.filter(p.keep) : rows);
  }

  /** Folds one event into every fold's state. Order-independent for the same set of events. */
  apply(e: StoredEvent): void {
    for (const r of this.#running) r.fold.apply(r.state, e);
  }

  /**
   * The statements that write the changed rows back (upserts, multi-row, chunked). With
   * `all`, every row is written (rebuild).
   */
  statements(all = false): InStatement[] {
    const out: InStatement[] = [];
    for (const r of this.#running) {
      for (const o of r.fold.outputs) write(out, o, o.rows(r.state, all));
    }
    return out;
  }

  /**
   * The changed rows of every output, in the order {@link Projection.statements} writes them,
   * for a writer that shapes its own statements (ingest: `store/ingest.ts`).
   */
  outputs(): ChangedRows[] {
    const out: ChangedRows[] = [];
    for (const r of this.#running) {
      for (const o of r.fold.outputs) {
        const rows = o.rows(r.state, false);
        if (rows.length === 0) continue;
        out.push({
          table: o.table,
          columns: o.columns,
          rows,
          verb: o.verb ?? "INSERT OR REPLACE",
          suffix: o.suffix ?? "",
        });
      }
    }
    return out;
  }

  /**
   * The statements for the insert-only rows folded so far, which are then forgotten (a long
   * replay writes them as it goes, to keep memory flat).
   */
  spill(): InStatement[] {
    const out: InStatement[] = [];
    for (const r of this.#running) {
      for (const o of r.fold.outputs) {
        if (!o.written) continue;
        write(out, o, o.rows(r.state, true));
        o.written(r.state);
      }
    }
    return out;
  }
}

function write(out: InStatement[], o: Output<unknown>, rows: readonly object[]): void {
  upsertRows(out, o.table, o.columns, rows, o.verb, o.suffix);
}

/** Max bound parameters per statement (SQLite's default limit is 32766). */
const MAX_PARAMS = 30000;

/** Appends multi-row `INSERT OR REPLACE` statements for rows, chunked under the param limit. */
export function upsertRows<T extends object>(
  out: InStatement[],
  table: string,
  columns: readonly string[],
  rows: readonly T[],
  verb = "INSERT OR REPLACE",
  suffix = "",
): void {
  if (rows.length === 0) return;
  const per = Math.max(1, Math.min(500, Math.floor(MAX_PARAMS / columns.length)));
  const tuple = `(${columns.map(() => "?").join(",")})`;
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    const args: InValue[] = [];
    for (const r of part) {
      for (const c of columns) args.push((r as Record<string, unknown>)[c] as InValue);
    }
    out.push({
      sql: `${verb} INTO ${table} (${columns.join(",")}) VALUES ${
        part.map(() => tuple).join(",")
      } ${suffix}`,
      args,
    });
  }
}
