/**
 * The read side: every query over the projections and the event log that models, tasks, the
 * server, the web UI, the CLI and the sync worker need. Callers get typed plain objects and
 * never see SQL; the query compiler (`../query.ts`) builds the model filter's SQL, and this
 * module runs it.
 *
 * Sections: models (snapshots, queries, references), reports (metric chunks, series, plots),
 * tasks and lineage, the event log (history, paging, pending pushes), projects (access checks),
 * the web UI's table, id prefixes and chart times.
 *
 * Over 600 lines: it is the one module holding every SELECT outside the store and the query
 * compiler (by design, so SQL has one home); its sections are independent and short.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { dialectOfStore, readAll, readOne, type SqlArg } from "../store/raw.ts";
import type { ModelRow, SeriesRow } from "./project.ts";
import type { MetadataEntry, MetadataType, StoredEvent } from "../events.ts";
import {
  type CompiledQuery,
  compileModelQuery,
  type Driver,
  IN_SCOPE,
  type ModelOrder,
  type QueryFilter,
  type QueryStrategy,
} from "../query.ts";

// ---------------------------------------------------------------------------------------------
// Models

/** A model as the projections hold it: its row, present tags and present metadata. */
export interface ModelView {
  /** The `models` projection row. */
  row: ModelRow;
  /** Present user tags, sorted. */
  tags: string[];
  /** Present metadata entries. */
  metadata: Record<string, MetadataEntry>;
}

/** A live model's row, tags and metadata; undefined when absent or removed. */
export async function loadModelView(store: Store, id: string): Promise<ModelView | undefined> {
  const row = await readOne<ModelRow>(
    store,
    `SELECT * FROM models m WHERE id = ? AND created = 1 AND removed = 0 AND ${IN_SCOPE}`,
    [id],
  );
  if (!row) return undefined;
  const tags = await readAll<{ tag: string }>(
    store,
    "SELECT tag FROM model_tags WHERE model_id = ? AND present = 1 ORDER BY tag",
    [id],
  );
  const meta = await readAll<{ key: string; type: string; value: string }>(
    store,
    "SELECT key, type, value FROM model_metadata WHERE model_id = ? AND present = 1 ORDER BY key",
    [id],
  );
  const metadata: Record<string, MetadataEntry> = {};
  for (const m of meta) metadata[m.key] = { value: m.value, type: m.type as MetadataType };
  return { row, tags: tags.map((t) => t.tag), metadata };
}

/**
 * The servers that said a model left this device's scope (its marks in `sync_gone`), sorted;
 * empty when none did. The model reads leave such a model out.
 */
export async function scopeGoneServers(store: Store, modelId: string): Promise<string[]> {
  const rows = await readAll<{ server: string }>(
    store,
    "SELECT server FROM sync_gone WHERE model_id = ? ORDER BY server",
    [modelId],
  );
  return rows.map((r) => r.server);
}

/** The models a server said left this device's scope, sorted by id. */
export async function scopeGoneModels(store: Store, server: string): Promise<string[]> {
  const rows = await readAll<{ model_id: string }>(
    store,
    "SELECT model_id FROM sync_gone WHERE server = ? ORDER BY model_id",
    [server],
  );
  return rows.map((r) => r.model_id);
}

/** The model columns a query returns, with tags and metadata folded into JSON columns. */
const QUERY_COLUMNS = `m.*,
  (SELECT json_group_array(tag) FROM (SELECT tag FROM model_tags t
     WHERE t.model_id = m.id AND t.present = 1 ORDER BY tag)) AS tags_json,
  (SELECT json_group_object(key, json_array(type, value)) FROM model_metadata d
     WHERE d.model_id = m.id AND d.present = 1) AS metadata_json`;

