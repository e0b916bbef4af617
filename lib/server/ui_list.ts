/**
 * The web UI's models table (`/`): a filter form (project picker, partial name, tags in the
 * ClearML grammar with `-tag`, published, archived, metadata `k=v`), sorting by name, last
 * update, creation, iteration or any metric summary / metadata column (sorted in SQL), extra
 * columns, the total count, previous/next pages, clickable tags, and row ticks that open the
 * comparison page. Everything the table shows is in the URL:
 *
 * - `sort`: `lastUpdate` (default), `created`, `name`, `iteration`, or a column spec;
 *   `dir`: `asc` or `desc`.
 * - `col` (repeatable): a column spec, `last:<title>/<series>` (or `min:`, `max:`) for a
 *   scalar summary, `meta:<key>` for a metadata value. The title ends at the first `/`.
 * - `page`: the page number from 1; `limit`: rows per page.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { QueryModelsOptions } from "../models/model.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { isTrue, parseModelQuery, splitMetadataList } from "../query_text.ts";
import type { ModelOrder, ModelSortKey } from "../query.ts";
import { hlcWall } from "../clock.ts";
import { h, listTable, num, page, tagLinks, textOrNone, when } from "../reports/layout.ts";
import {
  modelTablePage,
  type ModelView,
  projectNames,
  type SeriesStats,
  seriesStatsOf,
} from "../projections/read.ts";
import { htmlResponse } from "./ui_response.ts";

/** Rows per page of the models table (default). */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page the table serves. */
export const MAX_PAGE_SIZE = 500;
/** Most extra columns. */
const MAX_COLUMNS = 12;

/** The filter form's fields, as typed (kept to refill the form and build links). */
interface ListForm {
  project: string;
  name: string;
  tags: string;
  published: string;
  archived: string;
  metadata: string[];
  limit: string;
  sort: string;
  dir: string;
  cols: string[];
}

function readForm(p: URLSearchParams): ListForm {
  const get = (k: string) => (p.get(k) ?? "").trim();
  return {
    project: get("project"),
    name: get("name"),
    tags: get("tags"),
    published: get("published"),
    archived: get("archived"),
    metadata: p.getAll("metadata").map((s) => s.trim()).filter((s) => s.length > 0),
    limit: get("limit"),
    sort: get("sort"),
    dir: get("dir"),
    cols: [...new Set(p.getAll("col").map((s) => s.trim()).filter((s) => s.length > 0))],
  };
}

function intParam(field: string, v: string, dflt: number, max: number): number {
  if (!v) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new InvalidArgumentError(field, v, `must be an integer from 1 to ${max}`);
  }
  return n;
}

/** A parsed column: its spec text, its heading and its sort key. */
interface Column {
  spec: string;
  label: string;
  key: ModelSortKey & ({ by: "metric" } | { by: "metadata" });
}

/** Parses a column spec (`last:loss/train`, `meta:dataset`). */
export function parseColumn(spec: string): Column {
  const i = spec.indexOf(":");
  const kind = i > 0 ? spec.slice(0, i) : "";
  const rest = spec.slice(i + 1);
  if (kind === "meta" && rest) {
    return { spec, label: rest, key: { by: "metadata", key: rest } };
  }
  if (kind === "last" || kind === "min" || kind === "max") {
    const j = rest.indexOf("/");
    if (j > 0 && j < rest.length - 1) {
      return {
        spec,
        label: `${rest} (${kind})`,
        key: { by: "metric", title: rest.slice(0, j), series: rest.slice(j + 1), stat: kind },
      };
    }
  }
  throw new InvalidArgumentError(
    "col",
    spec,
    "must be last:<title>/<series>, min:<title>/<series>, max:<title>/<series> or meta:<key>",
  );
}

const FIXED_SORTS: Record<string, ModelSortKey> = {
  lastUpdate: { by: "lastUpdate" },
  created: { by: "created" },
  name: { by: "name" },
  iteration: { by: "iteration" },
};

