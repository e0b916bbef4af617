/**
 * The projection fold: one pure, order-independent function of the events, used both by the
 * append path (on the rows an append touches, loaded in its transaction) and by `rebuild()`
 * (on every row, from an empty state). Because both run this same code, rebuild equals the
 * incremental state by construction; tests check it.
 *
 * Convergence rules: every model field is a last-writer-wins register ordered by the event's
 * HLC; tags and metadata keys are per-element LWW; publish and removal are one-way; a model's
 * `last_update` is the newest HLC of its events.
 *
 * @module
 */
import type { InStatement, InValue } from "../deps.ts";
import { decodeNumber, type EncodedNumber, type StoredEvent } from "../events.ts";

/** Columns of the `models` projection, in table order. */
export const MODEL_COLUMNS = [
  "id",
  "created",
  "created_at",
  "name",
  "comment",
  "project",
  "framework",
  "config_text",
  "labels",
  "parent",
  "task",
  "original_task",
  "uri",
  "hash",
  "size",
  "iteration",
  "is_package",
  "published",
  "published_at",
  "archived",
  "removed",
  "removed_at",
  "last_update",
  "clock",
] as const;

/** One row of the `models` projection. */
export interface ModelRow {
  /** The model id. */
  id: string;
  /** 1 once the model.created event was applied. */
  created: number;
  /** HLC of creation. */
  created_at: string;
  /** The name. */
  name: string;
  /** The comment. */
  comment: string;
  /** The project name. */
  project: string;
  /** The framework. */
  framework: string;
  /** The design text. */
  config_text: string;
  /** The labels as JSON. */
  labels: string;
  /** The parent model id. */
  parent: string;
  /** The connected task id. */
  task: string;
  /** The creating task id. */
  original_task: string;
  /** The weights URI. */
  uri: string;
  /** SHA-256 of the weights. */
  hash: string;
  /** Weights size in bytes. */
  size: number;
  /** Iteration of the last weights update. */
  iteration: number | null;
  /** 1 when the weights are a zip package. */
  is_package: number;
  /** 1 once published. */
  published: number;
  /** HLC of the first publish. */
  published_at: string;
  /** 1 when archived. */
  archived: number;
  /** 1 once removed. */
  removed: number;
  /** HLC of removal. */
  removed_at: string;
  /** HLC of the newest event. */
  last_update: string;
  /** Per-field LWW timestamps as JSON. */
  clock: string;
}

/** A tag or metadata element with its LWW timestamp. */
export interface TagRow {
  model_id: string;
  tag: string;
  present: number;
  at: string;
}

/** One metadata key of a model. */
export interface MetadataRow {
  model_id: string;
  key: string;
  type: string;
  value: string;
  present: number;
  at: string;
}

/** One row of the `tasks` projection. */
export interface TaskRow {
  id: string;
  created: number;
  project: string;
  name: string;
  task_type: string;
  tags: string;
  output_uri: string;
  closed: number;
  created_at: string;
  last_update: string;
}

/** A task's named link to a model. */
export interface TaskModelRow {
  task_id: string;
  role: string;
  name: string;
  model_id: string;
  at: string;
}

/** Per-series summary of scalars. */
export interface SeriesRow {
  model_id: string;
  title: string;
  series: string;
  count: number;
  min: number | null;
  max: number | null;
  last: string;
  last_iter: number;
  last_at: string;
  max_iter: number;
}

/** The latest plot per model/title/series/iteration. */
export interface PlotRow {
  model_id: string;
  title: string;
  series: string;
  iteration: number;
  kind: string;
  event_id: string;
  at: string;
}

/** A chunk of scalar points (the points live in the event). */
export interface ChunkRow {
  event_id: string;
  model_id: string;
  title: string;
  series: string;
  n: number;
  min_iter: number;
  max_iter: number;
  at: string;
}