/** {@link QUERY_COLUMNS} in PostgreSQL's JSON aggregates (same JSON text out). */
const PG_QUERY_COLUMNS = `m.*,
  (SELECT coalesce(json_agg(tag ORDER BY tag), '[]'::json)::text FROM model_tags t
     WHERE t.model_id = m.id AND t.present = 1) AS tags_json,
  (SELECT coalesce(json_object_agg(key, json_build_array(type, value)), '{}'::json)::text
     FROM model_metadata d WHERE d.model_id = m.id AND d.present = 1) AS metadata_json`;

type QueryRow = ModelRow & { tags_json: string; metadata_json: string };

function viewFromRow(r: QueryRow): ModelView {
  const { tags_json, metadata_json, ...row } = r;
  const metadata: Record<string, MetadataEntry> = {};
  for (
    const [k, [type, value]] of Object.entries(
      JSON.parse(metadata_json) as Record<string, [string, string]>,
    )
  ) {
    metadata[k] = { type: type as MetadataType, value };
  }
  return { row: row as ModelRow, tags: JSON.parse(tags_json), metadata };
}

/**
 * The models matching a filter, in query order (newest `last_update` first, then id), run
 * with the given plan.
 */
export async function queryModelViews(
  store: Store,
  filter: QueryFilter,
  plan: { strategy: QueryStrategy; driver?: Driver },
): Promise<ModelView[]> {
  const columns = dialectOfStore(store) === "postgres" ? PG_QUERY_COLUMNS : QUERY_COLUMNS;
  const { sql, args } = compileModelQuery(filter, { columns, ...plan });
  return (await readAll<QueryRow>(store, sql, args)).map(viewFromRow);
}

/** How many rows the `models` projection holds (removed and uncreated ones included). */
export async function countModelRows(store: Store): Promise<number> {
  return (await readOne<{ n: number }>(store, "SELECT count(*) AS n FROM models"))?.n ?? 0;
}

/** Runs a count query the compiler built (a selectivity probe) and returns its count. */
export async function runCount(store: Store, q: CompiledQuery): Promise<number> {
  return (await readOne<{ n: number }>(store, q.sql, q.args))?.n ?? 0;
}

/** Whether a model other than `exceptId`, not removed, references the blob `hash`. */
export async function hashUsedElsewhere(
  store: Store,
  hash: string,
  exceptId: string,
): Promise<boolean> {
  const other = await readOne(
    store,
    "SELECT id FROM models WHERE hash = ? AND removed = 0 AND id != ? LIMIT 1",
    [hash, exceptId],
  );
  return other !== undefined;
}

/** Whether a model other than `exceptId`, not removed, has the weights URI `uri`. */
export async function uriUsedElsewhere(
  store: Store,
  uri: string,
  exceptId: string,
): Promise<boolean> {
  const other = await readOne(
    store,
    "SELECT id FROM models WHERE uri = ? AND removed = 0 AND id != ? LIMIT 1",
    [uri, exceptId],
  );
  return other !== undefined;
}

/**
 * The id of the newest live model with weights URI `uri` (archived ones only when
 * `includeArchived`), or undefined.
 */
export async function newestModelIdByUri(
  store: Store,
  uri: string,
  options: { includeArchived?: boolean } = {},
): Promise<string | undefined> {
  const row = await readOne<{ id: string }>(
    store,
    `SELECT id FROM models WHERE uri = ? AND created = 1 AND removed = 0
     ${options.includeArchived ? "" : "AND archived = 0"} ORDER BY last_update DESC, id LIMIT 1`,
    [uri],
  );
  return row?.id;
}

/** A live model's id and name, or undefined. */
export async function modelName(
  store: Store,
  id: string,
): Promise<{ id: string; name: string } | undefined> {
  return await readOne<{ id: string; name: string }>(
    store,
    "SELECT id, name FROM models WHERE id = ? AND created = 1 AND removed = 0",
    [id],
  );
}

// ---------------------------------------------------------------------------------------------
// Reports

/** Which reports of a model to read: each given field must match exactly. */
export interface ReportSelector {
  /** The report title. */
  title?: string;
  /** The report series. */
  series?: string;
  /** The iteration (plots only). */
  iteration?: number;
}

