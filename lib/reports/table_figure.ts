/**
 * The table figure of `reportTable`: rows (with a header row), records or CSV text, as ClearML
 * draws them.
 *
 * @module
 */
import { parseCsvTable } from "./csv.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { PlotResult, TableOptions } from "./figure_options.ts";
import {
  checkIteration,
  checkName,
  isPlainObject,
  type Obj,
  optObject,
  withExtra,
} from "./figure_checks.ts";
// ---------------------------------------------------------------------------------------------
// Table

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function castCell(s: string): unknown {
  const t = s.trim();
  if (NUMBER_RE.test(t)) return Number(t);
  if (t === "NaN" || t === "nan") return NaN;
  if (t === "Infinity" || t === "inf" || t === "Inf") return Infinity;
  if (t === "-Infinity" || t === "-inf" || t === "-Inf") return -Infinity;
  return s;
}

function checkCell(field: string, v: unknown, where: string): unknown {
  if (v === null || v === undefined) return null;
  const t = typeof v;
  if (t === "string" || t === "number" || t === "boolean") return v;
  if (v instanceof Date) return v.toISOString();
  if (t === "bigint") return Number(v);
  throw new InvalidArgumentError(field, v, `${where} must be a string, number, boolean or null`);
}

function rowsToColumns(
  field: string,
  rows: unknown[][],
): { header: unknown[]; cells: unknown[][] } {
  if (rows.length === 0) return { header: [], cells: [] };
  const header = rows[0].map((h, i) => checkCell(field, h, `header cell ${i}`));
  const cells: unknown[][] = header.map(() => []);
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row) || row.length !== header.length) {
      throw new InvalidArgumentError(
        field,
        row,
        `row ${r} must be an array of ${header.length} cells, like the header row`,
      );
    }
    row.forEach((v, c) => cells[c].push(checkCell(field, v, `row ${r} cell ${c}`)));
  }
  return { header, cells };
}

/**
 * Builds the figure of `reportTable`: a plotly `table` trace. Exactly one source is accepted:
 * `tablePlot` (rows with a header row, or records), or `csvText` (parsed with csv-parse; column 0
 * is ClearML's index column and stays the first column; numeric-looking cells become numbers).
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { tableFigure } from "./figures.ts";
 * const p = tableFigure({ title: "t", series: "s", tablePlot: [["a", "b"], [1, 2], [3, 4]] });
 * const trace = p.figure.data[0] as { cells: { values: unknown[][] } };
 * console.log(trace.cells.values); // [[1, 3], [2, 4]]
 * ```
 */
export function tableFigure(o: TableOptions): PlotResult {
  const title = checkName("title", o.title);
  const series = checkName("series", o.series);
  const iteration = checkIteration(o.iteration);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  const given = (["tablePlot", "csvText", "url"] as const).filter((k) =>
    o[k] !== undefined && o[k] !== null
  );
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      given.length === 0 ? "tablePlot" : given.join("/"),
      given.length === 0 ? undefined : given,
      "exactly one of tablePlot, csvText or url must be given",
    );
  }
  let header: unknown[];
  let cells: unknown[][];
  if (given[0] === "url") {
    throw new InvalidArgumentError(
      "url",
      o.url,
      "tables cannot be read from a URL here: fetch the CSV and pass its text as csvText",
    );
  } else if (given[0] === "csvText") {
    if (typeof o.csvText !== "string") {
      throw new InvalidArgumentError("csvText", o.csvText, "must be a string of CSV text");
    }
    const rows = parseCsvTable(o.csvText, "csvText");
    ({ header, cells } = rowsToColumns(
      "csvText",
      rows.map((r, i) => (i === 0 ? r : r.map(castCell))),
    ));
  } else {
    const t = o.tablePlot;
    if (!Array.isArray(t)) {
      throw new InvalidArgumentError("tablePlot", t, "must be an array of rows or of records");
    }
    if (t.length === 0 || Array.isArray(t[0])) {
      ({ header, cells } = rowsToColumns("tablePlot", t as unknown[][]));
    } else {
      const keys: string[] = [];
      const seen = new Set<string>();
      t.forEach((rec, r) => {
        if (!isPlainObject(rec)) {
          throw new InvalidArgumentError(
            "tablePlot",
            rec,
            `row ${r} must be a record like row 0 (or give rows as arrays)`,
          );
        }
        for (const k of Object.keys(rec)) if (!seen.has(k)) seen.add(k), keys.push(k);
      });
      header = keys;
      cells = keys.map((k) =>
        (t as Obj[]).map((rec, r) => checkCell("tablePlot", rec[k], `row ${r} key ${k}`))
      );
    }
  }
  const data = [{
    type: "table",
    header: {
      values: header,
      align: "left",
      line: { width: 0.5, color: "#d4d6e0" },
      fill: { color: "#fff" },
      font: { family: "Heebo, verdana, arial, sans-serif", size: 12, color: "#333" },
    },
    cells: {
      height: 30,
      values: cells,
      align: "left",
      line: { color: "white", width: 1 },
      font: { family: "Heebo, verdana, arial, sans-serif", size: 14, color: "#384161" },
    },
  }];
  const layout = withExtra({ "title.text": title, title: series }, extraLayout);
  return { kind: "table", title, series, iteration, figure: { data, layout } };
}
