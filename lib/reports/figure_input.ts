/**
 * Validation and conversion of figure-builder arguments (names, numbers, matrices, points,
 * layouts) and the prototype-safe deep merge of `extraLayout` objects.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";

// ---------------------------------------------------------------------------------------------
// Validation helpers

export type Obj = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function checkName(field: string, v: unknown): string {
  if (typeof v === "string" && v.includes("\0")) {
    throw new InvalidArgumentError(field, v, "must not contain a NUL character");
  }
  if (typeof v !== "string" || (field === "title" ? v.trim() : v).length === 0) {
    throw new InvalidArgumentError(field, v, "must be a non-empty string");
  }
  return v;
}

export function optString(field: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new InvalidArgumentError(field, v, "must be a string");
  return v;
}

export function optBool(field: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new InvalidArgumentError(field, v, "must be a boolean");
  return v;
}

export function checkIteration(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError("iteration", v, "must be an integer");
  }
  return v;
}

export function optObject(field: string, v: unknown): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new InvalidArgumentError(field, v, "must be a plain object");
  return v;
}

export function optStrings(field: string, v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new InvalidArgumentError(field, v, "must be an array of strings");
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") {
      throw new InvalidArgumentError(field, v, `must be an array of strings (item ${i} is not)`);
    }
  }
  return [...v];
}

export function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v) && !(v instanceof DataView);
}

export function toNumbers(field: string, v: unknown, where: string): number[] {
  if (!isArrayLike(v)) {
    throw new InvalidArgumentError(field, v, `${where}must be an array of numbers`);
  }
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number") {
      throw new InvalidArgumentError(
        field,
        x,
        `${where}item ${i} is not a number (NaN and Infinity are allowed)`,
      );
    }
    out[i] = x;
  }
  return out;
}

/** A 1-D array becomes one row; a 2-D array must be rectangular. */
export function toMatrix(field: string, v: unknown, opts: { allow1d: boolean }): number[][] {
  if (!isArrayLike(v)) throw new InvalidArgumentError(field, v, "must be an array of numbers");
  if (v.length === 0) return opts.allow1d ? [[]] : [];
  const first = v[0];
  if (!isArrayLike(first)) {
    if (!opts.allow1d) {
      throw new InvalidArgumentError(field, v, "must be a 2-D array (an array of rows)");
    }
    return [toNumbers(field, v, "")];
  }
  const rows: number[][] = [];
  for (let r = 0; r < v.length; r++) {
    const row = toNumbers(field, v[r], `row ${r}: `);
    if (r > 0 && row.length !== rows[0].length) {
      throw new InvalidArgumentError(
        field,
        v[r],
        `rows must all have the same length: row ${r} has ${row.length}, row 0 has ${
          rows[0].length
        }`,
      );
    }
    rows.push(row);
  }
  return rows;
}

/** N points of a given width, as columns. */
export function toPoints(field: string, v: unknown, width: number, where = ""): number[][] {
  if (!isArrayLike(v)) {
    throw new InvalidArgumentError(field, v, `${where}must be an array of points`);
  }
  const cols: number[][] = Array.from({ length: width }, () => new Array<number>(v.length));
  for (let i = 0; i < v.length; i++) {
    const p = toNumbers(field, v[i], `${where}point ${i}: `);
    if (p.length !== width) {
      throw new InvalidArgumentError(
        field,
        v[i],
        `${where}point ${i} has ${p.length} values, expected ${width} (an N×${width} array)`,
      );
    }
    for (let c = 0; c < width; c++) cols[c][i] = p[c];
  }
  return cols;
}

export function checkCount(field: string, labels: string[] | null, n: number, what: string): void {
  if (labels !== null && labels.length !== n) {
    throw new InvalidArgumentError(
      field,
      labels,
      `has ${labels.length} labels but there are ${n} ${what}`,
    );
  }
}

export const SCATTER_MODE_PARTS = new Set(["lines", "markers", "text"]);

export function checkScatterMode(v: unknown, dflt: string): string {
  if (v === undefined || v === null) return dflt;
  if (typeof v === "string") {
    if (v === "none") return v;
    const parts = v.split("+");
    if (
      parts.every((p) => SCATTER_MODE_PARTS.has(p)) && new Set(parts).size === parts.length
    ) return v;
  }
  const hint = v === "line" ? ` (did you mean "lines"?)` : "";
  throw new InvalidArgumentError(
    "mode",
    v,
    `must be "lines", "markers", "text", a "+" combination of them, or "none"${hint}`,
  );
}

export function titleWithComment(title: string, comment: string | null): string {
  return comment ? `${title}<br><sup>${comment}</sup>` : title;
}

// ---------------------------------------------------------------------------------------------
// Merging

export const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export function cloneValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneValue);
  if (isPlainObject(v)) return deepMerge({}, v);
  return v;
}

/**
 * Deep-merges `b` into a copy of `a`, as ClearML's `merge_dicts` does for `extra_layout`: plain
 * objects are merged recursively; arrays and other values from `b` replace those in `a`;
 * `undefined` values in `b` are skipped. Neither argument is changed.
 *
 * @param a the base object
 * @param b the object whose values win
 * @returns a new merged object
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deepMerge } from "./figures.ts";
 * const m = deepMerge({ xaxis: { title: "x", type: "linear" } }, { xaxis: { type: "log" } });
 * assert.deepEqual(m, { xaxis: { title: "x", type: "log" } });
 * ```
 */
export function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Obj = {};
  for (const [k, v] of Object.entries(a)) {
    if (!FORBIDDEN_KEYS.has(k)) out[k] = cloneValue(v);
  }
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined || FORBIDDEN_KEYS.has(k)) continue;
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : cloneValue(v);
  }
  return out;
}

export function withExtra(layout: Obj, extra: Obj | undefined): Obj {
  return extra ? deepMerge(layout, extra) : layout;
}