function reportWhere(
  modelId: string,
  f: ReportSelector,
): { where: string; args: SqlArg[] } {
  const where = ["model_id = ?"];
  const args: SqlArg[] = [modelId];
  for (const k of ["title", "series", "iteration"] as const) {
    if (f[k] === undefined) continue;
    where.push(`${k} = ?`);
    args.push(f[k]!);
  }
  return { where: where.join(" AND "), args };
}

/** A stored batch of scalar points: its event id, title, series, size and iteration span. */
export interface ScalarChunkRef {
  /** The `metric.scalars` event holding the points. */
  eventId: string;
  /** Report title. */
  title: string;
  /** Report series. */
  series: string;
  /** Points in the batch. */
  n: number;
  /** Smallest iteration in the batch. */
  minIter: number;
  /** Largest iteration in the batch. */
  maxIter: number;
}

/** The scalar batches of a model matching `f`, oldest first (by HLC, then event id). */
export async function scalarChunkRefs(
  store: Store,
  modelId: string,
  f: Omit<ReportSelector, "iteration"> = {},
): Promise<ScalarChunkRef[]> {
  const { where, args } = reportWhere(modelId, f);
  const rows = await readAll<
    { event_id: string; title: string; series: string; n: number; lo: number; hi: number }
  >(
    store,
    `SELECT event_id, title, series, n, min_iter AS lo, max_iter AS hi FROM metric_chunks
     WHERE ${where} ORDER BY at, event_id`,
    args,
  );
  const out = new Array<ScalarChunkRef>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      eventId: r.event_id,
      title: r.title,
      series: r.series,
      n: Number(r.n),
      minIter: Number(r.lo),
      maxIter: Number(r.hi),
    };
  }
  return out;
}

/**
 * The payload text (`data`, JSON) of the given events, by id; ids not stored are left out.
 * For scalar batches, whose points a reader parses itself (no event validation, no copies).
 */
export async function eventDataById(
  store: Store,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const rows = await readAll<{ id: string; data: string }>(
      store,
      `SELECT id, data FROM events WHERE id IN (${part.map(() => "?").join(",")})`,
      part,
    );
    for (const r of rows) out.set(String(r.id), String(r.data));
  }
  return out;
}

/** The per-series scalar summaries of a model, by title then series. */
export async function scalarSeriesOf(store: Store, modelId: string): Promise<SeriesRow[]> {
  return await readAll<SeriesRow>(
    store,
    "SELECT * FROM scalar_series WHERE model_id = ? ORDER BY title, series",
    [modelId],
  );
}

/** The ids of the `metric.plot` events of a model matching `f`, by title, series, iteration. */
export async function plotEventIds(
  store: Store,
  modelId: string,
  f: ReportSelector = {},
): Promise<string[]> {
  const { where, args } = reportWhere(modelId, f);
  const rows = await readAll<{ event_id: string }>(
    store,
    `SELECT event_id FROM plots WHERE ${where} ORDER BY title, series, iteration`,
    args,
  );
  return rows.map((r) => r.event_id);
}

// ---------------------------------------------------------------------------------------------
// Tasks and lineage

/** A model linked to a task, as input or output, under a slot name. */
export interface TaskModelLink {
  /** `input` or `output`. */
  role: string;
  /** The slot name. */
  name: string;
  /** The linked model. */
  modelId: string;
}

/** The models linked to a task, oldest link first. */
export async function taskModelLinks(store: Store, taskId: string): Promise<TaskModelLink[]> {
  const rows = await readAll<{ role: string; name: string; model_id: string }>(
    store,
    "SELECT role, name, model_id FROM task_models WHERE task_id = ? ORDER BY at",
    [taskId],
  );
  return rows.map((r) => ({ role: r.role, name: r.name, modelId: r.model_id }));
}

