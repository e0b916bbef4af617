/**
 * The web UI's model page (`/models/<id>`): fields, tags, metadata, labels, config, weights
 * (with a download link when the blob is in the store), lineage, history, single values, one
 * chart per scalar title (series down-sampled) and every reported plot.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { Model } from "../models/model.ts";
import { SINGLE_VALUE_ITERATION } from "../models/base.ts";
import { decodeData, type EventPayloads, type EventType } from "../events.ts";
import { hlcWall } from "../clock.ts";
import { downsample, scalarsFigure } from "../reports/figures.ts";
import { toPlotly3 } from "../reports/html.ts";
import {
  bytes,
  cardGrid,
  chartClass,
  chartControls,
  chips,
  figureCard,
  figureScripts,
  h,
  kvTable,
  listTable,
  modelBadges,
  none,
  num,
  page,
  type PageFigure,
  pageHeader,
  section,
  textOrNone,
  when,
} from "../reports/layout.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import { htmlResponse } from "./ui_response.ts";
import {
  type AuditRow,
  lineageOf,
  modelAuditTrail,
  modelName,
  type ScalarChunkSpan,
  scalarChunkSpans,
  taskModelLinks,
  taskSummary,
} from "../projections/read.ts";
import { findModel } from "./ui_ids.ts";
import { actionsCard, type WriteAccess } from "./ui_actions.ts";

/** Most points drawn per scalar series; longer series are down-sampled (min/max per bucket). */
export const MAX_POINTS_PER_SERIES = 2000;
/** History entries shown on a model page. */
export const HISTORY_LIMIT = 200;
/** Where the UI serves plotly.js. */
export const PLOTLY_PATH = "/static/plotly.min.js";

/** The scripts of a UI page drawing `figures` (plotly from {@link PLOTLY_PATH}); none needed without. */
export function uiFigureScripts(figures: PageFigure[]): string {
  return figures.length
    ? figureScripts(
      figures,
      `<script src="${PLOTLY_PATH}"></script>`,
      "{ displaylogo: false, responsive: true }",
      "modelog",
    )
    : `<script>window.modelogReady = true;</script>`;
}

function short(s: string, n = 240): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** An event's type and payload, `type` narrowing `data`. */
type Change = { [K in EventType]: { type: K; data: EventPayloads[K] } }[EventType];

/** What a history event changed, as short escaped HTML. */
function changesHtml(e: Change): string {
  const json = (v: unknown) => h(short(JSON.stringify(v) ?? ""));
  const fields = (o: object) =>
    Object.entries(o).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) =>
      `${h(k)} = ${json(v)}`
    ).join(", ") || none("—");
  switch (e.type) {
    case "model.tags_changed": {
      const add = e.data.add ?? [];
      const rm = e.data.remove ?? [];
      return [...add.map((t) => `+${h(t)}`), ...rm.map((t) => `−${h(t)}`)].join(" ") ||
        none("no change");
    }
    case "model.metadata_changed": {
      const set = e.data.set ?? {};
      const rm = e.data.remove ?? [];
      return [
        ...Object.entries(set).map(([k, e]) =>
          `<code>${h(k)}</code> = <code>${h(short(String(e?.value), 80))}</code>`
        ),
        ...rm.map((k) => `removed <code>${h(k)}</code>`),
      ].join(", ") || none("no change");
    }
    case "model.updated":
      return Object.entries(e.data.fields ?? {}).map(([k, v]) => `${h(k)} = ${json(v)}`)
        .join(", ");
    case "model.weights_updated":
    case "model.created":
    case "model.removed":
      return fields(e.data);
    default:
      return Object.keys(e.data).length ? json(e.data) : none("—");
  }
}

function modelLink(id: string, name?: string | null): string {
  return `<a href="/models/${encodeURIComponent(id)}">${h(name || id)}</a>${
    name ? ` <span class="id">${h(id)}</span>` : ""
  }`;
}