/** Creates an empty model row. */
export function emptyModel(id: string): ModelRow {
  return {
    id,
    created: 0,
    created_at: "",
    name: "",
    comment: "",
    project: "",
    framework: "",
    config_text: "",
    labels: "{}",
    parent: "",
    task: "",
    original_task: "",
    uri: "",
    hash: "",
    size: 0,
    iteration: null,
    is_package: 0,
    published: 0,
    published_at: "",
    archived: 0,
    removed: 0,
    removed_at: "",
    last_update: "",
    clock: "{}",
  };
}

function emptyTask(id: string): TaskRow {
  return {
    id,
    created: 0,
    project: "",
    name: "",
    task_type: "",
    tags: "[]",
    output_uri: "",
    closed: 0,
    created_at: "",
    last_update: "",
  };
}

const k2 = (a: string, b: string) => `${a}\u0000${b}`;
const k3 = (a: string, b: string, c: string) => `${a}\u0000${b}\u0000${c}`;

type FieldName =
  | "name"
  | "comment"
  | "project"
  | "framework"
  | "config_text"
  | "labels"
  | "parent"
  | "task"
  | "weights"
  | "iteration"
  | "archived";

const FIELD_MAP: Record<string, FieldName> = {
  name: "name",
  comment: "comment",
  project: "project",
  framework: "framework",
  configText: "config_text",
  labels: "labels",
  parent: "parent",
  task: "task",
};

/**
 * The in-memory state a fold works on: rows by key, plus the keys it changed (so the append
 * path writes back only those).
 */
export class Projection {
  readonly models = new Map<string, ModelRow>();
  readonly tags = new Map<string, TagRow>();
  readonly metadata = new Map<string, MetadataRow>();
  readonly tasks = new Map<string, TaskRow>();
  readonly taskModels = new Map<string, TaskModelRow>();
  readonly series = new Map<string, SeriesRow>();
  readonly plots = new Map<string, PlotRow>();
  /** New chunk rows (insert-only). */
  chunks: ChunkRow[] = [];
  readonly #clocks = new Map<string, Record<string, string>>();
  readonly dirty = {
    models: new Set<string>(),
    tags: new Set<string>(),
    metadata: new Set<string>(),
    tasks: new Set<string>(),
    taskModels: new Set<string>(),
    series: new Set<string>(),
    plots: new Set<string>(),
  };

  /** Adds loaded rows (from the database) before folding new events over them. */
  load(rows: {
    models?: ModelRow[];
    tags?: TagRow[];
    metadata?: MetadataRow[];
    tasks?: TaskRow[];
    taskModels?: TaskModelRow[];
    series?: SeriesRow[];
    plots?: PlotRow[];
  }): void {
    for (const r of rows.models ?? []) this.models.set(r.id, { ...r });
    for (const r of rows.tags ?? []) this.tags.set(k2(r.model_id, r.tag), { ...r });
    for (const r of rows.metadata ?? []) this.metadata.set(k2(r.model_id, r.key), { ...r });
    for (const r of rows.tasks ?? []) this.tasks.set(r.id, { ...r });
    for (const r of rows.taskModels ?? []) {
      this.taskModels.set(k3(r.task_id, r.role, r.name), { ...r });
    }
    for (const r of rows.series ?? []) this.series.set(k3(r.model_id, r.title, r.series), { ...r });
    for (const r of rows.plots ?? []) {
      this.plots.set(k3(r.model_id, r.title, r.series) + "\u0000" + r.iteration, { ...r });
    }
  }

