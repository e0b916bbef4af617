/**
 * Model metadata values: from a JavaScript value to the stored `{ value, type }` entry and
 * back, plus the checks on keys and entry maps that `BaseModel`'s metadata methods share.
 *
 * @module
 */
import type { MetadataEntry, MetadataType } from "../events.ts";
import { InvalidArgumentError } from "../errors.ts";

/** The type names a metadata entry may carry (ClearML's). */
export const META_TYPES: readonly MetadataType[] = ["str", "int", "float", "bool", "list", "dict"];

/**
 * Converts a JS value to its stored metadata string and type name. The type is taken from the
 * value unless `vType` names one; lists and dicts are stored as JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toMetadataEntry } from "./metadata.ts";
 * assert.deepEqual(toMetadataEntry("epochs", 10), { value: "10", type: "int" });
 * assert.deepEqual(toMetadataEntry("layers", [1, 2]), { value: "[1,2]", type: "list" });
 * ```
 */
export function toMetadataEntry(key: string, value: unknown, vType?: string): MetadataEntry {
  if (vType !== undefined && !(META_TYPES as readonly string[]).includes(vType)) {
    throw new InvalidArgumentError(`vType`, vType, `must be one of ${META_TYPES.join(", ")}`);
  }
  let type: MetadataType;
  if (vType) type = vType as MetadataType;
  else if (typeof value === "string") type = "str";
  else if (typeof value === "boolean") type = "bool";
  else if (typeof value === "number") type = Number.isInteger(value) ? "int" : "float";
  else if (Array.isArray(value)) type = "list";
  else if (value !== null && typeof value === "object") type = "dict";
  else {
    throw new InvalidArgumentError(
      `metadata.${key}`,
      value,
      "must be a string, number, boolean, array or object",
    );
  }
  let s: string;
  if (typeof value === "string") s = value;
  else if (typeof value === "number" || typeof value === "boolean") s = String(value);
  else {
    try {
      s = JSON.stringify(value);
    } catch (e) {
      throw new InvalidArgumentError(`metadata.${key}`, value, `cannot be stored as JSON: ${e}`);
    }
    if (s === undefined) {
      throw new InvalidArgumentError(`metadata.${key}`, value, "cannot be stored");
    }
  }
  if (vType) checkTyped(key, value, s, type);
  return { value: s, type };
}

/** Refuses a value that cannot be read back as its named type (`"ten"` as an int). */
function checkTyped(key: string, value: unknown, s: string, type: MetadataType): void {
  let ok: boolean;
  switch (type) {
    case "int":
      ok = typeof value === "number" ? Number.isInteger(value) : /^\s*[+-]?\d+\s*$/.test(s);
      break;
    case "float":
      ok = typeof value === "number" ||
        (typeof value === "string" && s.trim() !== "" && !Number.isNaN(Number(s))) ||
        /^\s*[+-]?(nan|inf|infinity)\s*$/i.test(s);
      break;
    case "bool":
      ok = typeof value === "boolean" || typeof castMetadata({ value: s, type }) === "boolean";
      break;
    case "list":
    case "dict": {
      let v: unknown = value;
      if (typeof value === "string") {
        try {
          v = JSON.parse(value);
        } catch {
          v = undefined;
        }
      }
      ok = type === "list" ? Array.isArray(v) : v !== null && typeof v === "object" &&
        !Array.isArray(v);
      break;
    }
    default:
      ok = true;
  }
  if (!ok) {
    throw new InvalidArgumentError(
      `metadata.${key}`,
      value,
      `is not a valid ${type} value, so it could not be read back as ${type}`,
    );
  }
}

/**
 * Casts a stored metadata entry back to a typed value (`getMetadataCasted`); a string that
 * does not parse as its type is returned as stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { castMetadata } from "./metadata.ts";
 * assert.equal(castMetadata({ value: "yes", type: "bool" }), true);
 * assert.equal(castMetadata({ value: "ten", type: "int" }), "ten");
 * ```
 */
export function castMetadata(e: MetadataEntry): unknown {
  switch (e.type) {
    case "int": {
      const n = Number(e.value);
      return Number.isInteger(n) && e.value.trim() !== "" ? n : e.value;
    }
    case "float": {
      const n = Number(e.value);
      return e.value.trim() === "" || (Number.isNaN(n) && e.value !== "NaN") ? e.value : n;
    }
    case "bool": {
      const v = e.value.trim().toLowerCase();
      if (["true", "1", "yes", "y", "on"].includes(v)) return true;
      if (["false", "0", "no", "n", "off", ""].includes(v)) return false;
      return e.value;
    }
    case "list":
    case "dict":
      try {
        return JSON.parse(e.value);
      } catch {
        return e.value;
      }
    default:
      return e.value;
  }
}

/** Checks a metadata key: a non-empty string. */
export function checkKey(key: unknown): string {
  if (typeof key !== "string" || key.trim().length === 0) {
    throw new InvalidArgumentError("key", key, "metadata keys must be non-empty strings");
  }
  return key;
}

/** Checks `setAllMetadata`'s `{ key: { value, type } }` map and converts every entry. */
export function toMetadataEntries(
  metadata: Record<string, { value: unknown; type?: MetadataType }>,
): Record<string, MetadataEntry> {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new InvalidArgumentError("metadata", metadata, "must be an object of {value, type}");
  }
  const set: Record<string, MetadataEntry> = {};
  for (const [k, v] of Object.entries(metadata)) {
    checkKey(k);
    if (v === null || typeof v !== "object" || !("value" in v)) {
      throw new InvalidArgumentError(`metadata.${k}`, v, "must be {value, type}");
    }
    set[k] = toMetadataEntry(k, v.value, v.type);
  }
  return set;
}

/** The stored entry of a key (own keys only: "toString" is not inherited metadata). */
export function metadataEntry(
  md: Record<string, MetadataEntry> | undefined,
  key: string,
): MetadataEntry | undefined {
  return md && Object.hasOwn(md, key) ? md[key] : undefined;
}