async function lineage(store: Store, m: Model): Promise<string> {
  const taskRow = async (id: string) => id ? await taskSummary(store, id) : undefined;
  const taskHtml = async (id: string) => {
    if (!id) return none();
    const t = await taskRow(id);
    return t
      ? `${h(t.name)} <span class="muted">(${h(t.project)}${
        t.taskType ? `, ${h(t.taskType)}` : ""
      })</span> <span class="id">${h(t.id)}</span>`
      : `<code>${h(id)}</code> <span class="muted">(not in this store)</span>`;
  };
  let parent = none();
  if (m.parent) {
    const p = await modelName(store, m.parent);
    parent = p
      ? modelLink(p.id, p.name)
      : `<code>${h(m.parent)}</code> <span class="muted">(not in this store)</span>`;
  }
  const users = await lineageOf(store, m.id);
  const rows: [string, string][] = [
    ["Created by task", await taskHtml(m.task)],
  ];
  const inputs = m.task
    ? (await taskModelLinks(store, m.task)).filter((l) => l.role === "input")
    : [];
  if (inputs.length) {
    const items = await Promise.all(inputs.map(async (l) => {
      const im = await modelName(store, l.modelId);
      return `<div>${im ? modelLink(im.id, im.name) : `<code>${h(l.modelId)}</code>`} as <code>${
        h(l.name)
      }</code></div>`;
    }));
    rows.push(["Task's input models", `<div id="input-models">${items.join("")}</div>`]);
  }
  if (m.originalTask && m.originalTask !== m.task) {
    rows.push(["Original task", await taskHtml(m.originalTask)]);
  }
  rows.push(["Parent model", parent]);
  rows.push([
    "Input of tasks",
    users.length
      ? users.map((u) =>
        `<div>${u.taskName ? h(u.taskName) : `<code>${h(u.taskId)}</code>`}${
          u.taskProject ? ` <span class="muted">(${h(u.taskProject)})</span>` : ""
        } as <code>${h(u.slot)}</code> <span class="id">${h(u.taskId)}</span></div>`
      ).join("")
      : none(),
  ]);
  return kvTable(rows);
}

/**
 * Epoch ms of each iteration of a series, from the times its batches were written: a point
 * takes its batch's time, spread evenly over the batch's iterations from the previous batch's
 * time (points are stamped when their batch is flushed, not one by one).
 */
export function wallTimes(x: number[], spans: ScalarChunkSpan[]): number[] {
  const s = [...spans].sort((a, b) => a.minIter - b.minIter || a.at.localeCompare(b.at));
  const walls = s.map((c) => hlcWall(c.at));
  const out = new Array<number>(x.length);
  let j = 0;
  for (let i = 0; i < x.length; i++) {
    const it = x[i]!;
    while (j < s.length - 1 && s[j]!.maxIter < it) j++;
    const c = s[j];
    if (!c) {
      out[i] = NaN;
      continue;
    }
    const end = walls[j]!;
    const start = j > 0 ? Math.min(walls[j - 1]!, end) : end;
    const span = c.maxIter - c.minIter + 1;
    const f = span > 0 ? Math.min(1, Math.max(0, (it - c.minIter + 1) / span)) : 1;
    out[i] = Math.round(start + (end - start) * f);
  }
  return out;
}

/** History rows folded: a run of one event type in a row becomes one entry with a count. */
export interface FoldedRun {
  /** The event type. */
  type: string;
  /** The run's rows, newest first. */
  rows: AuditRow[];
}

/** Folds consecutive rows of the same type into runs. */
export function foldRuns(rows: AuditRow[]): FoldedRun[] {
  const out: FoldedRun[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && last.type === r.type) last.rows.push(r);
    else out.push({ type: r.type, rows: [r] });
  }
  return out;
}

/** Options of {@link modelPage}. */
export interface ModelPageOptions {
  /** Set when the viewer may edit: the write actions are shown. */
  write?: WriteAccess;
  /** A message to show on top (after a write action). */
  notice?: string;
  /** A project-limited viewer's projects: another project's model looks missing. */
  projects?: ReadonlySet<string>;
}

