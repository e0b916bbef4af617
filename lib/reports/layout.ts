/**
 * The one rendering module of modelog's HTML: the page shell and its stylesheet, escaping, the
 * table, chip and figure-card helpers, safe JSON for inline `<script>` elements, and the page
 * script that draws figures with plotly.js. The HTML report (`reports/html.ts`) and the web UI
 * (`server/ui.ts`) both build their pages from these parts; neither carries markup or CSS of
 * its own beyond its content.
 *
 * @module
 */
import { encodeData } from "../events.ts";

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

/** Escapes any value as text (`undefined` and `null` become the empty string). */
export function h(v: unknown): string {
  if (v === undefined || v === null) return "";
  return escapeHtml(String(v));
}

const CSS = `
:root { color-scheme: light; --fg: #1f2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9;
  --card: #fff; --accent: #3b5bdb; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
nav.top { background: #1f2430; color: #fff; padding: 10px 32px; display: flex; gap: 18px;
  align-items: center; }
nav.top a { color: #fff; font-weight: 600; }
nav.top .crumb { color: #c9cdd6; }
header.page { background: var(--card); border-bottom: 1px solid var(--line); padding: 18px 32px; }
header.page h1 { margin: 0 0 4px; font-size: 22px; word-break: break-word; }
header.page .sub { color: var(--muted); }
main { max-width: 1280px; margin: 0 auto; padding: 20px 32px 48px; }
section { margin-bottom: 28px; }
h2 { font-size: 15px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  margin: 0 0 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px;
  margin-bottom: 14px; overflow-x: auto; }
table.kv, table.list { border-collapse: collapse; width: 100%; }
table.kv th, table.list th { text-align: left; font-weight: 600; color: var(--muted);
  white-space: nowrap; }
table.kv th { width: 170px; }
table.kv th, table.kv td, table.list th, table.list td { padding: 6px 10px;
  border-bottom: 1px solid var(--line); vertical-align: top; }
table.list tbody tr:hover { background: #f8f9ff; }
td.num { font-variant-numeric: tabular-nums; text-align: right; }
td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
tr:last-child > td, tr:last-child > th { border-bottom: none; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.id { color: var(--muted); font-size: 12px; }
.chip { display: inline-block; padding: 1px 8px; margin: 1px 2px 1px 0; border-radius: 10px;
  background: #edf0ff; color: var(--accent); font-size: 12px; }
.chip.sys { background: #f1f1f1; color: #555; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px;
  margin-left: 8px; vertical-align: middle; background: #e6f4ea; color: #1e7b34; }
.badge.archived { background: #f1f1f1; color: #555; }
.yes { color: #1e7b34; font-weight: 600; }
.none, .muted { color: var(--muted); }
.none { font-style: italic; }
.note { color: var(--muted); font-size: 12px; margin-top: 4px; }
.error { background: #fef3f2; border: 1px solid #fecdca; color: var(--bad); border-radius: 8px;
  padding: 10px 14px; margin-bottom: 14px; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: flex-end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted);
  gap: 3px; }
form.filters input, form.filters select { font: inherit; padding: 5px 8px; border: 1px solid #cfd4dc;
  border-radius: 6px; background: #fff; min-width: 120px; }
form.filters input[name=tags], form.filters input[name=metadata] { min-width: 200px; }
button, .button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; display: inline-block; }
.button.plain { background: #fff; color: var(--accent); }
.pager { display: flex; gap: 12px; align-items: center; margin-top: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(540px, 100%), 1fr));
  gap: 14px; }
.grid .card { margin: 0; }
.plot-head { display: flex; justify-content: space-between; gap: 12px; margin-bottom: 6px; }
.plot-head h3 { margin: 0; font-size: 15px; word-break: break-word; }
.plot-head .meta { color: var(--muted); font-size: 12px; white-space: nowrap; }
.chart { width: 100%; height: 400px; }
.chart.tall { height: 540px; }
.empty { color: var(--muted); margin: 0; }
.two { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; }
.chart-controls { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 12px;
  color: var(--muted); margin-bottom: 4px; align-items: center; }
.chart-controls label { display: inline-flex; gap: 4px; align-items: center; }
.chart-controls input[type=range] { width: 110px; }
a.sort { color: inherit; }
a.sort.active { color: var(--fg); }
a.rm-col { color: var(--muted); font-weight: normal; }
a.chip:hover { text-decoration: none; background: #dfe4ff; }
form.columns { margin-top: 10px; }
#compare-form { margin-left: auto; }
tr.differs > td { background: #fff8e6; }
td.mark { color: #b54708; font-weight: 600; width: 1.5em; }
details.fold summary { cursor: pointer; color: var(--accent); }
form.inline { display: inline-flex; gap: 6px; flex-wrap: wrap; align-items: center; margin: 0; }
form.inline input { font: inherit; padding: 3px 6px; border: 1px solid #cfd4dc; border-radius: 6px; }
button.small { padding: 2px 10px; font-size: 12px; }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
@media (max-width: 900px) { .two { grid-template-columns: minmax(0, 1fr); }
  .grid { grid-template-columns: minmax(0, 1fr); } }
@media (max-width: 600px) { nav.top, header.page { padding-left: 12px; padding-right: 12px; }
  main { padding: 12px 10px 32px; } table.kv th { width: auto; white-space: normal; }
  .plot-head { flex-wrap: wrap; } .plot-head .meta { white-space: normal; }
  .chart { height: 320px; } }
`;