/** A created task's name, project and type, or undefined. */
export async function taskSummary(
  store: Store,
  id: string,
): Promise<{ id: string; name: string; project: string; taskType: string } | undefined> {
  const r = await readOne<{ id: string; name: string; project: string; task_type: string }>(
    store,
    "SELECT id, name, project, task_type FROM tasks WHERE id = ? AND created = 1",
    [id],
  );
  return r && { id: r.id, name: r.name, project: r.project, taskType: r.task_type };
}

/** A task that uses a model as an input. */
export interface ModelUse {
  /** The task. */
  taskId: string;
  /** The task's input slot name. */
  slot: string;
  /** The task's name (null when the task is not in this store). */
  taskName: string | null;
  /** The task's project (null when the task is not in this store). */
  taskProject: string | null;
}

/** The tasks that use a model as an input, newest link first (the model's downstream lineage). */
export async function lineageOf(store: Store, modelId: string): Promise<ModelUse[]> {
  return await readAll<ModelUse>(
    store,
    `SELECT tm.task_id AS taskId, tm.name AS slot, t.name AS taskName, t.project AS taskProject
     FROM task_models tm LEFT JOIN tasks t ON t.id = tm.task_id
     WHERE tm.model_id = ? AND tm.role = 'input' ORDER BY tm.at DESC`,
    [modelId],
  );
}

/** The ids of the tasks that use a model as an input (in no particular order). */
export async function inputTaskIds(store: Store, modelId: string): Promise<string[]> {
  const rows = await readAll<{ task_id: string }>(
    store,
    "SELECT task_id FROM task_models WHERE model_id = ? AND role = 'input'",
    [modelId],
  );
  return rows.map((r) => r.task_id);
}

// ---------------------------------------------------------------------------------------------
// Projects (access checks)

/**
 * The project of a model or task (`createdOnly`: only once its creation event is applied), or
 * undefined when the store does not know it.
 */
export async function projectOf(
  store: Store,
  kind: "model" | "task",
  id: string,
  options: { createdOnly?: boolean } = {},
): Promise<string | undefined> {
  const row = await readOne<{ project: string }>(
    store,
    `SELECT project FROM ${kind === "task" ? "tasks" : "models"} WHERE id = ?${
      options.createdOnly ? " AND created = 1" : ""
    }`,
    [id],
  );
  return row?.project;
}

/** The projects of every model (removed ones included) whose weights are the blob `hash`. */
export async function projectsOfBlob(store: Store, hash: string): Promise<string[]> {
  const rows = await readAll<{ project: string }>(
    store,
    "SELECT project FROM models WHERE hash = ?",
    [hash],
  );
  return rows.map((r) => r.project);
}

// ---------------------------------------------------------------------------------------------
// Web UI: the sorted models table, id prefixes, column values, chart times.
// (Reads only the web UI makes; the models table is sorted and counted in SQL so that 100k
// models stay fast.)

/** One page of the models table: the models in the order asked, and how many match in all. */
export interface ModelTablePage {
  /** The page's models. */
  views: ModelView[];
  /** How many models match the filter (all pages), counted up to {@link COUNT_CAP}. */
  total: number;
  /** Whether more than {@link COUNT_CAP} match (then `total` is the cap). */
  capped: boolean;
}

/** The models table counts its matches up to this many (a full count reads every row). */
export const COUNT_CAP = 10_000;

/**
 * A page of models matching `filter` sorted by `order` (SQL `ORDER BY`, `LIMIT`, `OFFSET`),
 * and the count of all matches; with `projects`, only models of those projects.
 */
