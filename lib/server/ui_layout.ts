/**
 * The web UI's page shell and HTML helpers: CSS, the layout, tables, and safe JSON for inline
 * `<script>` elements. Everything that goes into a page passes through {@link escapeHtml} here.
 *
 * @module
 */
import { escapeHtml } from "../reports/html.ts";
import { encodeData } from "../events.ts";

export { escapeHtml };

/** A piece of HTML that is already escaped (built only by the helpers of this module). */
export type Html = { readonly html: string };

/** Marks text as trusted HTML. Only for markup built from escaped parts. */
export function raw(html: string): Html {
  return { html };
}

/** Escapes a text (or passes through trusted HTML). */
export function h(v: unknown): string {
  if (v !== null && typeof v === "object" && "html" in v) return (v as Html).html;
  if (v === undefined || v === null) return "";
  return escapeHtml(String(v));
}

/**
 * The CSP of every UI page: scripts and styles only from this origin (and inline), no requests
 * anywhere else.
 */
export const PAGE_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; " +
  "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

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
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 14px; }
.grid .card { margin: 0; }
.plot-head { display: flex; justify-content: space-between; gap: 12px; margin-bottom: 6px; }
.plot-head h3 { margin: 0; font-size: 15px; word-break: break-word; }
.plot-head .meta { color: var(--muted); font-size: 12px; white-space: nowrap; }
.chart { width: 100%; height: 400px; }
.chart.tall { height: 540px; }
.empty { color: var(--muted); margin: 0; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
@media (max-width: 900px) { .two { grid-template-columns: 1fr; } .grid { grid-template-columns: 1fr; } }
`;

/** Renders a whole page. `body` must already be escaped HTML. */
export function page(opts: {
  title: string;
  crumbs?: { text: string; href?: string }[];
  header?: string;
  body: string;
  scripts?: string;
}): string {
  const crumbs = (opts.crumbs ?? []).map((c) =>
    c.href
      ? `<a class="crumb" href="${h(c.href)}">${h(c.text)}</a>`
      : `<span class="crumb">${h(c.text)}</span>`
  ).join(' <span class="crumb">/</span> ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${h(opts.title)} · modelog</title>
<style>${CSS}</style>
</head>
<body>
<nav class="top"><a href="/">modelog</a>${crumbs}</nav>
${opts.header ?? ""}
<main>
${opts.body}
</main>
${opts.scripts ?? ""}
</body>
</html>
`;
}

/** A key/value table; values are trusted HTML. */
export function kvTable(rows: [string, string][]): string {
  return `<table class="kv">${
    rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${v}</td></tr>`).join("")
  }</table>`;
}

/** A list table; cells are trusted HTML; `cls` gives per-column classes. */
export function listTable(
  head: string[],
  rows: string[][],
  opts: { cls?: Record<number, string>; empty?: string; id?: string } = {},
): string {
  if (rows.length === 0) return `<p class="empty">${h(opts.empty ?? "None.")}</p>`;
  const cls = opts.cls ?? {};
  return `<table class="list"${opts.id ? ` id="${h(opts.id)}"` : ""}><thead><tr>${
    head.map((x, i) => `<th${cls[i] ? ` class="${cls[i]}"` : ""}>${h(x)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) =>
      `<tr>${r.map((c, i) => `<td${cls[i] ? ` class="${cls[i]}"` : ""}>${c}</td>`).join("")}</tr>`
    ).join("")
  }</tbody></table>`;
}

/** Tag chips (escaped). */
export function chips(tags: string[], cls = "chip"): string {
  return tags.map((t) => `<span class="${cls}">${h(t)}</span>`).join("");
}

/** `2025-01-02 13:04:05 UTC`, in a `<time>` element. */
export function when(d: Date): string {
  if (Number.isNaN(d.getTime())) return `<span class="none">unknown</span>`;
  const iso = d.toISOString();
  return `<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</time>`;
}

/** A number as text (NaN and ±Infinity spelled out). */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined) return `<span class="none">none</span>`;
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

/** Plain text or an italic "none". */
export function textOrNone(v: unknown): string {
  return v === undefined || v === null || v === "" ? `<span class="none">none</span>` : h(v);
}

/**
 * JSON for a `<script type="application/json">` element: NaN/Infinity kept as `{"$nf": …}`
 * markers (revived by the page script), and `<`, U+2028, U+2029 escaped so the text can never
 * close the element.
 */
export function scriptJson(value: unknown): string {
  return encodeData(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The HTML response of a UI page. */
export function htmlResponse(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": PAGE_CSP,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
  });
}
