/**
 * The web UI's comparison page (`/compare?ids=A,B[,...]`, or `ids` repeated as the models
 * table's ticks send it): fields, tags, metadata, labels, single values and last scalar values
 * side by side from `compareModels`, rows where the models differ marked; then one chart per
 * scalar title with every model's series overlaid (one trace per model and series), with the
 * same log-scale and smoothing controls as the model page.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { Model } from "../models/model.ts";
import { type ComparedRow, compareModels, MAX_COMPARED } from "../models/compare.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { downsample, scalarsFigure } from "../reports/figures.ts";
import {
  cardGrid,
  chartControls,
  figureCard,
  h,
  listTable,
  none,
  num,
  page,
  type PageFigure,
  section,
} from "../reports/layout.ts";
import { htmlResponse } from "./ui_response.ts";
import { findModel } from "./ui_ids.ts";
import { MAX_POINTS_PER_SERIES, uiFigureScripts } from "./ui_model.ts";

/** Line colours, one per compared model (plotly's default cycle). */
const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
const DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];

/** The ids a comparison URL names: `ids=A,B` and/or `ids=A&ids=B`, in order, once each. */
export function comparedIds(p: URLSearchParams): string[] {
  const ids = p.getAll("ids").flatMap((s) => s.split(",")).map((s) => s.trim())
    .filter((s) => s.length > 0);
  return [...new Set(ids)];
}

function cellHtml(v: unknown): string {
  if (v === null || v === undefined) return none("—");
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") return num(v);
  const s = String(v);
  return s.length > 80 ? `<code title="${h(s)}">${h(s.slice(0, 79))}…</code>` : h(s);
}

function compareTable(
  title: string,
  id: string,
  heads: string[],
  rows: ComparedRow<unknown>[],
  show: (v: unknown) => string = cellHtml,
): string {
  const differing = rows.filter((r) => r.differs).length;
  const table = listTable(
    ["", h(title), ...heads],
    rows.map((r) => [
      r.differs ? `<span title="the models differ">≠</span>` : "",
      `<code>${h(r.key)}</code>`,
      ...r.values.map(show),
    ]),
    {
      cls: { 0: "mark" },
      rowCls: rows.map((r) => (r.differs ? "differs" : undefined)),
      id: `cmp-${id}`,
      empty: "None on any model.",
      htmlHead: true,
    },
  );
  return section(
    `${title}${rows.length ? ` · ${differing} of ${rows.length} differ` : ""}`,
    table,
    { id: `compare-${id}` },
  );
}

/** The comparison page. */
export async function comparePage(
  url: URL,
  store: Store,
  projects?: ReadonlySet<string>,
): Promise<Response> {
  const ids = comparedIds(url.searchParams);
  const fail = (status: number, msg: string) =>
    htmlResponse(
      page({
        title: "Compare",
        crumbs: [{ text: "compare" }],
        body: `<div class="error" id="error">${h(msg)}</div><p><a href="/">All models</a>: ` +
          `tick two or more rows, then "Compare ticked".</p>`,
      }),
      status,
    );
  if (ids.length < 2 || ids.length > MAX_COMPARED) {
    return fail(
      400,
      new InvalidArgumentError("ids", ids.join(","), `must list 2 to ${MAX_COMPARED} models`)
        .message,
    );
  }
  const models: Model[] = [];
  for (const id of ids) {
    const found = await findModel(store, id, projects);
    if ("response" in found) return found.response;
    models.push(found.model);
  }
  let cmp;
  try {
    cmp = await compareModels(models);
  } catch (e) {
    if (!(e instanceof ModelogError)) throw e;
    return fail(400, e.message);
  }
  const names = models.map((m) => m.name || m.id);
  const heads = models.map((m, i) =>
    `<a href="/models/${encodeURIComponent(m.id)}" style="color:${COLORS[i % COLORS.length]}">${
      h(names[i])
    }</a><div class="id">${h(m.id)}</div>`
  );
  const headTable = (
    title: string,
    id: string,
    rows: ComparedRow<unknown>[],
    show?: typeof cellHtml,
  ) => compareTable(title, id, heads, rows, show);

  // Scalars: one chart per title, every model's series overlaid.
  const all = await Promise.all(models.map((m) => m.getReportedScalars()));
  const titles = [...new Set(all.flatMap((s) => Object.keys(s)))].sort();
  const figures: PageFigure[] = [];
  const cards: string[] = [];
  for (const title of titles) {
    const traces: { name: string; x: number[]; y: number[] }[] = [];
    const styles: { color: string; dash: string; group: string }[] = [];
    let downsampled = false;
    all.forEach((byTitle, i) => {
      const series = Object.entries(byTitle[title] ?? {}).sort((a, b) => a[0].localeCompare(b[0]));
      const many = new Set(all.flatMap((s) => Object.keys(s[title] ?? {}))).size > 1;
      series.forEach(([name, p], j) => {
        let { x, y } = p;
        if (x.length > MAX_POINTS_PER_SERIES) {
          ({ x, y } = downsample(x, y, MAX_POINTS_PER_SERIES));
          downsampled = true;
        }
        traces.push({ name: many ? `${names[i]} · ${name}` : names[i]!, x, y });
        styles.push({
          color: COLORS[i % COLORS.length]!,
          dash: DASHES[j % DASHES.length]!,
          group: models[i]!.id,
        });
      });
    });
    const fig = scalarsFigure(title, traces);
    fig.data.forEach((t, k) => {
      Object.assign(t as Record<string, unknown>, {
        line: { color: styles[k]!.color, dash: styles[k]!.dash },
        meta: { model: styles[k]!.group },
      });
    });
    fig.layout.title = { text: title, font: { size: 14 }, x: 0.02, xanchor: "left" };
    fig.layout.margin = { l: 60, r: 20, t: 50, b: 50 };
    fig.layout.autosize = true;
    fig.layout.legend = { orientation: "h", y: -0.2 };
    const fid = `cmp-scalar-${figures.length}`;
    figures.push({ id: fid, data: fig.data, layout: fig.layout, scalar: {} });
    cards.push(figureCard({
      id: fid,
      heading: title,
      meta: `${traces.length} trace${traces.length === 1 ? "" : "s"}${
        downsampled ? " · downsampled" : ""
      }`,
      cls: "scalar-card",
      controls: chartControls(fid, false),
    }));
  }

  const body = `<section id="compared"><div class="card"><p style="margin:0">Comparing ${
    models.map((m, i) =>
      `<a href="/models/${encodeURIComponent(m.id)}" style="color:${COLORS[i % COLORS.length]}">${
        h(names[i])
      }</a>`
    ).join(", ")
  }. Rows marked ≠ differ.</p></div></section>
${headTable("Fields", "fields", cmp.fields)}
${headTable("Tags", "tags", cmp.tags, (v) => (v ? `<span class="yes">✓</span>` : none("—")))}
${headTable("Metadata", "metadata", cmp.metadata)}
${headTable("Labels", "labels", cmp.labels)}
${headTable("Single values", "single-values", cmp.singleValues)}
${headTable("Last scalar values", "scalars", cmp.scalars)}
${section("Scalars", cardGrid(cards), { id: "compare-charts", card: false })}`;
  const scripts = uiFigureScripts(figures);
  return htmlResponse(page({
    title: `Compare ${names.join(" vs ")}`,
    crumbs: [{ text: "compare" }],
    header: `<header class="page"><h1>Compare ${models.length} models</h1></header>`,
    body,
    scripts,
  }));
}