/** What {@link page} puts together. Every string but `title` and crumb texts is trusted HTML. */
export interface PageParts {
  /** The document title, before ` · <suffix>`. */
  title: string;
  /** What follows the title in the tab (default `modelog`). */
  titleSuffix?: string;
  /** A Content-Security-Policy for a `<meta>` element (pages served over HTTP send a header). */
  metaCsp?: string;
  /** The top navigation bar's crumbs after the `modelog` home link; omitted: no bar. */
  crumbs?: { text: string; href?: string }[];
  /** The page header (see {@link pageHeader}). */
  header?: string;
  /** The main content. */
  body: string;
  /** Script elements at the end of the body. */
  scripts?: string;
}

/**
 * Renders a whole page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { page } from "./layout.ts";
 * const html = page({ title: "a <b>", body: "<p>hi</p>", crumbs: [] });
 * assert.ok(html.startsWith("<!DOCTYPE html>"));
 * assert.ok(html.includes("<title>a &lt;b&gt; · modelog</title>"));
 * assert.ok(html.includes('<nav class="top">'));
 * ```
 */
export function page(p: PageParts): string {
  const nav = p.crumbs === undefined
    ? ""
    : `<nav class="top"><a href="/">modelog</a>${
      p.crumbs.map((c) =>
        c.href
          ? `<a class="crumb" href="${h(c.href)}">${h(c.text)}</a>`
          : `<span class="crumb">${h(c.text)}</span>`
      ).join(' <span class="crumb">/</span> ')
    }</nav>\n`;
  const csp = p.metaCsp
    ? `<meta http-equiv="Content-Security-Policy" content="${h(p.metaCsp)}">\n`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${csp}<link rel="icon" href="data:,">
<title>${h(p.title)} · ${h(p.titleSuffix ?? "modelog")}</title>
<style>${CSS}</style>
</head>
<body>
${nav}${p.header ?? ""}
<main>
${p.body}
</main>
${p.scripts ?? ""}
</body>
</html>
`;
}

/** A page header: the title (escaped), badges and a sub line (both trusted HTML). */
export function pageHeader(title: string, badges: string, sub: string): string {
  return `<header class="page"><h1>${h(title)}${badges}</h1><div class="sub">${sub}</div></header>`;
}

/** The published/archived badges of a model's header. */
export function modelBadges(m: { published?: unknown; archived?: unknown }): string {
  return (m.published ? `<span class="badge">published</span>` : "") +
    (m.archived ? `<span class="badge archived">archived</span>` : "");
}

/** A titled section; `inner` is trusted HTML, put in a card unless `card` is false. */
export function section(title: string, inner: string, opts: { id?: string; card?: boolean } = {}) {
  return `<section${opts.id ? ` id="${h(opts.id)}"` : ""}><h2>${h(title)}</h2>${
    opts.card === false ? inner : `<div class="card">${inner}</div>`
  }</section>`;
}

/** A key/value table; keys are escaped, values are trusted HTML. */
export function kvTable(rows: [string, string][]): string {
  return `<table class="kv">${
    rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${v}</td></tr>`).join("")
  }</table>`;
}

/** A list table; cells are trusted HTML; `cls` gives per-column classes. */
export function listTable(
  head: string[],
  rows: string[][],
  opts: {
    cls?: Record<number, string>;
    empty?: string;
    id?: string;
    /** Head cells are trusted HTML (default: escaped text). */
    htmlHead?: boolean;
    /** A class per row (e.g. `differs`), by row index. */
    rowCls?: (string | undefined)[];
  } = {},
): string {
  if (rows.length === 0) return `<p class="empty">${h(opts.empty ?? "None.")}</p>`;
  const cls = opts.cls ?? {};
  return `<table class="list"${opts.id ? ` id="${h(opts.id)}"` : ""}><thead><tr>${
    head.map((x, i) => `<th${cls[i] ? ` class="${cls[i]}"` : ""}>${opts.htmlHead ? x : h(x)}</th>`)
      .join("")
  }</tr></thead><tbody>${
    rows.map((r, j) =>
      `<tr${opts.rowCls?.[j] ? ` class="${h(opts.rowCls[j])}"` : ""}>${
        r.map((c, i) => `<td${cls[i] ? ` class="${cls[i]}"` : ""}>${c}</td>`).join("")
      }</tr>`
    ).join("")
  }</tbody></table>`;
}

/** Tag chips that link to `href(tag)` (escaped). */
export function tagLinks(tags: string[], href: (tag: string) => string): string {
  return tags.map((t) => `<a class="chip" href="${h(href(t))}">${h(t)}</a>`).join("");
}

/** Tag chips (escaped). */
export function chips(tags: unknown[], cls = "chip"): string {
  return tags.map((t) => `<span class="${cls}">${h(t)}</span>`).join("");
}

/** An italic "none" (or another word). */
export function none(word = "none"): string {
  return `<span class="none">${h(word)}</span>`;
}

/** Plain text or an italic "none". */
export function textOrNone(v: unknown): string {
  return v === undefined || v === null || v === "" ? none() : h(v);
}

/** `2025-01-02 13:04:05 UTC`, in a `<time>` element. */
export function when(d: Date): string {
  if (Number.isNaN(d.getTime())) return none("unknown");
  const iso = d.toISOString();
  return `<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</time>`;
}

/** A number as text (NaN and ±Infinity spelled out, 8 significant digits). */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined) return none();
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return h(Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(8))));
}

