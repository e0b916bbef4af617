/**
 * The `models` fold: one row per model. Every field is a last-writer-wins register ordered by
 * the event's HLC (the per-field stamps live in the row's `clock`); publish and removal are
 * one-way and keep their earliest time; `last_update` is the newest HLC of the model's events.
 *
 * @module
 */
import type { ModelFields, StoredEvent } from "../../events.ts";
import { type Fold, pick, sortKeys, splitStream } from "../fold.ts";

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

/** The LWW registers of a model (`weights` covers uri, hash, size and is_package). */
type Register =
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

/** The state of the `models` fold. */
export interface ModelsState {
  /** Rows by model id. */
  readonly rows: Map<string, ModelRow>;
  /** Parsed field clocks by model id (written back into `clock` once, on output). */
  readonly clocks: Map<string, Record<string, string>>;
  /** Ids of the rows changed. */
  readonly dirty: Set<string>;
}

function model(s: ModelsState, id: string): ModelRow {
  let m = s.rows.get(id);
  if (!m) {
    m = emptyModel(id);
    s.rows.set(id, m);
  }
  s.dirty.add(id);
  return m;
}

/** Claims a register for a write at `at`; false when a newer write already holds it. */
function win(s: ModelsState, m: ModelRow, field: Register, at: string): boolean {
  let c = s.clocks.get(m.id);
  if (!c) {
    c = JSON.parse(m.clock) as Record<string, string>;
    s.clocks.set(m.id, c);
  }
  if ((c[field] ?? "") >= at) return false;
  c[field] = at;
  return true;
}

/** Writes the LWW fields given, each only if `at` wins its register. */
function setFields(s: ModelsState, m: ModelRow, f: ModelFields, at: string): void {
  // Only the known fields: a key named "constructor" or "toString" is not a column.
  if (f.name !== undefined && win(s, m, "name", at)) m.name = f.name;
  if (f.comment !== undefined && win(s, m, "comment", at)) m.comment = f.comment;
  if (f.project !== undefined && win(s, m, "project", at)) m.project = f.project;
  if (f.framework !== undefined && win(s, m, "framework", at)) m.framework = f.framework;
  if (f.configText !== undefined && win(s, m, "config_text", at)) m.config_text = f.configText;
  if (f.labels !== undefined && win(s, m, "labels", at)) {
    m.labels = JSON.stringify(sortKeys(f.labels));
  }
  if (f.parent !== undefined && win(s, m, "parent", at)) m.parent = f.parent;
  if (f.task !== undefined && win(s, m, "task", at)) m.task = f.task;
}

function publish(m: ModelRow, at: string): void {
  if (!m.published || at < m.published_at) m.published_at = at;
  m.published = 1;
}

/** The `models` fold. */
export const modelsFold: Fold<ModelsState> = {
  name: "models",
  init: () => ({ rows: new Map(), clocks: new Map(), dirty: new Set() }),
  preload(events) {
    const ids = new Set<string>();
    for (const e of events) {
      const [kind, id] = splitStream(e.stream);
      if (kind === "model") ids.add(id);
    }
    return ids.size ? [{ table: "models", columns: ["id"], keys: [...ids].map((i) => [i]) }] : [];
  },
  load(s, _table, rows) {
    for (const r of rows as readonly ModelRow[]) s.rows.set(r.id, { ...r });
  },
  apply(s, e: StoredEvent) {
    const [kind, id] = splitStream(e.stream);
    if (kind !== "model") return;
    const m = model(s, id);
    const at = e.at;
    if (at > m.last_update) m.last_update = at;
    switch (e.type) {
      case "model.created": {
        const d = e.data;
        if (!m.created || at < m.created_at) {
          m.created_at = at;
          m.original_task = d.originalTask ?? d.task ?? "";
        }
        m.created = 1;
        setFields(s, m, d, at);
        if (d.uri !== undefined && win(s, m, "weights", at)) {
          m.uri = d.uri;
          m.is_package = d.isPackage ? 1 : 0;
        }
        if (d.published) publish(m, at);
        break;
      }
      case "model.updated":
        setFields(s, m, e.data.fields, at);
        break;
      case "model.weights_updated": {
        const d = e.data;
        if (win(s, m, "weights", at)) {
          m.uri = d.uri;
          m.hash = d.hash ?? "";
          m.size = d.size ?? 0;
          m.is_package = d.isPackage ? 1 : 0;
        }
        // The iteration is its own register, written only by updates that carry one, so the
        // model keeps the newest given iteration whatever order the events arrive in.
        if (d.iteration !== undefined && win(s, m, "iteration", at)) m.iteration = d.iteration;
        if (d.framework !== undefined) setFields(s, m, { framework: d.framework }, at);
        break;
      }
      case "model.published":
        publish(m, at);
        break;
      case "model.archived":
      case "model.unarchived":
        if (win(s, m, "archived", at)) m.archived = e.type === "model.archived" ? 1 : 0;
        break;
      case "model.removed":
        if (!m.removed || at < m.removed_at) m.removed_at = at;
        m.removed = 1;
        break;
      default:
        break;
    }
  },
  outputs: [{
    table: "models",
    key: ["id"],
    columns: MODEL_COLUMNS,
    rows(s, all) {
      // Field clocks are kept parsed while folding and written back once, here.
      for (const [id, c] of s.clocks) {
        const m = s.rows.get(id);
        if (m) m.clock = JSON.stringify(sortKeys(c));
      }
      return pick(s.rows, s.dirty, all);
    },
  }],
};