function parseOrder(f: ListForm): ModelOrder {
  const sort = f.sort || "lastUpdate";
  const key = FIXED_SORTS[sort] ?? parseColumn(sort).key;
  if (f.dir && f.dir !== "asc" && f.dir !== "desc") {
    throw new InvalidArgumentError("dir", f.dir, "must be asc or desc");
  }
  // Times and metrics read best newest/largest first; names A to Z.
  const desc = f.dir ? f.dir === "desc" : sort !== "name";
  return { ...key, desc };
}

/** The form's filter through the shared filter language (the name matched as a substring). */
function toQuery(f: ListForm, after: string | null): QueryModelsOptions {
  const p = filterParams({ ...f, metadata: f.metadata.flatMap(splitMetadataList) });
  if (after) p.set("after", after);
  if (f.name) p.set("partial", "yes");
  return parseModelQuery(p);
}

function filterParams(f: ListForm): URLSearchParams {
  const p = new URLSearchParams();
  if (f.project) p.set("project", f.project);
  if (f.name) p.set("name", f.name);
  if (f.tags) p.set("tags", f.tags);
  if (f.published) p.set("published", f.published);
  if (f.archived) p.set("archived", f.archived);
  for (const m of f.metadata) p.append("metadata", m);
  return p;
}

/** Every parameter of the table's state (filter, columns, sort, page size). */
function stateParams(f: ListForm, over: Partial<ListForm> = {}): URLSearchParams {
  const s = { ...f, ...over };
  const p = filterParams(s);
  for (const c of s.cols) p.append("col", c);
  if (s.sort) p.set("sort", s.sort);
  if (s.dir) p.set("dir", s.dir);
  if (s.limit) p.set("limit", s.limit);
  return p;
}

const link = (p: URLSearchParams) => `/?${p.toString()}`;

function filterForm(f: ListForm, projects: string[]): string {
  const input = (name: keyof ListForm, label: string, placeholder: string, extra = "") =>
    `<label>${h(label)}<input name="${name}" value="${
      h(name === "metadata" ? f.metadata.join(", ") : f[name])
    }" placeholder="${h(placeholder)}"${extra}></label>`;
  const select = (name: "published" | "archived", label: string, opts: [string, string][]) =>
    `<label>${h(label)}<select name="${name}">${
      opts.map(([v, t]) =>
        `<option value="${h(v)}"${(isTrue(f[name]) ? opts[1]![0] : "") === v ? " selected" : ""}>${
          h(t)
        }</option>`
      ).join("")
    }</select></label>`;
  const hidden = [
    ...f.cols.map((c) => ["col", c]),
    ...(f.sort ? [["sort", f.sort]] : []),
    ...(f.dir ? [["dir", f.dir]] : []),
    ...(f.limit ? [["limit", f.limit]] : []),
  ].map(([k, v]) => `<input type="hidden" name="${k}" value="${h(v)}">`).join("");
  return `<form class="filters" method="get" action="/" id="filters">
${input("project", "Project", "any project", ' list="projects" autocomplete="off"')}
<datalist id="projects">${
    projects.map((p) => `<option value="${h(p)}"></option>`).join("")
  }</datalist>
${input("name", "Name contains", "part of a name")}
${input("tags", "Tags", "a, -b")}
${select("published", "Published", [["", "any"], ["yes", "published only"]])}
${select("archived", "Archived", [["", "hidden"], ["include", "included"]])}
${input("metadata", "Metadata", "key=value, k2=v2")}
${hidden}
<button type="submit">Filter</button>
<a class="button plain" href="/">Clear</a>
</form>`;
}

