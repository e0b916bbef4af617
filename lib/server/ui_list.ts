/**
 * The web UI's models table (`/`): newest update first, a filter form (project, name, tags in
 * the ClearML grammar with `-tag`, published, archived, metadata `k=v`) and cursor paging.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { Model, type QueryModelsOptions } from "../models/model.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { isTrue, parseModelQuery, splitMetadataList } from "../query_text.ts";
import { chips, h, listTable, page, textOrNone, when } from "../reports/layout.ts";
import { htmlResponse } from "./ui_response.ts";

/** Rows per page of the models table (default). */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page the table serves. */
export const MAX_PAGE_SIZE = 500;

/** The filter form's fields, as typed (kept to refill the form and build links). */
interface ListForm {
  project: string;
  name: string;
  tags: string;
  published: string;
  archived: string;
  metadata: string[];
  limit: string;
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
  };
}

function pageSize(v: string): number {
  if (!v) return DEFAULT_PAGE_SIZE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError("limit", v, `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return n;
}

/** The form's filter through the shared filter language (the metadata box split into pairs). */
function toQuery(f: ListForm, after: string | null): QueryModelsOptions {
  const p = formParams({ ...f, metadata: f.metadata.flatMap(splitMetadataList), limit: "" });
  if (after) p.set("after", after);
  return parseModelQuery(p);
}

function formParams(f: ListForm): URLSearchParams {
  const p = new URLSearchParams();
  if (f.project) p.set("project", f.project);
  if (f.name) p.set("name", f.name);
  if (f.tags) p.set("tags", f.tags);
  if (f.published) p.set("published", f.published);
  if (f.archived) p.set("archived", f.archived);
  for (const m of f.metadata) p.append("metadata", m);
  if (f.limit) p.set("limit", f.limit);
  return p;
}

function filterForm(f: ListForm): string {
  const input = (name: keyof ListForm, label: string, placeholder: string) =>
    `<label>${h(label)}<input name="${name}" value="${
      h(name === "metadata" ? f.metadata.join(", ") : f[name])
    }" placeholder="${h(placeholder)}"></label>`;
  const select = (name: "published" | "archived", label: string, opts: [string, string][]) =>
    `<label>${h(label)}<select name="${name}">${
      opts.map(([v, t]) =>
        `<option value="${h(v)}"${(isTrue(f[name]) ? opts[1]![0] : "") === v ? " selected" : ""}>${
          h(t)
        }</option>`
      ).join("")
    }</select></label>`;
  return `<form class="filters" method="get" action="/" id="filters">
${input("project", "Project", "exact project")}
${input("name", "Name", "exact name")}
${input("tags", "Tags", "a, -b")}
${select("published", "Published", [["", "any"], ["yes", "published only"]])}
${select("archived", "Archived", [["", "hidden"], ["include", "included"]])}
${input("metadata", "Metadata", "key=value, k2=v2")}
${f.limit ? `<input type="hidden" name="limit" value="${h(f.limit)}">` : ""}
<button type="submit">Filter</button>
<a class="button plain" href="/">Clear</a>
</form>`;
}

/**
 * Up to `want` models of a query that a project-limited caller may see (all when `projects`
 * is undefined), skipping other projects' pages.
 */
async function visibleModels(
  q: QueryModelsOptions,
  want: number,
  store: Store,
  projects: ReadonlySet<string> | undefined,
): Promise<Model[]> {
  if (!projects) return await Model.queryModels({ ...q, maxResults: want, store });
  if (q.projectName !== undefined && !projects.has(q.projectName)) return [];
  if (projects.size === 1 && q.projectName === undefined) {
    q = { ...q, projectName: [...projects][0]! };
  }
  const out: Model[] = [];
  let after = q.after;
  for (;;) {
    const found = await Model.queryModels({
      ...q,
      ...(after ? { after } : {}),
      maxResults: want,
      store,
    });
    for (const m of found) if (projects.has(m.project) && out.length < want) out.push(m);
    if (found.length < want || out.length >= want) return out;
    after = found[found.length - 1]!.cursor;
  }
}

/** The models table; `projects` limits it to a project-limited token's projects. */
export async function modelsPage(
  url: URL,
  store: Store,
  projects?: ReadonlySet<string>,
): Promise<Response> {
  const form = readForm(url.searchParams);
  const after = url.searchParams.get("after");
  let error = "";
  let models: Model[] = [];
  let more = false;
  try {
    const size = pageSize(form.limit);
    const q = toQuery(form, after);
    const found = await visibleModels(q, size + 1, store, projects);
    more = found.length > size;
    models = found.slice(0, size);
  } catch (e) {
    if (!(e instanceof ModelogError)) throw e;
    error = e.message;
  }
  const rows = models.map((m) => [
    `<a href="/models/${encodeURIComponent(m.id)}" class="model-link">${
      h(m.name || "(unnamed)")
    }</a><div class="id">${h(m.id)}</div>`,
    textOrNone(m.project),
    textOrNone(m.framework),
    chips(m.tags),
    m.published ? `<span class="yes">yes</span>` : `<span class="muted">no</span>`,
    m.archived ? "yes" : `<span class="muted">no</span>`,
    when(m.lastUpdate),
  ]);
  const table = listTable(
    ["Name", "Project", "Framework", "Tags", "Published", "Archived", "Last update"],
    rows,
    { cls: { 6: "when" }, empty: "No models match.", id: "models" },
  );
  const base = formParams(form);
  let pager = "";
  if (after) pager += `<a class="button plain" href="/?${h(base.toString())}">First page</a>`;
  const last = models[models.length - 1];
  if (more && last) {
    const next = new URLSearchParams(base);
    next.set("after", `${last.cursor.lastUpdate},${last.cursor.id}`);
    pager += `<a class="button plain" id="next-page" href="/?${h(next.toString())}">Next page</a>`;
  }
  const filtered = [...base.keys()].some((k) => k !== "limit");
  const summary = `${models.length} model${models.length === 1 ? "" : "s"}${
    after ? " on this page" : more ? " on the first page" : ""
  }${filtered ? " matching the filter" : ""}, newest update first`;
  const body = `<section><div class="card">${filterForm(form)}</div>
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