  #model(id: string): ModelRow {
    let m = this.models.get(id);
    if (!m) {
      m = emptyModel(id);
      this.models.set(id, m);
    }
    this.dirty.models.add(id);
    return m;
  }

  #clock(m: ModelRow): Record<string, string> {
    let c = this.#clocks.get(m.id);
    if (!c) {
      c = JSON.parse(m.clock) as Record<string, string>;
      this.#clocks.set(m.id, c);
    }
    return c;
  }

  /** Sets a LWW field group if `at` is newer than its last write; returns whether it won. */
  #win(m: ModelRow, field: FieldName, at: string): boolean {
    const c = this.#clock(m);
    if ((c[field] ?? "") >= at) return false;
    c[field] = at;
    return true;
  }

  #setFields(m: ModelRow, fields: object, at: string): void {
    for (const [k, v] of Object.entries(fields)) {
      // Own keys only: a field named "constructor" or "toString" is not a column.
      const col = Object.hasOwn(FIELD_MAP, k) ? FIELD_MAP[k] : undefined;
      if (!col || v === undefined) continue;
      if (!this.#win(m, col, at)) continue;
      if (col === "labels") m.labels = JSON.stringify(sortKeys(v as Record<string, number>));
      else (m as unknown as Record<string, unknown>)[col] = v as string;
    }
  }

  #tag(modelId: string, tag: string, present: number, at: string): void {
    const key = k2(modelId, tag);
    const cur = this.tags.get(key);
    if (cur && cur.at >= at) return;
    this.tags.set(key, { model_id: modelId, tag, present, at });
    this.dirty.tags.add(key);
  }

  /** Folds one event into the state. Order-independent for the same set of events. */
  apply(e: StoredEvent): void {
    const [kind, id] = splitStream(e.stream);
    if (kind === "task") return this.#applyTask(id, e);
    const m = this.#model(id);
    if (e.at > m.last_update) m.last_update = e.at;
    const at = e.at;
    switch (e.type) {
      case "model.created": {
        const d = e.data as StoredEvent<"model.created">["data"];
        if (!m.created || at < m.created_at) {
          m.created_at = at;
          m.original_task = d.originalTask ?? d.task ?? "";
        }
        m.created = 1;
        this.#setFields(m, d, at);
        if (d.uri !== undefined && this.#win(m, "weights", at)) {
          m.uri = d.uri;
          m.is_package = d.isPackage ? 1 : 0;
        }
        for (const t of d.tags ?? []) this.#tag(id, t, 1, at);
        if (d.published) this.#publish(m, at);
        break;
      }
      case "model.updated":
        this.#setFields(m, (e.data as StoredEvent<"model.updated">["data"]).fields, at);
        break;
      case "model.weights_updated": {
        const d = e.data as StoredEvent<"model.weights_updated">["data"];
        if (this.#win(m, "weights", at)) {
          m.uri = d.uri;
          m.hash = d.hash ?? "";
          m.size = d.size ?? 0;
          m.is_package = d.isPackage ? 1 : 0;
        }
        // The iteration is its own register, written only by updates that carry one, so the
        // model keeps the newest given iteration whatever order the events arrive in.
        if (d.iteration !== undefined && this.#win(m, "iteration", at)) m.iteration = d.iteration;
        if (d.framework !== undefined) this.#setFields(m, { framework: d.framework }, at);
        break;
      }
      case "model.tags_changed": {
        const d = e.data as StoredEvent<"model.tags_changed">["data"];
        for (const t of d.remove ?? []) this.#tag(id, t, 0, at);
        for (const t of d.add ?? []) this.#tag(id, t, 1, at);
        break;
      }
      case "model.metadata_changed": {
        const d = e.data as StoredEvent<"model.metadata_changed">["data"];
        for (const key of d.remove ?? []) this.#meta(id, key, "str", "", 0, at);
        for (const [key, v] of Object.entries(d.set ?? {})) {
          this.#meta(id, key, v.type, v.value, 1, at);
        }
        break;
      }
      case "model.published":
        this.#publish(m, at);
        break;
      case "model.archived":
      case "model.unarchived":
        if (this.#win(m, "archived", at)) m.archived = e.type === "model.archived" ? 1 : 0;
        break;
      case "model.removed":
        if (!m.removed || at < m.removed_at) m.removed_at = at;
        m.removed = 1;
        break;
      case "metric.scalars":
        this.#scalars(id, e as StoredEvent<"metric.scalars">);
        break;
      case "metric.plot": {
        const d = e.data as StoredEvent<"metric.plot">["data"];
        const key = k3(id, d.title, d.series) + "\u0000" + d.iteration;
        const cur = this.plots.get(key);
        if (!cur || cur.at < at) {
          this.plots.set(key, {
            model_id: id,
            title: d.title,
            series: d.series,
            iteration: d.iteration,
            kind: d.kind,
            event_id: e.id,
            at,
          });
          this.dirty.plots.add(key);
        }
        break;
      }
      default:
        break;
    }
  }

  #publish(m: ModelRow, at: string): void {
    if (!m.published || at < m.published_at) m.published_at = at;
    m.published = 1;
  }

  #meta(modelId: string, key: string, type: string, value: string, present: number, at: string) {
    const k = k2(modelId, key);
    const cur = this.metadata.get(k);
    if (cur && cur.at >= at) return;
    this.metadata.set(k, { model_id: modelId, key, type, value, present, at });
    this.dirty.metadata.add(k);
  }

  #scalars(modelId: string, e: StoredEvent<"metric.scalars">): void {
    const d = e.data;
    const n = d.iters.length;
    let minIter = Infinity, maxIter = -Infinity, min = Infinity, max = -Infinity;
    let anyFinite = false;
    for (let i = 0; i < n; i++) {
      const it = d.iters[i]!;
      if (it < minIter) minIter = it;
      if (it > maxIter) maxIter = it;
      const v = d.values[i]!;
      // min/max cover finite values only: libSQL refuses to bind NaN or ±Infinity, and one
      // such value would otherwise fail the whole report batch.
      const x = typeof v === "number" ? v : decodeNumber(v as EncodedNumber);
      if (Number.isFinite(x)) {
        anyFinite = true;
        if (x < min) min = x;
        if (x > max) max = x;
      }
    }
    this.chunks.push({
      event_id: e.id,
      model_id: modelId,
      title: d.title,
      series: d.series,
      n,
      min_iter: minIter,
      max_iter: maxIter,
      at: e.at,
    });
    const key = k3(modelId, d.title, d.series);
    const cur = this.series.get(key);
    const last = d.values[n - 1]!;
    const lastIter = d.iters[n - 1]!;
    if (!cur) {
      this.series.set(key, {
        model_id: modelId,
        title: d.title,
        series: d.series,
        count: n,
        min: anyFinite ? min : null,
        max: anyFinite ? max : null,
        last: JSON.stringify(last),
        last_iter: lastIter,
        last_at: e.at,
        max_iter: maxIter,
      });
    } else {
      cur.count += n;
      if (anyFinite) {
        cur.min = cur.min === null ? min : Math.min(cur.min, min);
        cur.max = cur.max === null ? max : Math.max(cur.max, max);
      }
      if (e.at > cur.last_at) {
        cur.last = JSON.stringify(last);
        cur.last_iter = lastIter;
        cur.last_at = e.at;
      }
      if (maxIter > cur.max_iter) cur.max_iter = maxIter;
    }
    this.dirty.series.add(key);
  }

  #applyTask(id: string, e: StoredEvent): void {
    let t = this.tasks.get(id);
    if (!t) {
      t = emptyTask(id);
      this.tasks.set(id, t);
    }
    this.dirty.tasks.add(id);
    if (e.at > t.last_update) t.last_update = e.at;
    switch (e.type) {
      case "task.created": {
        const d = e.data as StoredEvent<"task.created">["data"];
        if (!t.created || e.at < t.created_at) {
          t.created = 1;
          t.created_at = e.at;
          t.project = d.project;
          t.name = d.name;
          t.task_type = d.taskType ?? "training";
          t.tags = JSON.stringify(d.tags ?? []);
          t.output_uri = d.outputUri ?? "";
        }
        break;
      }
      case "task.closed":
        t.closed = 1;
        break;
      case "task.model_connected": {
        const d = e.data as StoredEvent<"task.model_connected">["data"];
        const key = k3(id, d.role, d.name);
        const cur = this.taskModels.get(key);
        if (!cur || cur.at < e.at) {
          this.taskModels.set(key, {
            task_id: id,
            role: d.role,
            name: d.name,
            model_id: d.modelId,
            at: e.at,
          });
          this.dirty.taskModels.add(key);
        }
        break;
      }
      default:
        break;
    }
  }

  /**
   * The statements that write the changed rows back (upserts, multi-row, chunked), and the
   * new chunk rows. With `all`, every row is written (rebuild).
   */
  statements(all = false): InStatement[] {
    const out: InStatement[] = [];
    // Field clocks are kept parsed while folding and written back once, here.
    for (const [id, c] of this.#clocks) {
      const m = this.models.get(id);
      if (m) m.clock = JSON.stringify(sortKeys(c));
    }
    const pick = <T>(map: Map<string, T>, dirty: Set<string>): T[] =>
      all ? [...map.values()] : [...dirty].map((k) => map.get(k)!).filter(Boolean);
    upsertRows(out, "models", MODEL_COLUMNS, pick(this.models, this.dirty.models));
    upsertRows(
      out,
      "model_tags",
      ["model_id", "tag", "present", "at"],
      pick(this.tags, this.dirty.tags),
    );
    upsertRows(
      out,
      "model_metadata",
      ["model_id", "key", "type", "value", "present", "at"],
      pick(this.metadata, this.dirty.metadata),
    );
    upsertRows(
      out,
      "tasks",
      [
        "id",
        "created",
        "project",
        "name",
        "task_type",
        "tags",
        "output_uri",
        "closed",
        "created_at",
        "last_update",
      ],
      pick(this.tasks, this.dirty.tasks),
    );
    upsertRows(
      out,
      "task_models",
      ["task_id", "role", "name", "model_id", "at"],
      pick(this.taskModels, this.dirty.taskModels),
    );
    upsertRows(
      out,
      "scalar_series",
      [
        "model_id",
        "title",
        "series",
        "count",
        "min",
        "max",
        "last",
        "last_iter",
        "last_at",
        "max_iter",
      ],
      pick(this.series, this.dirty.series),
    );
    upsertRows(
      out,
      "plots",
      ["model_id", "title", "series", "iteration", "kind", "event_id", "at"],
      pick(this.plots, this.dirty.plots),
      "INSERT",
      // Last writer wins in SQL, so appends need not load the plots they may replace.
      `ON CONFLICT(model_id, title, series, iteration) DO UPDATE SET kind = excluded.kind,
       event_id = excluded.event_id, at = excluded.at WHERE excluded.at > plots.at`,
    );
    upsertRows(
      out,
      "metric_chunks",
      ["event_id", "model_id", "title", "series", "n", "min_iter", "max_iter", "at"],
      this.chunks,
    );
    return out;
  }

  /** Forgets dirty marks and pending chunks (after they were written). */
  clearDirty(): void {
    for (const s of Object.values(this.dirty)) s.clear();
    this.chunks = [];
  }
}

/** Splits `model:<id>` into its kind and id. */
export function splitStream(stream: string): ["model" | "task", string] {
  const i = stream.indexOf(":");
  return [stream.slice(0, i) as "model" | "task", stream.slice(i + 1)];
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** Max bound parameters per statement (SQLite's default limit is 32766). */
const MAX_PARAMS = 30000;

/** Appends multi-row `INSERT OR REPLACE` statements for rows, chunked under the param limit. */
export function upsertRows<T extends object>(
  out: InStatement[],
  table: string,
  columns: readonly string[],
  rows: T[],
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
