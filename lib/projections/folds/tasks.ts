/**
 * The `tasks` fold: one row per task. The earliest `task.created` names it; `task.closed` is
 * one-way; `last_update` is the newest HLC of the task's events.
 *
 * @module
 */
import { type Fold, pick, splitStream } from "../fold.ts";

/** One row of the `tasks` projection. */
export interface TaskRow {
  /** The task id. */
  id: string;
  /** 1 once task.created was applied. */
  created: number;
  /** The project name. */
  project: string;
  /** The task name. */
  name: string;
  /** The task type. */
  task_type: string;
  /** The tags as JSON. */
  tags: string;
  /** Default destination of output weights. */
  output_uri: string;
  /** 1 once closed. */
  closed: number;
  /** HLC of creation. */
  created_at: string;
  /** HLC of the newest event. */
  last_update: string;
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

/** The state of the `tasks` fold. */
export interface TasksState {
  /** Rows by task id. */
  readonly rows: Map<string, TaskRow>;
  /** Ids of the rows changed. */
  readonly dirty: Set<string>;
}

/** The `tasks` fold. */
export const tasksFold: Fold<TasksState> = {
  name: "tasks",
  init: () => ({ rows: new Map(), dirty: new Set() }),
  preload(events) {
    const ids = new Set<string>();
    for (const e of events) {
      const [kind, id] = splitStream(e.stream);
      if (kind === "task") ids.add(id);
    }
    return ids.size ? [{ table: "tasks", columns: ["id"], keys: [...ids].map((i) => [i]) }] : [];
  },
  load(s, _table, rows) {
    for (const r of rows as readonly TaskRow[]) s.rows.set(r.id, { ...r });
  },
  apply(s, e) {
    const [kind, id] = splitStream(e.stream);
    if (kind !== "task") return;
    let t = s.rows.get(id);
    if (!t) {
      t = emptyTask(id);
      s.rows.set(id, t);
    }
    s.dirty.add(id);
    if (e.at > t.last_update) t.last_update = e.at;
    if (e.type === "task.created") {
      const d = e.data;
      if (!t.created || e.at < t.created_at) {
        t.created = 1;
        t.created_at = e.at;
        t.project = d.project;
        t.name = d.name;
        t.task_type = d.taskType ?? "training";
        t.tags = JSON.stringify(d.tags ?? []);
        t.output_uri = d.outputUri ?? "";
      }
    } else if (e.type === "task.closed") {
      t.closed = 1;
    }
  },
  outputs: [{
    table: "tasks",
    key: ["id"],
    columns: [
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
    rows: (s, all) => pick(s.rows, s.dirty, all),
  }],
};
