/** Small argument checks shared by the model API. @module */
import { InvalidArgumentError } from "../errors.ts";
import { baseName } from "../weights/remote.ts";

export { baseName };

/** Checks a non-empty string argument. */
export function needString(field: string, v: unknown, allowEmpty = false): string {
  if (typeof v !== "string") throw new InvalidArgumentError(field, v, "must be a string");
  if (!allowEmpty && v.trim().length === 0) {
    throw new InvalidArgumentError(field, v, "must be a non-empty string");
  }
  return v;
}

/** Checks an optional string argument. */
export function optString(field: string, v: unknown, allowEmpty = true): string | undefined {
  if (v === undefined || v === null) return undefined;
  return needString(field, v, allowEmpty);
}

/**
 * Checks an integer argument: a safe integer, since libSQL refuses to read a larger one back as
 * a JavaScript number (one stored iteration would break every later read of the model).
 */
export function needInt(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(field, v, "must be an integer (a safe integer)");
  }
  return v;
}

/** Checks an optional boolean argument. */
export function optBool(field: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new InvalidArgumentError(field, v, "must be a boolean");
  return v;
}

/** Checks a list of tag strings. */
export function needTags(field: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(field, v, "must be an array of strings");
  for (const t of v) {
    if (typeof t !== "string" || t.trim().length === 0) {
      throw new InvalidArgumentError(field, t, "tags must be non-empty strings");
    }
    // A tag the query grammar reads otherwise could be stored but never matched.
    if (t.includes(",")) {
      throw new InvalidArgumentError(
        field,
        t,
        "a tag must not contain a comma (it separates tags)",
      );
    }
    if (t.startsWith("-") || t.startsWith("__$")) {
      throw new InvalidArgumentError(
        field,
        t,
        'a tag must not start with "-" or "__$" (queries read them as exclusion or operator)',
      );
    }
  }
  return [...new Set(v as string[])];
}

/** Checks a label enumeration: `{ label: integer }`. */
export function needLabels(field: string, v: unknown): Record<string, number> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new InvalidArgumentError(
      field,
      v,
      "must be an object mapping label names to integer ids",
    );
  }
  const out: Record<string, number> = {};
  for (const [k, id] of Object.entries(v as Record<string, unknown>)) {
    if (k.length === 0) throw new InvalidArgumentError(field, k, "label names must be non-empty");
    if (typeof id !== "number" || !Number.isInteger(id)) {
      throw new InvalidArgumentError(`${field}.${k}`, id, "label ids must be integers");
    }
    out[k] = id;
  }
  return out;
}

/** Turns configText / configDict into the stored design text (exactly one may be given). */
export function designText(
  configText: unknown,
  configDict: unknown,
): string | undefined {
  const hasDict = configDict !== undefined && configDict !== null &&
    !(typeof configDict === "object" && Object.keys(configDict as object).length === 0);
  if (configText !== undefined && configText !== null && hasDict) {
    throw new InvalidArgumentError(
      "configDict",
      configDict,
      "give either configText or configDict, not both",
    );
  }
  if (hasDict) {
    if (typeof configDict !== "object" || Array.isArray(configDict)) {
      throw new InvalidArgumentError("configDict", configDict, "must be a plain object");
    }
    try {
      return JSON.stringify(configDict, null, 2);
    } catch (e) {
      // A cyclic object (or a BigInt): JSON cannot hold it.
      throw new InvalidArgumentError("configDict", configDict, `cannot be stored as JSON: ${e}`);
    }
  }
  if (configText !== undefined && configText !== null) {
    return needString("configText", configText, true);
  }
  return undefined;
}

/** The stem of a file name (no folders, no last extension). */
export function stem(p: string): string {
  const b = baseName(p);
  const i = b.lastIndexOf(".");
  return i > 0 ? b.slice(0, i) : b;
}

/** A design text parsed as a JSON object (`{}` when empty); `INVALID_ARGUMENT` otherwise. */
export function parseDesign(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(
      "configText",
      text.slice(0, 80),
      "is not JSON, so it has no dict form",
    );
  }
}

/** Whether a URI is http(s). */
export function isRemote(uri: string): boolean {
  return /^https?:\/\//i.test(uri);
}

/** A file name made safe as one path segment (no separators, controls or leading dots). */
export function safeSegment(s: string): string {
  let out = "";
  for (const ch of s) out += ch.charCodeAt(0) < 0x20 || '/\\:*?"<>|'.includes(ch) ? "_" : ch;
  return out.replace(/^\.+/, "_") || "_";
}

/** Checks an options argument: an object (not null). */
export function needObject(field: string, v: unknown, what = "must be an object"): object {
  if (v === null || typeof v !== "object") throw new InvalidArgumentError(field, v, what);
  return v;
}

/**
 * `T` with `null` allowed wherever `undefined` is: a literal translation of ClearML's `None`
 * type-checks. {@link noNulls} then turns each `null` into "not given".
 */
export type OrNull<T> = { [K in keyof T]: undefined extends T[K] ? T[K] | null : T[K] };

/**
 * An options object with its `null` values dropped, so `null` means what `undefined` means (a
 * Python `None`). A non-object is returned as is, for the caller's own check to name it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noNulls } from "./util.ts";
 * assert.deepEqual(noNulls({ modelName: null, maxResults: 5 }), { maxResults: 5 });
 * ```
 */
export function noNulls<T>(options: T): NoNull<T> {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    return options as NoNull<T>;
  }
  const proto = Object.getPrototypeOf(options);
  if (proto !== Object.prototype && proto !== null) return options as NoNull<T>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options as Record<string, unknown>)) {
    if (v !== null) out[k] = v;
  }
  return out as NoNull<T>;
}

/** `T` with `null` removed from every property type (what {@link noNulls} returns). */
export type NoNull<T> = { [K in keyof T]: Exclude<T[K], null> };

/**
 * The options of a report given either as one object (`{ title, series, ... }`) or in the
 * docstring's positional form `(title, series, { ... })`; `null` values dropped.
 */
export function reportOptions<T>(first: unknown, series: unknown, rest: unknown): T {
  if (typeof first === "string") {
    if (rest !== undefined && rest !== null && (typeof rest !== "object" || Array.isArray(rest))) {
      throw new InvalidArgumentError("options", rest, "must be an object of report options");
    }
    return { ...noNulls((rest ?? {}) as object), title: first, series } as T;
  }
  if (first === null || typeof first !== "object") {
    throw new InvalidArgumentError(
      "options",
      first,
      "give { title, series, ... } or (title, series, { ... })",
    );
  }
  return noNulls(first) as T;
}