/** The column picker: the metric and metadata keys of the models on this page. */
function columnForm(f: ListForm, stats: SeriesStats[], views: ModelView[]): string {
  const metricKeys = [...new Set(stats.map((s) => s.key))].sort().slice(0, 60);
  const metaKeys = [...new Set(views.flatMap((v) => Object.keys(v.metadata)))].sort().slice(0, 60);
  const opts = [
    ...metricKeys.flatMap((k) => ["last", "min", "max"].map((s) => [`${s}:${k}`, `${k} (${s})`])),
    ...metaKeys.map((k) => [`meta:${k}`, `metadata ${k}`]),
  ].filter(([v]) => !f.cols.includes(v!));
  if (opts.length === 0) return "";
  const keep = stateParams(f, { cols: [] });
  keep.delete("page");
  return `<form class="filters columns" method="get" action="/" id="add-column">${
    [...keep, ...f.cols.map((c) => ["col", c])].map(([k, v]) =>
      `<input type="hidden" name="${h(k)}" value="${h(v)}">`
    ).join("")
  }<label>Add a column<select name="col">${
    opts.map(([v, t]) => `<option value="${h(v)}">${h(t)}</option>`).join("")
  }</select></label><button type="submit" class="plain">Add</button></form>`;
}

/** The first step shown on an empty store. */
function emptyStore(store: Store): string {
  return `<div class="card" id="empty-store"><h2>No models yet</h2>
<p>This store, <code>${h(store.home)}</code>, holds no models.</p>
<p>First step: create one from a script, for example</p>
<pre>import { OutputModel, Task } from "modelog";
const task = await Task.init({ projectName: "demo", taskName: "train" });
const model = new OutputModel({ task, name: "my-model" });
await model.reportScalar("loss", "train", 0.5, 1);
await task.close();</pre>
<p class="muted">then reload this page (open the same store with <code>--home</code>).</p></div>`;
}