export async function modelTablePage(
  store: Store,
  filter: QueryFilter,
  opts: { order: ModelOrder; offset: number; limit: number; projects?: string[] },
): Promise<ModelTablePage> {
  const { maxResults: _, after: __, ...where } = filter;
  const scope = opts.projects ? { projects: opts.projects } : {};
  // Two steps: the page's ids in order (only the sort key computed per row), then the page's
  // rows with their tags and metadata.
  const q = compileModelQuery({ ...where, maxResults: opts.limit }, {
    columns: "m.id",
    order: opts.order,
    offset: opts.offset,
    ...scope,
  });
  const all = compileModelQuery({ ...where, maxResults: COUNT_CAP + 1 }, {
    columns: "1",
    ...scope,
  });
  const c = { sql: `SELECT count(*) AS n FROM (${all.sql}) AS matched`, args: all.args };
  const [ids, total] = await Promise.all([
    readAll<{ id: string }>(store, q.sql, q.args),
    readOne<{ n: number }>(store, c.sql, c.args),
  ]);
  const rows = ids.length
    ? await readAll<QueryRow>(
      store,
      `SELECT ${QUERY_COLUMNS} FROM models m WHERE m.id IN (${ids.map(() => "?").join(", ")})`,
      ids.map((r) => r.id),
    )
    : [];
  const at = new Map(ids.map((r, i) => [r.id, i]));
  rows.sort((a, b) => at.get(a.id)! - at.get(b.id)!);
  const n = Number(total?.n ?? 0);
  return { views: rows.map(viewFromRow), total: Math.min(n, COUNT_CAP), capped: n > COUNT_CAP };
}

/**
 * The ids of live models starting with `prefix` (at most `limit`, sorted): the models an id
 * prefix in a UI URL may mean. Until `Model.get` resolves prefixes itself.
 */
export async function modelIdsWithPrefix(
  store: Store,
  prefix: string,
  limit = 10,
): Promise<string[]> {
  const rows = await readAll<{ id: string }>(
    store,
    "SELECT id FROM models WHERE id >= ? AND id < ? AND created = 1 AND removed = 0 " +
      "ORDER BY id LIMIT ?",
    [prefix, prefix + "\uffff", limit],
  );
  return rows.map((r) => r.id);
}

/**
 * The distinct projects of models, sorted (at most `limit`), read from the index
 * `models_project` alone so it stays fast over 100k models (a project whose models were all
 * removed may still be listed).
 */
export async function projectNames(store: Store, limit = 500): Promise<string[]> {
  const rows = await readAll<{ project: string }>(
    store,
    "SELECT DISTINCT project FROM models WHERE project != '' ORDER BY project LIMIT ?",
    [limit],
  );
  return rows.map((r) => r.project);
}

/** A scalar series' summary values, for a column of the models table. */
export interface SeriesStats {
  /** The model. */
  modelId: string;
  /** `title/series`. */
  key: string;
  /** Last value (null when not finite). */
  last: number | null;
  /** Smallest finite value. */
  min: number | null;
  /** Largest finite value. */
  max: number | null;
}

/** The scalar summaries of the given models (every series but single values). */
export async function seriesStatsOf(store: Store, modelIds: string[]): Promise<SeriesStats[]> {
  if (modelIds.length === 0) return [];
  const rows = await readAll<
    { model_id: string; title: string; series: string; last: string; min: number; max: number }
  >(
    store,
    `SELECT model_id, title, series, last, min, max FROM scalar_series WHERE model_id IN (${
      modelIds.map(() => "?").join(", ")
    }) AND max_iter != -2147483648 ORDER BY title, series`,
    modelIds,
  );
  return rows.map((r) => {
    const last = JSON.parse(r.last);
    return {
      modelId: r.model_id,
      key: `${r.title}/${r.series}`,
      last: typeof last === "number" ? last : null,
      min: r.min ?? null,
      max: r.max ?? null,
    };
  });
}

/** One stored batch of a scalar series: its iteration range and when it was written (HLC). */
export interface ScalarChunkSpan {
  /** Report title. */
  title: string;
  /** Report series. */
  series: string;
  /** First iteration in the batch. */
  minIter: number;
  /** Last iteration in the batch. */
  maxIter: number;
  /** The batch event's HLC time. */
  at: string;
}