export async function modelPage(
  id: string,
  store: Store,
  opts: ModelPageOptions = {},
): Promise<Response> {
  const found = await findModel(store, id, opts.projects);
  if ("response" in found) return found.response;
  const m = found.model;
  const figures: PageFigure[] = [];

  // Fields
  const fields: [string, string][] = [
    ["ID", `<code>${h(m.id)}</code>`],
    ["Name", textOrNone(m.name)],
    ["Project", textOrNone(m.project)],
    ["Framework", textOrNone(m.framework)],
    ["Comment", m.comment ? `<pre>${h(m.comment)}</pre>` : none()],
    ["Tags", m.tags.length ? chips(m.tags) : none()],
    [
      "System tags",
      m.systemTags.length ? chips(m.systemTags, "chip sys") : none(),
    ],
    ["Published", m.published ? `<span class="yes">yes</span>` : "no"],
    ["Archived", m.archived ? "yes" : "no"],
    ["Created", when(m.createdAt)],
    ["Last update", when(m.lastUpdate)],
    ["Iteration", m.iteration === undefined ? none() : num(m.iteration)],
  ];

  // Weights
  // A synced event may carry any hash text: only a real digest can name a stored blob.
  const hasBlob = isSha256Hex(m.hash) ? await store.blobs.has(m.hash) : false;
  const fileName = (m.url.split(/[/\\]/).pop() || m.hash || "weights").replace(/[?#].*$/, "");
  const weights: [string, string][] = [
    ["URL", m.url ? `<code>${h(m.url)}</code>` : none()],
    ["Size", m.size ? h(bytes(m.size)) : none("unknown")],
    ["SHA-256", m.hash ? `<code>${h(m.hash)}</code>` : none("unknown")],
    [
      "Download",
      hasBlob
        ? `<a id="download" href="/v1/blobs/sha256/${h(m.hash)}" download="${h(fileName)}">${
          h(fileName)
        }</a>`
        : `<span class="none">${
          m.hash ? "the blob is not in this store" : "no stored blob"
        }</span>`,
    ],
  ];

  // Metadata and labels
  const metaRows = Object.values(m.getAllMetadata())
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((e) => [`<code>${h(e.key)}</code>`, `<code>${h(e.value)}</code>`, h(e.type)]);
  const labelRows = Object.entries(m.labels)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => [h(k), num(v)]);

  // Reports: single values, scalar summary, scalars (down-sampled), plots
  const singles = await m.getReportedSingleValues();
  const summary = (await m.getScalarSummary())
    .filter((s) => s.maxIteration !== SINGLE_VALUE_ITERATION);
  const scalars = await m.getReportedScalars();
  const spans = new Map<string, ScalarChunkSpan[]>();
  for (const c of await scalarChunkSpans(store, m.id)) {
    const k = `${c.title}\u0000${c.series}`;
    const list = spans.get(k);
    if (list) list.push(c);
    else spans.set(k, [c]);
  }
  const scalarCards: string[] = [];
  for (const [title, bySeries] of Object.entries(scalars)) {
    let from = 0;
    const series = Object.entries(bySeries).map(([name, p]) => {
      if (p.x.length <= MAX_POINTS_PER_SERIES) return { name, x: p.x, y: p.y };
      from = Math.max(from, p.x.length);
      const d = downsample(p.x, p.y, MAX_POINTS_PER_SERIES);
      return { name, x: d.x, y: d.y };
    });
    const times = series.map((ser) => {
      const sp = spans.get(`${title}\u0000${ser.name}`);
      return sp?.length ? wallTimes(ser.x, sp) : null;
    });
    const fig = scalarsFigure(title, series);
    const text = from
      ? `${title} (downsampled: ≤ ${MAX_POINTS_PER_SERIES.toLocaleString("en-US")} of ${
        from.toLocaleString("en-US")
      } points)`
      : title;
    fig.layout.title = { text, font: { size: 14 }, x: 0.02, xanchor: "left" };
    fig.layout.margin = { l: 60, r: 20, t: 50, b: 50 };
    fig.layout.autosize = true;
    const fid = `scalar-${figures.length}`;
    figures.push({ id: fid, data: fig.data, layout: fig.layout, scalar: { times } });
    scalarCards.push(figureCard({
      id: fid,
      heading: title,
      meta: `${series.length} series${from ? " · downsampled" : ""}`,
      cls: "scalar-card",
      controls: chartControls(fid, times.some((t) => t !== null)),
    }));
  }
  const plots = await m.getReportedPlots();
  const plotCards = plots.map((p) => {
    const fid = `plot-${figures.length}`;
    const fig = toPlotly3(p.figure);
    fig.layout.autosize = true;
    delete fig.layout.width;
    figures.push({ id: fid, data: fig.data, layout: fig.layout });
    return figureCard({
      id: fid,
      heading: p.series ? `${p.title} / ${p.series}` : p.title,
      meta: `${h(p.kind)} · iteration ${num(p.iteration)}`,
      cls: "plot-card",
      chartCls: chartClass(p.kind),
    });
  });

  const hist = await modelAuditTrail(store, m.id, HISTORY_LIMIT);
  const decoded = (r: AuditRow): Change => {
    let data: unknown;
    try {
      data = decodeData(r.data);
    } catch {
      data = r.data;
    }
    // The log's JSON text has the shape its type names (checked when it was appended).
    return { type: r.type, data: data ?? {} } as Change;
  };
  const stored = new Map<string, boolean>();
  const snapshotLink = async (c: Change): Promise<string> => {
    if (c.type !== "model.weights_updated") return "";
    const hash = (c.data as { hash?: unknown }).hash;
    if (typeof hash !== "string" || !isSha256Hex(hash)) return "";
    if (!stored.has(hash)) stored.set(hash, await store.blobs.has(hash));
    return stored.get(hash)
      ? ` <a class="snapshot" href="/v1/blobs/sha256/${h(hash)}" download>download</a>`
      : ` <span class="muted">(blob not in this store)</span>`;
  };
  const histRow = async (r: AuditRow) => {
    const c = decoded(r);
    return [
      when(new Date(hlcWall(r.at))),
      h(r.actor),
      `<code>${h(r.type.replace(/^model\./, ""))}</code>`,
      changesHtml(c) + await snapshotLink(c),
    ];
  };
  const histRows: string[][] = [];
  for (const run of foldRuns(hist.rows)) {
    if (run.rows.length < 3) {
      for (const r of run.rows) histRows.push(await histRow(r));
      continue;
    }
    // A run of one type: the newest entry, then the rest folded under a count.
    const [newest, ...rest] = run.rows;
    const top = await histRow(newest!);
    const inner = await Promise.all(rest.map(histRow));
    const oldest = rest[rest.length - 1]!;
    top[2] += ` <span class="fold-count">×${run.rows.length}</span>`;
    top[3] += `<details class="fold"><summary>${rest.length} earlier ${
      h(run.type.replace(/^model\./, ""))
    } since ${when(new Date(hlcWall(oldest.at)))}</summary>${
      listTable(["when", "who", "changes"], inner.map((x) => [x[0]!, x[1]!, x[3]!]), {
        cls: { 0: "when" },
      })
    }</details>`;
    histRows.push(top);
  }
  const reportsNote = hist.scalarEvents || hist.plotEvents
    ? `<p class="muted">Not listed: ${hist.scalarEvents} scalar report batch${
      hist.scalarEvents === 1 ? "" : "es"
    } and ${hist.plotEvents} plot report${hist.plotEvents === 1 ? "" : "s"}.</p>`
    : "";
  const histNote = hist.rows.length === HISTORY_LIMIT
    ? `<p class="muted">The newest ${HISTORY_LIMIT} changes.</p>`
    : "";

  const summaryRows = summary.map((s) => [
    h(s.title),
    h(s.series),
    num(s.last),
    num(s.min),
    num(s.max),
    num(s.count),
    num(s.lastIteration),
  ]);
  const singleRows = Object.entries(singles).sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => [h(k), num(v)]);

  const sub = [m.project, m.framework].filter((x) => x).map((x) => h(x)).join(" · ");
  const body = `${opts.notice ? `<div class="card notice" id="notice">${h(opts.notice)}</div>` : ""}
${actionsCard(m, opts.write)}
<section id="fields"><h2>Model</h2><div class="two">
<div class="card">${kvTable(fields)}</div>
<div><div class="card"><h2>Weights</h2>${kvTable(weights)}</div>
<div class="card" id="lineage"><h2>Lineage</h2>${await lineage(store, m)}</div></div>
</div></section>
<section id="metadata"><div class="two">
<div class="card"><h2>Metadata</h2>${listTable(["key", "value", "type"], metaRows)}</div>
<div class="card"><h2>Labels</h2>${
    listTable(["label", "id"], labelRows, { cls: { 1: "num" } })
  }</div>
</div></section>
${m.configText ? section("Configuration", `<pre>${h(m.configText)}</pre>`, { id: "config" }) : ""}
${
    section("Single values", listTable(["name", "value"], singleRows, { cls: { 1: "num" } }), {
      id: "single-values",
    })
  }
<section id="scalars"><h2>Scalars</h2>${
    summaryRows.length
      ? `<div class="card">${
        listTable(
          ["title", "series", "last", "min", "max", "points", "last iteration"],
          summaryRows,
          {
            cls: { 2: "num", 3: "num", 4: "num", 5: "num", 6: "num" },
          },
        )
      }</div>`
      : ""
  }${cardGrid(scalarCards)}</section>
${section("Plots", cardGrid(plotCards), { id: "plots", card: false })}
${
    section(
      "History",
      listTable(["when", "who", "what", "changes"], histRows, { cls: { 0: "when" } }) +
        histNote + reportsNote,
      { id: "history" },
    )
  }`;
  const scripts = uiFigureScripts(figures);
  return htmlResponse(page({
    title: m.name || m.id,
    crumbs: [{
      text: m.project || "(no project)",
      href: `/?project=${encodeURIComponent(m.project)}`,
    }, {
      text: m.name || m.id,
    }],
    header: pageHeader(
      m.name || "(unnamed)",
      modelBadges(m),
      `${sub}${sub ? " · " : ""}<code>${h(m.id)}</code>`,
    ),
    body,
    scripts,
  }));
}
