/**
 * The filter language: one parser from text to the options `Model.queryModels` takes, used by
 * the server's `GET /v1/models`, the web UI's models table and the CLI's `models list`. Bad
 * text raises an `InvalidArgumentError` naming the parameter and the value, whoever asked.
 *
 * Parameters (an empty value means "not given"; unknown parameters are ignored):
 *
 * | parameter                      | meaning                                                  |
 * | ------------------------------ | -------------------------------------------------------- |
 * | `project`, `projectName`       | exact project name                                       |
 * | `name`, `modelName`            | exact model name                                         |
 * | `partial`, `partialName`       | a flag: `name` is a substring, ASCII case ignored        |
 * | `tags` (repeatable)            | a comma list in ClearML's grammar (`-tag` excludes)      |
 * | `tag` (repeatable)             | one tag, commas included                                 |
 * | `published`, `onlyPublished`   | a flag: only published models                            |
 * | `archived`, `includeArchived`  | a flag: include archived models                          |
 * | `limit`, `maxResults`          | at most this many models (an integer from 0 up)          |
 * | `metadata` (repeatable)        | `key=value`, the value taken as is                       |
 * | `metadata.<key>`               | `value`, taken as is                                     |
 * | `after`                        | the cursor `<lastUpdate>,<id>`                           |
 *
 * Flags read `1`, `true`, `yes`, `on`, `only`, `include` as true and `0`, `false`, `no`, `off`
 * as false, in any case. A text box of metadata pairs (`a=1, b=2`, as in the web UI's form) is
 * split with {@link splitMetadataList} first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseModelQuery } from "./query_text.ts";
 * const q = parseModelQuery(new URLSearchParams("project=vision&tags=best,-draft&published=yes"));
 * assert.deepEqual(q, { projectName: "vision", tags: ["best", "-draft"], onlyPublished: true });
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from "./errors.ts";
import type { QueryModelsOptions } from "./models/model.ts";

const TRUE_WORDS = new Set(["1", "true", "yes", "on", "only", "include"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

/** Whether a flag's text reads as true (see {@link parseFlag}); false for anything else. */
export function isTrue(text: string): boolean {
  return TRUE_WORDS.has(text.trim().toLowerCase());
}

/**
 * Reads a flag: true, false, or undefined for an empty text.
 *
 * @param field the parameter name (for the error)
 * @param text the flag's text
 * @returns the flag, or undefined when the text is empty
 * @throws {InvalidArgumentError} when the text is neither a true nor a false word
 */
export function parseFlag(field: string, text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === "") return undefined;
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  throw new InvalidArgumentError(field, text, "must be true or false");
}

/**
 * Splits a text box of metadata pairs (`a=1, b=2`, one per line, or both) into `key=value`
 * texts for {@link parseModelQuery}, trimming keys and values. A piece without `=` belongs to
 * the value before it (`note=a,b` is one pair); a first piece without `=` is kept as it is, so
 * the parser rejects it.
 */
export function splitMetadataList(text: string): string[] {
  const parts: string[] = [];
  for (const piece of text.split(/,|\n/)) {
    if (piece.includes("=") || parts.length === 0) parts.push(piece);
    else parts[parts.length - 1] += "," + piece;
  }
  const out: string[] = [];
  for (const part of parts) {
    const s = part.trim();
    if (!s) continue;
    const i = s.indexOf("=");
    out.push(i <= 0 ? s : `${s.slice(0, i).trim()}=${s.slice(i + 1).trim()}`);
  }
  return out;
}

/** The first non-empty value among the aliases, with the alias that gave it. */
function first(p: URLSearchParams, ...keys: string[]): [string, string] | undefined {
  for (const k of keys) {
    const v = p.get(k);
    if (v !== null && v !== "") return [k, v];
  }
  return undefined;
}

/**
 * Parses filter text into `queryModels` options (see the module doc for the parameters).
 *
 * @param p the parameters: a URL query, a form, or CLI flags gathered by {@link modelQueryFromFlags}
 * @returns the options, without `store`
 * @throws {InvalidArgumentError} naming the parameter and its value: a flag that is not a
 * flag word, a `limit` that is not an integer from 0 up, a `metadata` without `key=`, an
 * `after` that is not `<lastUpdate>,<id>`
 */
export function parseModelQuery(p: URLSearchParams): QueryModelsOptions {
  const q: QueryModelsOptions = {};
  const project = first(p, "project", "projectName");
  if (project) q.projectName = project[1];
  const name = first(p, "name", "modelName");
  if (name) q.modelName = name[1];

  const tags = [...p.getAll("tags").flatMap((t) => t.split(",")), ...p.getAll("tag")]
    .map((t) => t.trim()).filter((t) => t.length > 0);
  if (tags.length) q.tags = tags;

  const flag = (...keys: string[]) => {
    const f = first(p, ...keys);
    return f ? parseFlag(f[0], f[1]) : undefined;
  };
  const published = flag("published", "onlyPublished");
  if (published !== undefined) q.onlyPublished = published;
  const archived = flag("archived", "includeArchived");
  if (archived !== undefined) q.includeArchived = archived;
  const partial = flag("partial", "partialName");
  if (partial !== undefined) q.partialName = partial;

  const limit = first(p, "limit", "maxResults");
  if (limit && limit[1].trim() !== "") {
    const n = Number(limit[1].trim());
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidArgumentError(limit[0], limit[1], "must be a non-negative integer");
    }
    q.maxResults = n;
  }

  const md: Record<string, string> = {};
  for (const m of p.getAll("metadata")) {
    if (m === "") continue;
    const i = m.indexOf("=");
    if (i <= 0) throw new InvalidArgumentError("metadata", m, "must be key=value");
    md[m.slice(0, i)] = m.slice(i + 1);
  }
  for (const [k, v] of p) if (k.startsWith("metadata.") && k.length > 9) md[k.slice(9)] = v;
  if (Object.keys(md).length) q.metadata = md;

  const after = p.get("after");
  if (after) {
    const i = after.lastIndexOf(",");
    if (i <= 0 || i === after.length - 1) {
      throw new InvalidArgumentError("after", after, "must be <lastUpdate>,<id>");
    }
    q.after = { lastUpdate: after.slice(0, i), id: after.slice(i + 1) };
  }
  return q;
}

/** The filter flags of `cli.ts models list`, as `node:util` `parseArgs` returns them. */
export interface ModelQueryFlags {
  /** `--project NAME` */
  project?: string;
  /** `--name NAME` */
  name?: string;
  /** `--tags a,-b` */
  tags?: string;
  /** `--published` */
  published?: boolean;
  /** `--archived` */
  archived?: boolean;
  /** `--metadata k=v`, repeatable */
  metadata?: string[];
  /** `--after CURSOR` */
  after?: string;
}

/**
 * Parses CLI filter flags with {@link parseModelQuery}: each flag is the parameter of its name.
 *
 * @throws {InvalidArgumentError} as {@link parseModelQuery} does (the field is the flag's name
 * without `--`)
 */
export function modelQueryFromFlags(flags: ModelQueryFlags): QueryModelsOptions {
  const p = new URLSearchParams();
  for (const k of ["project", "name", "tags", "after"] as const) {
    const v = flags[k];
    if (v !== undefined) p.set(k, v);
  }
  if (flags.published) p.set("published", "true");
  if (flags.archived) p.set("archived", "true");
  for (const m of flags.metadata ?? []) p.append("metadata", m);
  return parseModelQuery(p);
}