/** Bytes as `12.3 MB (12,345,678 bytes)`. */
export function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) v /= 1024, u++;
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]} (${n.toLocaleString("en-US")} bytes)`;
}

/** The chart element's class for a plot kind (3-D kinds get a taller chart). */
export function chartClass(kind: string): string {
  return kind === "scatter3d" || kind === "surface" ? "chart tall" : "chart";
}

/**
 * A card holding one figure: a heading, a meta line (trusted HTML), the chart element the page
 * script draws into, and an optional note below (trusted HTML).
 */
export function figureCard(o: {
  id: string;
  heading: string;
  meta: string;
  cls?: string;
  chartCls?: string;
  note?: string;
  /** Controls above the chart (trusted HTML, e.g. {@link chartControls}). */
  controls?: string;
}): string {
  return `<div class="card${o.cls ? ` ${o.cls}` : ""}"><div class="plot-head"><h3>${
    h(o.heading)
  }</h3><span class="meta">${o.meta}</span></div>${o.controls ?? ""}<div id="${h(o.id)}" class="${
    o.chartCls ?? "chart"
  }"></div>${o.note ?? ""}</div>`;
}

/** A grid of cards, or an italic "None." when there are none. */
export function cardGrid(cards: string[]): string {
  return cards.length
    ? `<div class="grid">${cards.join("\n")}</div>`
    : `<p class="empty">None.</p>`;
}

/**
 * JSON for a `<script type="application/json">` element: NaN/Infinity kept as `{"$nf": …}`
 * markers (revived by the page script), and `<`, U+2028, U+2029 escaped so the text can never
 * close the element.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scriptJson } from "./layout.ts";
 * assert.equal(scriptJson({ s: "</script>", n: NaN }), '{"s":"\\u003c/script>","n":{"$nf":"NaN"}}');
 * ```
 */
