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
import type { MetadataEntry, MetadataType, NewEvent, StoredEvent } from "../events.ts";
import type { Fold, Output, Preload } from "./fold.ts";
import { type ModelRow, modelsFold } from "./folds/models.ts";
import { type TagRow, tagsFold } from "./folds/tags.ts";
import { metadataFold, type MetadataRow } from "./folds/metadata.ts";
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

/** The tables that make up a model as the model API reads it, each keyed by the model's id. */
const MODEL_TABLES: readonly (readonly [string, string])[] = [
  ["models", "id"],
  ["model_tags", "model_id"],
  ["model_metadata", "model_id"],
];

/**
 * A model as the folds hold it: its row, present tags and present metadata, in the order the
 * model reads (`read.ts`) return them. Only complete after {@link Projection.modelPreloads}.
 */
export interface HeldModel {
  /** The `models` row. */
  row: ModelRow;
  /** Present tags, in SQLite's text order (UTF-8 bytes). */
  tags: string[];
  /** Present metadata entries, by key in the same order. */
  metadata: Record<string, MetadataEntry>;
}

/** Orders strings as SQLite's BINARY collation does: by code point (UTF-8 byte order). */
export function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (an astral code point) sorts after every other BMP unit past U+D7FF.
    const sx = x >= 0xd800 && x <= 0xdfff, sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? (y >= 0xe000 ? 1 : x - y) : (x >= 0xe000 ? -1 : x - y);
    return x - y;
  }
  return a.length - b.length;
}

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
  /** Rows as loaded, by table and primary key (for tables whose output declares its key). */
  readonly #loaded = new Map<string, Map<string, Record<string, unknown>>>();

  /** A projection over `folds` (default: all), each from its empty state. */
  constructor(folds: readonly Fold<unknown>[] = FOLDS) {
    this.#running = folds.map((fold) => ({ fold, state: fold.init() }));
  }

  /**
   * What the folds need loaded before they fold `events`. A fold's preload reads only the
   * events' stream, type and data, so events not stamped yet may be given.
   */
  preloads(events: readonly (StoredEvent | NewEvent)[]): PendingPreload[] {
    const out: PendingPreload[] = [];
    const given = events as readonly StoredEvent[];
    this.#running.forEach((r, fold) => {
      for (const p of r.fold.preload(given)) out.push({ ...p, fold });
    });
    return out;
  }

  /**
   * The preloads that load everything of model `id` the model API reads (its row, every tag
   * and metadata row), whatever events follow: then {@link model} is complete.
   */
  modelPreloads(id: string): PendingPreload[] {
    const out: PendingPreload[] = [];
    for (const [table, column] of MODEL_TABLES) {
      const fold = this.#running.findIndex((r) => r.fold.outputs.some((o) => o.table === table));
      if (fold >= 0) out.push({ table, columns: [column], keys: [[id]], fold });
    }
    return out;
  }

  /** The columns the folds write to `table` (every column of a projection table). */
  columnsOf(table: string): readonly string[] | undefined {
    for (const r of this.#running) {
      for (const o of r.fold.outputs) if (o.table === table) return o.columns;
    }
    return undefined;
  }

  /**
   * Model `id` as the folds hold it now (after its {@link modelPreloads} were loaded, and any
   * events folded); undefined when no row is held.
   */
  model(id: string): HeldModel | undefined {
    const row = this.#held("models").find((r) => (r as ModelRow).id === id) as
      | ModelRow
      | undefined;
    if (!row) return undefined;
    const tags = (this.#held("model_tags") as TagRow[])
      .filter((t) => t.model_id === id && t.present === 1).map((t) => t.tag).sort(byCodePoint);
    const entries = (this.#held("model_metadata") as MetadataRow[])
      .filter((m) => m.model_id === id && m.present === 1)
      .sort((a, b) => byCodePoint(a.key, b.key));
    const metadata: Record<string, MetadataEntry> = {};
    for (const m of entries) metadata[m.key] = { value: m.value, type: m.type as MetadataType };
    return { row: { ...row }, tags, metadata };
  }

  /**
   * Every row the folds hold of model `id` in each table of a model (row, tags with their
   * removals, metadata with theirs), by table: after {@link modelPreloads} were loaded and the
   * events folded and written, exactly what the database holds of the model. The objects are
   * the folds' own: neither they nor this projection may be changed afterwards.
   */
  modelRows(id: string): Map<string, Record<string, unknown>[]> {
    const out = new Map<string, Record<string, unknown>[]>();
    for (const [table, column] of MODEL_TABLES) {
      const mine: Record<string, unknown>[] = [];
      for (const r of this.#held(table) as Record<string, unknown>[]) {
        if (r[column] === id) mine.push(r);
      }
      out.set(table, mine);
    }
    return out;
  }

  /** Every row the folds hold for `table`, as they would be written. */
  #held(table: string): readonly object[] {
    for (const r of this.#running) {
      for (const o of r.fold.outputs) if (o.table === table) return o.rows(r.state, true);
    }
    return [];
  }

  /**
   * Hands the rows read for a preload to the fold that asked. The objects are kept as the rows
   * were loaded (the fold copies what it changes): the caller must not change them afterwards.
   */
  load(p: PendingPreload, rows: readonly Record<string, unknown>[]): void {
    const r = this.#running[p.fold]!;
    const kept = p.keep ? rows.filter(p.keep) : rows;
    const out = r.fold.outputs.find((o) => o.table === p.table && o.key);
    if (out) {
      let byKey = this.#loaded.get(p.table);
      if (!byKey) this.#loaded.set(p.table, byKey = new Map());
      for (const row of kept) byKey.set(rowKey(row, out.key!), row);
    }
    r.fold.load(r.state, p.table, kept);
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
      for (const o of r.fold.outputs) {
        const rows = o.rows(r.state, all);
        const loaded = all || !o.key ? undefined : this.#loaded.get(o.table);
        if (loaded) writeChanged(out, o, rows, loaded);
        else write(out, o, rows);
      }
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

/** Rows changed in place are written as `UPDATE`s when there are at most this many. */
const MAX_UPDATES = 2;

/** The map key of a row's primary key. */
function rowKey(row: Record<string, unknown>, key: readonly string[]): string {
  return key.length === 1 ? String(row[key[0]!]) : key.map((k) => String(row[k])).join("\u0000");
}

/**
 * Writes the rows of an output with a key: rows as loaded are skipped, a few loaded rows that
 * changed become `UPDATE`s of their changed columns, and the rest are upserted as usual.
 */
function writeChanged(
  out: InStatement[],
  o: Output<unknown>,
  rows: readonly object[],
  loaded: Map<string, Record<string, unknown>>,
): void {
  const fresh: object[] = [];
  const updates: { row: Record<string, unknown>; changed: string[] }[] = [];
  for (const row of rows as readonly Record<string, unknown>[]) {
    const was = loaded.get(rowKey(row, o.key!));
    if (!was) {
      fresh.push(row);
      continue;
    }
    const changed = o.columns.filter((c) => row[c] !== was[c]);
    if (changed.length > 0) updates.push({ row, changed });
  }
  if (updates.length > MAX_UPDATES) {
    fresh.push(...updates.map((u) => u.row));
  } else {
    for (const { row, changed } of updates) {
      out.push({
        sql: `UPDATE ${o.table} SET ${changed.map((c) => `${c} = ?`).join(", ")} WHERE ${
          o.key!.map((k) => `${k} = ?`).join(" AND ")
        }`,
        args: [...changed, ...o.key!].map((c) => row[c] as InValue),
      });
    }
  }
  write(out, o, fresh);
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
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    const args: InValue[] = [];
    for (const r of part) {
      for (const c of columns) args.push((r as Record<string, unknown>)[c] as InValue);
    }
    out.push({ sql: upsertText(table, columns, part.length, verb, suffix), args });
  }
}

/** Upsert texts of one row already built, by their columns (a fold's constant list). */
const oneRowSql = new WeakMap<readonly string[], Map<string, string>>();

/** The text of an upsert of `n` rows (those of one row are kept: the hot path's). */
function upsertText(
  table: string,
  columns: readonly string[],
  n: number,
  verb: string,
  suffix: string,
): string {
  let byShape = n === 1 ? oneRowSql.get(columns) : undefined;
  const memo = `${table}\u0000${verb}\u0000${suffix}`;
  const had = byShape?.get(memo);
  if (had !== undefined) return had;
  const tuple = `(${columns.map(() => "?").join(",")})`;
  const sql = `${verb} INTO ${table} (${columns.join(",")}) VALUES ${
    Array(n).fill(tuple).join(",")
  } ${suffix}`;
  if (n === 1) {
    if (!byShape) oneRowSql.set(columns, byShape = new Map());
    byShape.set(memo, sql);
  }
  return sql;
}