/** The scalar batches of a model, by title, series and time (for a wall-time axis). */
export async function scalarChunkSpans(store: Store, modelId: string): Promise<ScalarChunkSpan[]> {
  const rows = await readAll<
    { title: string; series: string; min_iter: number; max_iter: number; at: string }
  >(
    store,
    "SELECT title, series, min_iter, max_iter, at FROM metric_chunks WHERE model_id = ? " +
      "ORDER BY title, series, at",
    [modelId],
  );
  return rows.map((r) => ({
    title: r.title,
    series: r.series,
    minIter: r.min_iter,
    maxIter: r.max_iter,
    at: r.at,
  }));
}

// ---------------------------------------------------------------------------------------------
// Server access checks and scope changes (added for the server's authorisation)

/** Up to `limit` events of one stream after `afterSeq`, in local order. */
export async function streamEventsFrom(
  store: Store,
  stream: string,
  afterSeq: number,
  limit: number,
): Promise<StoredEvent[]> {
  return await store.readEvents({ afterSeq, stream, limit });
}

// ---------------------------------------------------------------------------------------------
// Model id prefixes (the CLI, and `Model.get` / `InputModel.get` through `resolveModelId`)

/**
 * The ids of live models that start with `prefix` (at most `limit`, sorted). The prefix is
 * matched literally: only hex digits are looked up, anything else finds nothing.
 */
export async function modelIdsByPrefix(
  store: Store,
  prefix: string,
  limit = 10,
): Promise<string[]> {
  if (!/^[0-9a-f]+$/i.test(prefix)) return [];
  const p = prefix.toLowerCase();
  const rows = await readAll<{ id: string }>(
    store,
    "SELECT id FROM models WHERE id >= ? AND id < ? AND created = 1 AND removed = 0 " +
      "ORDER BY id LIMIT ?",
    [p, p + "\u{10ffff}", limit],
  );
  return rows.map((r) => r.id);
}

// Where a weights URI came from, and tasks by id or name (for the model API)

/**
 * Whether a model's weights URI `uri` arrived only by pull: no event written on this device
 * (`remote = 0` and this store's origin) set it. Such a `file://` URI names a path on another
 * machine, which this device must never read or delete.
 */
export async function uriOnlyFromOtherDevices(
  store: Store,
  modelId: string,
  uri: string,
): Promise<boolean> {
  const local = await readOne(
    store,
    `SELECT 1 AS x FROM events WHERE stream = ? AND type IN ('model.created', 'model.weights_updated')
     AND remote = 0 AND origin = ? AND json_extract(data, '$.uri') = ? LIMIT 1`,
    [`model:${modelId}`, store.origin, uri],
  );
  return local === undefined;
}

/** A task row as `Task.getTask` needs it. */
export interface TaskDetails {
  /** The task id. */
  id: string;
  /** The task name. */
  name: string;
  /** The project name. */
  project: string;
  /** The task type. */
  taskType: string;
  /** The task tags. */
  tags: string[];
  /** The default upload destination ("" when none). */
  outputUri: string;
  /** Whether the task was closed. */
  closed: boolean;
}

/** A created task by id, or the newest created task with this project and name. */
export async function findTask(
  store: Store,
  by: { id: string } | { project: string; name: string },
): Promise<TaskDetails | undefined> {
  const r = await readOne<{
    id: string;
    name: string;
    project: string;
    task_type: string;
    tags: string;
    output_uri: string;
    closed: number;
  }>(
    store,
    "id" in by
      ? "SELECT * FROM tasks WHERE id = ? AND created = 1"
      : `SELECT * FROM tasks WHERE project = ? AND name = ? AND created = 1
         ORDER BY created_at DESC, id DESC LIMIT 1`,
    "id" in by ? [by.id] : [by.project, by.name],
  );
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    project: r.project,
    taskType: r.task_type,
    tags: JSON.parse(r.tags || "[]"),
    outputUri: r.output_uri,
    closed: r.closed === 1,
  };
}

export * from "./read_log.ts";