/** The models table; `scope` limits it to a project-limited token's projects. */
export async function modelsPage(
  url: URL,
  store: Store,
  scope?: ReadonlySet<string>,
): Promise<Response> {
  const form = readForm(url.searchParams);
  let error = "";
  let views: ModelView[] = [];
  let total = 0;
  let capped = false;
  let size = DEFAULT_PAGE_SIZE;
  let pageNo = 1;
  let columns: Column[] = [];
  let order: ModelOrder = { by: "lastUpdate", desc: true };
  let stats: SeriesStats[] = [];
  const projects = (await projectNames(store)).filter((p) => !scope || scope.has(p));
  try {
    size = intParam("limit", form.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    pageNo = intParam("page", url.searchParams.get("page") ?? "", 1, Number.MAX_SAFE_INTEGER);
    if (form.cols.length > MAX_COLUMNS) {
      throw new InvalidArgumentError("col", form.cols.length, `at most ${MAX_COLUMNS} columns`);
    }
    columns = form.cols.map(parseColumn);
    order = parseOrder(form);
    const q = toQuery(form, url.searchParams.get("after"));
    const found = await modelTablePage(store, q, {
      order,
      offset: (pageNo - 1) * size,
      limit: size,
      ...(scope ? { projects: [...scope] } : {}),
    });
    views = found.views;
    total = found.total;
    capped = found.capped;
    stats = await seriesStatsOf(store, views.map((v) => v.row.id));
  } catch (e) {
    if (!(e instanceof ModelogError)) throw e;
    error = e.message;
  }
  const statOf = new Map(stats.map((s) => [`${s.modelId}\u0000${s.key}`, s]));
  const cell = (v: ModelView, c: Column): string => {
    if (c.key.by === "metadata") {
      const e = v.metadata[c.key.key];
      return e ? `<code>${h(e.value)}</code>` : textOrNone(undefined);
    }
    const s = statOf.get(`${v.row.id}\u0000${c.key.title}/${c.key.series}`);
    return num(s ? s[c.key.stat] : null);
  };
  const tagHref = (t: string) => link(stateParams(form, { tags: t }));
  const rows = views.map((v) => [
    `<input type="checkbox" name="ids" value="${h(v.row.id)}" form="compare-form" ` +
    `aria-label="compare ${h(v.row.name || v.row.id)}">`,
    `<a href="/models/${encodeURIComponent(v.row.id)}" class="model-link">${
      h(v.row.name || "(unnamed)")
    }</a><div class="id">${h(v.row.id)}</div>`,
    textOrNone(v.row.project),
    textOrNone(v.row.framework),
    tagLinks(v.tags, tagHref),
    v.row.published ? `<span class="yes">yes</span>` : `<span class="muted">no</span>`,
    v.row.archived ? "yes" : `<span class="muted">no</span>`,
    v.row.iteration === null ? textOrNone(undefined) : num(v.row.iteration),
    ...columns.map((c) => cell(v, c)),
    when(new Date(hlcWall(v.row.last_update))),
  ]);

  // Sortable headings: a click sorts by the column, a second click flips the direction.
  const current = form.sort || "lastUpdate";
  const sortHead = (label: string, spec: string) => {
    const active = spec === current;
    const dir = active ? (order.desc ? "asc" : "desc") : "";
    const arrow = active ? (order.desc ? " ▼" : " ▲") : "";
    const p = stateParams(form, { sort: spec, dir });
    return `<a class="sort${active ? " active" : ""}" data-sort="${h(spec)}" href="${h(link(p))}">${
      h(label)
    }${arrow}</a>`;
  };
  const colHead = (c: Column) => {
    const rm = stateParams(form, { cols: form.cols.filter((x) => x !== c.spec) });
    if (form.sort === c.spec) rm.delete("sort"), rm.delete("dir");
    return `${sortHead(c.label, c.spec)} <a class="rm-col" title="remove column" href="${
      h(link(rm))
    }">×</a>`;
  };
  const head = [
    "",
    sortHead("Name", "name"),
    "Project",
    "Framework",
    "Tags",
    "Published",
    "Archived",
    sortHead("Iteration", "iteration"),
    ...columns.map(colHead),
    `${sortHead("Last update", "lastUpdate")} · ${sortHead("created", "created")}`,
  ];
  const numCls: Record<number, string> = { 7: "num", [8 + columns.length]: "when" };
  columns.forEach((c, i) => {
    if (c.key.by === "metric") numCls[8 + i] = "num";
  });
  const filtered = [...filterParams(form).keys()].length > 0;
  const table = !error && total === 0 && !filtered && !scope
    ? emptyStore(store)
    : listTable(head, rows, {
      cls: numCls,
      empty: "No models match.",
      id: "models",
      htmlHead: true,
    });

  const pages = Math.max(1, Math.ceil(total / size));
  const at = (n: number) => {
    const p = stateParams(form);
    if (n > 1) p.set("page", String(n));
    return h(link(p));
  };
  let pager = "";
  if (pageNo > 1) {
    pager += `<a class="button plain" id="prev-page" href="${at(pageNo - 1)}">Previous</a>`;
  }
  if (pageNo < pages || (capped && views.length === size)) {
    pager += `<a class="button plain" id="next-page" href="${at(pageNo + 1)}">Next</a>`;
  }
  if (pages > 1) {
    pager += `<span class="muted">page ${pageNo} of ${capped ? "more than " : ""}${pages}</span>`;
  }
  pager += `<form id="compare-form" method="get" action="/compare"><button type="submit" ` +
    `id="compare-button">Compare ticked</button></form>`;
  const first = total === 0 ? 0 : (pageNo - 1) * size + 1;
  const last = first + views.length - 1;
  const sortText = current === "lastUpdate" && order.desc
    ? "newest update first"
    : `sorted by ${columns.find((c) => c.spec === current)?.label ?? current} ${
      order.desc ? "descending" : "ascending"
    }`;
  const summary = total === 0
    ? `0 models${filtered ? " match the filter" : ""}`
    : `${capped ? "More than " : ""}${total.toLocaleString("en-US")} model${
      total === 1 ? "" : "s"
    }${filtered ? " matching the filter" : ""}, ${first.toLocaleString("en-US")}–${
      last.toLocaleString("en-US")
    } shown, ${sortText}`;
  const body = `<section><div class="card">${filterForm(form, projects)}${
    error ? "" : columnForm(form, stats, views)
  }</div>
${error ? `<div class="error" id="error">${h(error)}</div>` : ""}
<div class="card"><p class="muted" id="summary" style="margin-top:0">${h(summary)}</p>${table}
<div class="pager">${pager}</div></div></section>`;
  return htmlResponse(
    page({
      title: "Models",
      crumbs: [],
      header: `<header class="page"><h1>Models</h1></header>`,
      body,
    }),
    error ? 400 : 200,
  );
}
