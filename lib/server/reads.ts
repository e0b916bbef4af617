/**
 * The server's and the UI's reads of the projections and the log, in one place until they move
 * into `lib/projections/read.ts` (the one read side): nothing else under `lib/server/` holds SQL.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { splitStream } from "../projections/project.ts";

/** The newest sequence number of the log (0 when empty). */
export async function headSeq(store: Store): Promise<number> {
  return (await store.one<{ n: number }>("SELECT coalesce(max(seq), 0) AS n FROM events"))?.n ??
    0;
}

/** The project of a stream's model or task (only created ones when `createdOnly`). */
export async function streamProject(
  store: Store,
  stream: string,
  createdOnly: boolean,
): Promise<string | undefined> {
  const [kind, id] = splitStream(stream);
  const row = await store.one<{ project: string }>(
    `SELECT project FROM ${kind === "task" ? "tasks" : "models"} WHERE id = ?${
      createdOnly ? " AND created = 1" : ""
    }`,
    [id],
  );
  return row?.project;
}

/** The projects of the models whose weights are the blob `hash`. */
export async function blobProjects(store: Store, hash: string): Promise<string[]> {
  const rows = await store.all<{ project: string }>("SELECT project FROM models WHERE hash = ?", [
    hash,
  ]);
  return rows.map((r) => r.project);
}

/** One row of a model's history. */
export interface HistoryRow {
  id: string;
  type: string;
  at: string;
  actor: string;
  origin: string;
  data: string;
}

/**
 * A model's newest `limit` events but reported metrics, newest first, and how many metric
 * events (`metric.scalars`, `metric.plot`) it has.
 */
export async function modelHistoryRows(
  store: Store,
  id: string,
  limit: number,
): Promise<{ rows: HistoryRow[]; scalarEvents: number; plotEvents: number }> {
  const stream = `model:${id}`;
  const rows = await store.all<HistoryRow>(
    `SELECT id, type, at, actor, origin, data FROM events
     WHERE stream = ? AND type NOT IN ('metric.scalars', 'metric.plot')
     ORDER BY at DESC LIMIT ?`,
    [stream, limit],
  );
  const counts = await store.all<{ type: string; n: number }>(
    `SELECT type, count(*) AS n FROM events
     WHERE stream = ? AND type IN ('metric.scalars', 'metric.plot') GROUP BY type`,
    [stream],
  );
  const n = (t: string) => Number(counts.find((c) => c.type === t)?.n ?? 0);
  return { rows, scalarEvents: n("metric.scalars"), plotEvents: n("metric.plot") };
}

/** A created task's name, project and type. */
export function taskSummary(
  store: Store,
  id: string,
): Promise<{ id: string; name: string; project: string; task_type: string } | undefined> {
  return store.one(
    "SELECT id, name, project, task_type FROM tasks WHERE id = ? AND created = 1",
    [id],
  );
}

/** A live model's name. */
export function liveModelName(
  store: Store,
  id: string,
): Promise<{ id: string; name: string } | undefined> {
  return store.one("SELECT id, name FROM models WHERE id = ? AND created = 1 AND removed = 0", [
    id,
  ]);
}

/** The tasks that use a model as an input, newest link first. */
export function inputUsers(
  store: Store,
  modelId: string,
): Promise<{ task_id: string; slot: string; name: string | null; project: string | null }[]> {
  return store.all(
    `SELECT tm.task_id, tm.name AS slot, t.name, t.project FROM task_models tm
     LEFT JOIN tasks t ON t.id = tm.task_id
     WHERE tm.model_id = ? AND tm.role = 'input' ORDER BY tm.at DESC`,
    [modelId],
  );
}