export function scriptJson(value: unknown): string {
  return encodeData(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Makes a script text safe to inline: it must not close the element or open a comment. */
export function inlineScript(js: string): string {
  return js.replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
}

/** A figure for the page script: the id of its chart element, plotly data and layout. */
export interface PageFigure {
  id: string;
  data: unknown[];
  layout: Record<string, unknown>;
  /**
   * A scalar chart with controls (see {@link chartControls}): log scale, smoothing and, when
   * `times` are given (epoch ms per point of each trace, or null), a wall-time axis.
   */
  scalar?: { times?: (number[] | null)[] };
}

/**
 * The controls of a scalar chart: a log-scale toggle, an exponential-moving-average smoothing
 * slider (as TensorBoard's: 0 is off, debiased at the start) and, with `wallTime`, an x-axis
 * choice between iteration and wall time. The page script wires them to the figure `id`.
 */
export function chartControls(id: string, wallTime: boolean): string {
  return `<div class="chart-controls" data-for="${h(id)}">
<label><input type="checkbox" class="log-y"> log scale</label>
<label>smoothing <input type="range" class="smooth" min="0" max="0.99" step="0.01" value="0">` +
    `<output class="smooth-value">0</output></label>${
      wallTime
        ? `<label>x axis <select class="x-axis"><option value="iteration">iteration</option>` +
          `<option value="wall">wall time</option></select></label>`
        : ""
    }</div>`;
}

/**
 * The page script: reads the figures from `<script id="modelog-figures">` (reviving the
 * `{"$nf": …}` markers of NaN and ±Infinity), draws each into the element of its id with
 * `config` (a JS object literal), then sets `window.modelogReady` (true, or "error" when
 * plotly.js is missing or a figure fails; `who` prefixes the console message).
 */
export function figuresScript(config: string, who: string): string {
  return `(function () {
  "use strict";
  function revive(_k, v) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      var keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "$nf") {
        return v.$nf === "Infinity" ? Infinity : v.$nf === "-Infinity" ? -Infinity : NaN;
      }
    }
    return v;
  }
  var figures = JSON.parse(document.getElementById("modelog-figures").textContent, revive);
  if (typeof Plotly === "undefined") {
    window.modelogReady = "error";
    console.error("${who}: plotly.js did not load");
    return;
  }
  var config = ${config};
  // Exponential moving average, debiased at the start (TensorBoard's smoothing).
  function ema(y, w) {
    var out = new Array(y.length), last = 0, n = 0;
    for (var i = 0; i < y.length; i++) {
      var v = y[i];
      if (typeof v !== "number" || !isFinite(v)) { out[i] = v; continue; }
      last = last * w + (1 - w) * v;
      n++;
      out[i] = last / (1 - Math.pow(w, n));
    }
    return out;
  }
  function wire(f) {
    var box = document.querySelector('.chart-controls[data-for="' + f.id + '"]');
    if (!box) return;
    var el = document.getElementById(f.id);
    var raw = f.data.map(function (t) { return { x: t.x, y: t.y }; });
    var xTitle = f.layout.xaxis && f.layout.xaxis.title;
    function draw() {
      var log = box.querySelector(".log-y").checked;
      var w = Number(box.querySelector(".smooth").value);
      var axis = box.querySelector(".x-axis");
      var wall = axis && axis.value === "wall";
      box.querySelector(".smooth-value").textContent = w.toFixed(2);
      var data = [];
      f.data.forEach(function (t, i) {
        var times = f.scalar.times && f.scalar.times[i];
        var x = wall && times ? times.map(function (ms) { return new Date(ms).toISOString(); })
          : raw[i].x;
        var main = Object.assign({}, t, { x: x, y: w > 0 ? ema(raw[i].y, w) : raw[i].y });
        if (w > 0) {
          var color = t.line && t.line.color;
          data.push(Object.assign({}, t, {
            x: x, y: raw[i].y, opacity: 0.25, showlegend: false, hoverinfo: "skip",
            name: t.name + " (raw)", legendgroup: t.name,
            line: Object.assign({}, t.line || {}, color ? {} : { color: "#999" }),
          }));
          main.legendgroup = t.name;
        }
        data.push(main);
      });
      var layout = Object.assign({}, f.layout);
      layout.yaxis = Object.assign({}, f.layout.yaxis || {}, { type: log ? "log" : "linear" });
      layout.xaxis = Object.assign({}, f.layout.xaxis || {}, {
        type: wall ? "date" : "linear",
        title: wall ? { text: "wall time (UTC)" } : xTitle,
      });
      return Plotly.react(el, data, layout, config).then(function () {
        el.dataset.drawn = String(Number(el.dataset.drawn || 0) + 1);
      });
    }
    box.addEventListener("input", draw);
    box.addEventListener("change", draw);
  }
  var jobs = figures.map(function (f) {
    try {
      return Plotly.newPlot(f.id, f.data, f.layout, config);
    } catch (e) {
      return Promise.reject(e);
    }
  });
  Promise.all(jobs).then(function () {
    figures.forEach(function (f) {
      if (f.scalar) wire(f);
    });
    window.modelogReady = true;
  }, function (e) {
    window.modelogReady = "error";
    console.error("${who}: a figure failed to render", e);
  });
})();`;
}

/**
 * The scripts that draw `figures`: plotly.js (`plotly`, a script element or inline text given
 * by the caller), the figures as JSON, and {@link figuresScript}.
 */
export function figureScripts(figures: PageFigure[], plotly: string, config: string, who: string) {
  return `${plotly}
<script type="application/json" id="modelog-figures">${scriptJson(figures)}</script>
<script>${figuresScript(config, who)}</script>`;
}
