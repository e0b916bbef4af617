/**
 * The `task_models` fold: a task's named links to models (`input` or `output` role), each a
 * last-writer-wins register keyed by task, role and name, set by `task.model_connected`.
 *
 * @module
 */
import { type Fold, key, pick, splitStream } from "../fold.ts";

/** A task's named link to a model. */
export interface TaskModelRow {
  /** The task id. */
  task_id: string;
  /** `input` or `output`. */
  role: string;
  /** The link's name. */
  name: string;
  /** The linked model id. */
  model_id: string;
  /** HLC of the last connect. */
  at: string;
}

/** The state of the `task_models` fold. */
export interface TaskLinksState {
  /** Rows by task id, role and name. */
  readonly rows: Map<string, TaskModelRow>;
  /** Keys of the rows changed. */
  readonly dirty: Set<string>;
}

/** The `task_models` fold. */
export const taskLinksFold: Fold<TaskLinksState> = {
  name: "task_links",
  init: () => ({ rows: new Map(), dirty: new Set() }),
  preload(events) {
    // Only the links this batch writes (a task may hold many): one primary-key read each.
    const keys = new Map<string, [string, string, string]>();
    for (const e of events) {
      if (e.type !== "task.model_connected") continue;
      const id = splitStream(e.stream)[1];
      keys.set(key(id, e.data.role, e.data.name), [id, e.data.role, e.data.name]);
    }
    return keys.size
      ? [{ table: "task_models", columns: ["task_id", "role", "name"], keys: [...keys.values()] }]
      : [];
  },
  load(s, _table, rows) {
    for (const r of rows as readonly TaskModelRow[]) {
      s.rows.set(key(r.task_id, r.role, r.name), { ...r });
    }
  },
  apply(s, e) {
    if (e.type !== "task.model_connected") return;
    const task_id = splitStream(e.stream)[1];
    const d = e.data;
    const k = key(task_id, d.role, d.name);
    const cur = s.rows.get(k);
    if (!cur || cur.at < e.at) {
      s.rows.set(k, { task_id, role: d.role, name: d.name, model_id: d.modelId, at: e.at });
      s.dirty.add(k);
    }
  },
  outputs: [{
    table: "task_models",
    key: ["task_id", "role", "name"],
    columns: ["task_id", "role", "name", "model_id", "at"],
    rows: (s, all) => pick(s.rows, s.dirty, all),
  }],
};
