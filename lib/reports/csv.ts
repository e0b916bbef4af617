/**
 * CSV export of scalars and CSV parsing of tables.
 *
 * @module
 */
import { csvParse, csvStringify } from "../deps.ts";
import { InvalidArgumentError } from "../errors.ts";

/** One scalar point as exported. */
export interface ScalarCsvRow {
  /** The scalar title (metric). */
  title: string;
  /** The series (variant). */
  series: string;
  /** The iteration. */
  iteration: number;
  /** The value; NaN and ±Infinity are written as `NaN`, `Infinity`, `-Infinity`. */
  value: number;
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return String(n);
}

/**
 * Writes scalar points as CSV with the header `title,series,iteration,value` (RFC 4180 quoting,
 * `\n` line ends). Non-finite values are written as `NaN`, `Infinity` and `-Infinity`.
 *
 * @param rows the points, in the order to write them
 * @returns the CSV text, ending with a newline
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scalarsToCsv } from "./csv.ts";
 * const csv = scalarsToCsv([{ title: "loss", series: "train", iteration: 0, value: NaN }]);
 * assert.deepEqual(csv, "title,series,iteration,value\nloss,train,0,NaN\n");
 * ```
 */
export function scalarsToCsv(rows: ScalarCsvRow[]): string {
  if (!Array.isArray(rows)) throw new InvalidArgumentError("rows", rows, "must be an array");
  const records = rows.map((r, i) => {
    if (
      r === null || typeof r !== "object" || typeof r.title !== "string" ||
      typeof r.series !== "string"
    ) {
      throw new InvalidArgumentError(`rows[${i}]`, r, "must be {title, series, iteration, value}");
    }
    if (!Number.isInteger(r.iteration)) {
      throw new InvalidArgumentError(`rows[${i}].iteration`, r.iteration, "must be an integer");
    }
    if (typeof r.value !== "number") {
      throw new InvalidArgumentError(`rows[${i}].value`, r.value, "must be a number");
    }
    return [r.title, r.series, String(r.iteration), numberText(r.value)];
  });
  return csvStringify([["title", "series", "iteration", "value"], ...records], {
    record_delimiter: "\n",
  });
}

/**
 * Parses CSV text into rows of strings (the first row is the header). Empty lines are skipped;
 * rows may have different lengths.
 *
 * @param text the CSV text
 * @param field the argument name to report in errors (default `text`)
 * @returns the rows
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCsvTable } from "./csv.ts";
 * assert.deepEqual(parseCsvTable("a,b\n1,\"x,y\"\n"), [["a", "b"], ["1", "x,y"]]);
 * ```
 */
export function parseCsvTable(text: string, field = "text"): string[][] {
  if (typeof text !== "string") throw new InvalidArgumentError(field, text, "must be a string");
  try {
    return csvParse(text, {
      skip_empty_lines: true,
      relax_column_count: true,
      bom: true,
    }) as string[][];
  } catch (e) {
    throw new InvalidArgumentError(field, text, `is not valid CSV: ${(e as Error).message}`);
  }
}
