/**
 * Compiles a model query (ClearML's `Model.query_models` filter: project, name, tags, published,
 * archived, metadata, result count) into one parameterized SQLite statement over the projection
 * tables `models`, `model_tags` and `model_metadata`.
 *
 * The tag grammar is the ClearML server's (`__$and`/`__$all`, `__$or`/`__$any`, `__$not`,
 * `__$nop`, legacy `-tag`, `null` for "no tags"), with one fix: `-x` means `__$not x` anywhere in
 * the list, not only before the first operator. Every value is bound as an argument, never
 * spliced into the SQL text. Conditions are nested as balanced trees (SQLite caps an
 * expression's depth at 1000), and one query binds at most {@link MAX_QUERY_ARGS} values. The
 * web UI's sort orders (`ModelOrder`) compile here too.
 *
 * Over 600 lines: the filter's validation, the tag grammar, its compiler and the sort orders
 * are one unit that changes together.
 *
 * @example Models tagged "best" but not "draft", newest update first
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileModelQuery } from "./query.ts";
 * const q = compileModelQuery({ projectName: "vision", tags: ["best", "-draft"], maxResults: 10 });
 * assert.match(q.sql, /ORDER BY/);
 * assert.ok(q.args.includes("vision") && q.args.includes("best") && q.args.includes("draft"));
 * ```
 *
 * @module
 */

import { InvalidArgumentError } from "./errors.ts";

/** A metadata filter value: one exact value, or a list in the tag grammar. */
export type MetadataFilterValue =
  | string
  | number
  | boolean
  | (string | number | boolean | null)[];

/** What to look for in {@link compileModelQuery}. Every field is optional; all given ones are ANDed. */
export interface QueryFilter {
  /** Exact, case-sensitive project name. An empty string means no project filter (as in ClearML). */
  projectName?: string;
  /** Exact, case-sensitive model name. An empty string means no name filter (as in ClearML). */
  modelName?: string;
  /**
   * Match `modelName` as a substring, ignoring ASCII case, as ClearML's `model_name` does
   * (default false: an exact match).
   */
  partialName?: boolean;
  /** A tag filter in ClearML's grammar, see {@link parseTagFilter}. An empty list filters nothing. */
  tags?: (string | null)[];
  /** Only published models. */
  onlyPublished?: boolean;
  /** Include archived models too (they are hidden by default). */
  includeArchived?: boolean;
  /** At most this many rows (0 returns nothing; undefined means no limit). */
  maxResults?: number;
  /**
   * Metadata conditions, one per key, all ANDed. A scalar value matches the stored string
   * exactly (`String(v)`, so `true` matches `"true"` and `0.5` matches `"0.5"`); a list uses the
   * tag grammar on that key's value, where `null` means "the key is not set".
   */
  metadata?: Record<string, MetadataFilterValue>;
  /** Cursor: only rows strictly after this `(lastUpdate, id)` in the result order. */
  after?: { lastUpdate: string; id: string };
}

/** A compiled statement: SQL text with `?` placeholders and the values to bind. */
export interface CompiledQuery {
  /** The SQL text. */
  sql: string;
  /** The positional arguments, in order. */
  args: (string | number)[];
}

/**
 * One bucket of a tag filter.
 *
 * - `in`: the model has at least one of `values` (OR). A `null` here means "or the model has no
 *   tags at all"; like the server, that alternative is ORed with the whole expression.
 * - `all`: the model has every one of `values` (AND).
 * - `nin`: the model has none of `values`. A `null` here means "the model has some tag".
 */
export type TagTerm = { kind: "in" | "all" | "nin"; values: (string | null)[] };

/** A parsed tag filter: its buckets joined with the global operator `op`. No terms = no filter. */
export type TagExpr = { op: "and" | "or"; terms: TagTerm[] };

const OP_PREFIX = "__$";
const CONTEXT_OPS: Record<string, "and" | "or"> = {
  "__$and": "and",
  "__$all": "and",
  "__$or": "or",
  "__$any": "or",
};

/**
 * Parses a list in the grammar; strings may be operators or `-x`, other scalars are literal
 * values (so a metadata number `-1` is the value "-1", not an exclusion of "1").
 */
function parseTerms(
  terms: readonly unknown[],
  field: string,
): TagExpr {
  let global: "and" | "or" | undefined;
  let context: "and" | "or" = "or";
  let negateNext = false;
  const buckets = new Map<TagTerm["kind"], TagTerm>();
  const add = (kind: TagTerm["kind"], value: string | null) => {
    let bucket = buckets.get(kind);
    if (!bucket) {
      bucket = { kind, values: [] };
      buckets.set(kind, bucket);
    }
    if (!bucket.values.includes(value)) bucket.values.push(value);
  };

  terms.forEach((raw, i) => {
    const at = `${field}[${i}]`;
    if (typeof raw === "string" && raw.startsWith(OP_PREFIX)) {
      if (raw === "__$nop") {
        if (negateNext) {
          throw new InvalidArgumentError(at, raw, "a value is expected after __$not");
        }
        global ??= "and";
        context = "or";
        return;
      }
      if (negateNext) {
        throw new InvalidArgumentError(at, raw, "a value is expected after __$not");
      }
      if (raw === "__$not") {
        negateNext = true;
        return;
      }
      const op = CONTEXT_OPS[raw];
      if (op === undefined) {
        throw new InvalidArgumentError(
          at,
          raw,
          "unsupported operator, expected one of __$and, __$all, __$or, __$any, __$not, __$nop",
        );
      }
      context = op;
      global ??= op;
      return;
    }
    global ??= "and";
    let value: string | null;
    let negated = negateNext;
    negateNext = false;
    if (raw === null) {
      value = null;
    } else if (typeof raw === "string") {
      value = raw;
      if (!negated && raw.startsWith("-")) {
        value = raw.slice(1);
        negated = true;
        if (value === "") {
          throw new InvalidArgumentError(at, raw, "a value is expected after the - prefix");
        }
      }
    } else if (typeof raw === "number" || typeof raw === "boolean") {
      value = String(raw);
    } else {
      throw new InvalidArgumentError(at, raw, "must be a string or null");
    }
    if (negated) add("nin", value);
    else if (value === null) add("in", null); // "or no value at all", whatever the context
    else add(context === "and" ? "all" : "in", value);
  });
  if (negateNext) {
    throw new InvalidArgumentError(
      `${field}[${terms.length - 1}]`,
      "__$not",
      "a value is expected after __$not",
    );
  }
  return { op: global ?? "and", terms: [...buckets.values()] };
}

/**
 * Parses ClearML's tag grammar into a normalized boolean expression (for tests and docs).
 *
 * Terms are read left to right. `__$and`/`__$all` and `__$or`/`__$any` set the context for the
 * values that follow (OR at the start); `__$not` negates only the next value; `__$nop` resets the
 * context to OR. `-x` is `__$not x`, anywhere in the list (the server honours it only before the
 * first operator; `__$not -x` still excludes the literal "-x"). The global operator is the first
 * context operator seen, or AND if anything else comes first. Values go to buckets by modifier,
 * not by group: OR-positive to `in`, AND-positive to `all`, negated to `nin`; the buckets are
 * joined with the global operator. `null` means "or no tags at all" (in the `in` bucket), or
 * "has some tag" when negated.
 *
 * @param terms the filter list
 * @param field the field name used in error messages
 * @returns the buckets and the global operator
 * @throws {InvalidArgumentError} for a non-string value, an unknown `__$` operator, a dangling
 * `__$not` or a bare `-`
 *
 * @example `(a OR b) AND c AND d`
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTagFilter } from "./query.ts";
 * const e = parseTagFilter(["a", "b", "__$and", "c", "d"]);
 * assert.deepEqual(e, {
 *   op: "and",
 *   terms: [{ kind: "in", values: ["a", "b"] }, { kind: "all", values: ["c", "d"] }],
 * });
 * ```
 */
export function parseTagFilter(terms: (string | null)[], field = "tags"): TagExpr {
  if (!Array.isArray(terms)) {
    throw new InvalidArgumentError(field, terms, "must be an array of strings or null");
  }
  terms.forEach((t, i) => {
    if (t !== null && typeof t !== "string") {
      throw new InvalidArgumentError(`${field}[${i}]`, t, "must be a string or null");
    }
  });
  return parseTerms(terms, field);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const FILTER_KEYS = new Set([
  "projectName",
  "modelName",
  "partialName",
  "tags",
  "onlyPublished",
  "includeArchived",
  "maxResults",
  "metadata",
  "after",
]);

/**
 * Checks an untrusted query filter and returns a clean copy (undefined fields dropped).
 *
 * @param f the filter, e.g. parsed from JSON; `undefined` or `null` is the empty filter
 * @returns the validated filter
 * @throws {InvalidArgumentError} naming the bad field: an unknown key, a non-string tag or name,
 * a `maxResults` that is not a non-negative integer, an empty metadata key, a bad cursor...
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateQueryFilter } from "./query.ts";
 * assert.throws(() => validateQueryFilter({ maxResults: -1 }), {
 *   message: "Invalid maxResults -1: must be a non-negative integer",
 * });
 * ```
 */
export function validateQueryFilter(f: unknown): QueryFilter {
  if (f === undefined || f === null) return {};
  if (!isPlainObject(f)) throw new InvalidArgumentError("filter", f, "must be an object");
  for (const key of Object.keys(f)) {
    if (!FILTER_KEYS.has(key)) {
      throw new InvalidArgumentError(
        key,
        f[key],
        `is not a query filter field (expected one of ${[...FILTER_KEYS].join(", ")})`,
      );
    }
  }
  const out: QueryFilter = {};
  for (const key of ["projectName", "modelName"] as const) {
    const v = f[key];
    if (v === undefined) continue;
    if (typeof v !== "string") throw new InvalidArgumentError(key, v, "must be a string");
    out[key] = v;
  }
  for (const key of ["onlyPublished", "includeArchived", "partialName"] as const) {
    const v = f[key];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw new InvalidArgumentError(key, v, "must be a boolean");
    out[key] = v;
  }
  if (f.maxResults !== undefined) {
    const v = f.maxResults;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new InvalidArgumentError("maxResults", v, "must be a non-negative integer");
    }
    out.maxResults = v;
  }
  if (f.tags !== undefined) {
    const tags = f.tags;
    if (!Array.isArray(tags)) {
      throw new InvalidArgumentError("tags", tags, "must be an array of strings or null");
    }
    parseTagFilter(tags, "tags"); // checks types and grammar
    out.tags = [...tags];
  }
  if (f.metadata !== undefined) {
    const md = f.metadata;
    if (!isPlainObject(md)) {
      throw new InvalidArgumentError("metadata", md, "must be an object of key to value");
    }
    const clean: Record<string, MetadataFilterValue> = {};
    for (const [k, v] of Object.entries(md)) {
      const field = `metadata.${k}`;
      if (k === "") throw new InvalidArgumentError("metadata", k, "a key must be non-empty");
      if (typeof v === "string" || typeof v === "boolean") clean[k] = v;
      else if (typeof v === "number") {
        if (!Number.isFinite(v)) throw new InvalidArgumentError(field, v, "must be finite");
        clean[k] = v;
      } else if (Array.isArray(v)) {
        v.forEach((x, i) => {
          const ok = x === null || typeof x === "string" || typeof x === "boolean" ||
            (typeof x === "number" && Number.isFinite(x));
          if (!ok) {
            throw new InvalidArgumentError(
              `${field}[${i}]`,
              x,
              "must be a string, a finite number, a boolean or null",
            );
          }
        });
        parseTerms(v, field);
        clean[k] = [...v];
      } else {
        throw new InvalidArgumentError(
          field,
          v,
          "must be a string, a finite number, a boolean, or a list of them (use [null] for " +
            '"key not set")',
        );
      }
    }
    out.metadata = clean;
  }
  if (f.after !== undefined) {
    const a = f.after;
    if (
      !isPlainObject(a) || typeof a.lastUpdate !== "string" || typeof a.id !== "string"
    ) {
      throw new InvalidArgumentError(
        "after",
        a,
        "must be an object { lastUpdate: string, id: string }",
      );
    }
    out.after = { lastUpdate: a.lastUpdate, id: a.id };
  }
  return out;
}

/**
 * How to test one value bucket against one model, for tags or one metadata key. "Has one of
 * these values" is `m.id IN (SELECT model_id ... WHERE tag = ? AND present = 1)`: the same
 * meaning as a correlated EXISTS, but SQLite reads it from the partial indexes `model_tags_tag`
 * and `model_metadata_kv` (once per statement), and drives the whole query from the smallest
 * one when it is a top-level condition. "Has any value" is a correlated EXISTS on the primary key.
 */
interface ValueSource {
  /** A condition true when the model has one of the bound values (n placeholders). */
  anyOf(n: number): string;
  /** A condition true when the model has any value at all. */
  some: string;
  /** Args bound before the values in both conditions. */
  prefix: (string | number)[];
}

/**
 * The two plans a filter compiles to. `index` (the default) tests values with
 * `m.id IN (SELECT ...)`, which SQLite reads from the tag/metadata indexes: best when a filter
 * matches few models. `scan` tests them with correlated `EXISTS` on the primary keys, so SQLite
 * walks `models` newest-first and stops at the LIMIT: best for a page of a common filter.
 */
export type QueryStrategy = "index" | "scan";

function tagSource(strategy: QueryStrategy): ValueSource {
  return {
    anyOf: (n) =>
      strategy === "scan"
        ? `EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.tag ${
          eqOrIn(n)
        } AND t.present = 1)`
        : `m.id IN (SELECT t.model_id FROM model_tags t WHERE t.tag ${
          eqOrIn(n)
        } AND t.present = 1)`,
    some: "EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.present = 1)",
    prefix: [],
  };
}

function metadataSource(key: string, strategy: QueryStrategy = "index"): ValueSource {
  return {
    anyOf: (n) =>
      strategy === "scan"
        ? "EXISTS (SELECT 1 FROM model_metadata d WHERE d.model_id = m.id AND d.key = ? AND " +
          `d.value ${eqOrIn(n)} AND d.present = 1)`
        : "m.id IN (SELECT d.model_id FROM model_metadata d WHERE d.key = ? AND d.value " +
          `${eqOrIn(n)} AND d.present = 1)`,
    some: "EXISTS (SELECT 1 FROM model_metadata d WHERE d.model_id = m.id AND d.key = ? " +
      "AND d.present = 1)",
    prefix: [key],
  };
}

/**
 * Count queries, one per AND-ed positive condition of the filter (a tag bucket or a metadata
 * value), each capped at `cap` rows. The smallest count estimates how many models can match,
 * which picks the {@link QueryStrategy}. Empty when no positive condition is AND-ed.
 */
export function selectivityProbes(f: QueryFilter, cap: number): Probe[] {
  const filter = validateQueryFilter(f);
  const out: Probe[] = [];
  const probe = (table: string, cond: string, args: (string | number)[], driver: Driver) =>
    out.push({
      sql:
        `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${cond} AND present = 1 LIMIT ?) AS probe`,
      args: [...args, cap],
      driver,
    });
  if (filter.tags && filter.tags.length > 0) {
    const expr = parseTerms(filter.tags, "tags");
    if (expr.op === "and") {
      expr.terms.forEach((term, i) => {
        const values = term.values.filter((v): v is string => v !== null);
        if (values.length !== term.values.length || values.length === 0) return;
        if (term.kind === "in") {
          probe("model_tags", `tag ${eqOrIn(values.length)}`, values, { source: "tags", term: i });
        } else if (term.kind === "all") {
          for (const v of values) {
            probe("model_tags", "tag = ?", [v], { source: "tags", term: i, value: v });
          }
        }
      });
    }
  }
  for (const [key, value] of Object.entries(filter.metadata ?? {})) {
    if (out.length >= MAX_PROBES) break;
    if (!Array.isArray(value)) {
      probe("model_metadata", "key = ? AND value = ?", [key, String(value)], {
        source: `metadata:${key}`,
        term: 0,
      });
    }
  }
  return out.slice(0, MAX_PROBES);
}

/**
 * The condition that drives an `index` plan: the rarest positive condition, found by
 * {@link selectivityProbes}. It is compiled as an index lookup; every other condition as a
 * correlated check, so SQLite starts from it.
 */
export interface Driver {
  /** `tags`, or `metadata:<key>`. */
  source: string;
  /** The bucket's position in the parsed expression (0 for a plain metadata value). */
  term: number;
  /** For an `all` bucket: which of its values. */
  value?: string;
}

/** A selectivity probe: a capped count query and the condition it measures. */
export interface Probe extends CompiledQuery {
  /** The condition measured. */
  driver: Driver;
}

/**
 * At most this many values bound by one query (tags, metadata keys and values, paging). Under
 * SQLite's limit of 32766 bound parameters, with room to spare.
 */
export const MAX_QUERY_ARGS = 20_000;

/** At most this many selectivity probes run for one query (the rest only cost time). */
const MAX_PROBES = 32;

/**
 * Joins conditions with `op` as a balanced tree of parentheses: SQLite limits an expression
 * tree's depth to 1000, and a flat `a AND b AND …` of 1,000 terms is that deep.
 */
function balanced(parts: readonly string[], op: "AND" | "OR"): string {
  if (parts.length === 1) return parts[0]!;
  if (parts.length <= 16) return `(${parts.join(` ${op} `)})`;
  const size = Math.ceil(parts.length / 16);
  const groups: string[] = [];
  for (let i = 0; i < parts.length; i += size) groups.push(balanced(parts.slice(i, i + size), op));
  return balanced(groups, op);
}

function eqOrIn(n: number): string {
  return n === 1 ? "= ?" : `IN (${placeholders(n)})`;
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/** Compiles a parsed expression to a condition, or undefined when it filters nothing. */
function compileExpr(
  expr: TagExpr,
  srcFor: (term: number, value?: string) => ValueSource,
  args: (string | number)[],
): string | undefined {
  const parts: string[] = [];
  let orEmpty = false;
  const src = srcFor(-1);
  expr.terms.forEach((term, i) => {
    const values = term.values.filter((v): v is string => v !== null);
    const hasNull = values.length !== term.values.length;
    if (term.kind === "in") {
      if (hasNull) orEmpty = true;
      if (values.length > 0) {
        const s = srcFor(i);
        parts.push(s.anyOf(values.length));
        args.push(...s.prefix, ...values);
      }
    } else if (term.kind === "all") {
      // One lookup per value, ANDed (n terms for n tags).
      const all = values.map((v) => {
        const s = srcFor(i, v);
        args.push(...s.prefix, v);
        return s.anyOf(1);
      });
      if (hasNull) {
        all.push(`NOT ${src.some}`);
        args.push(...src.prefix);
      }
      if (all.length > 0) parts.push(balanced(all, "AND"));
    } else {
      const none: string[] = [];
      if (values.length > 0) {
        none.push(`NOT ${src.anyOf(values.length)}`);
        args.push(...src.prefix, ...values);
      }
      if (hasNull) {
        none.push(src.some);
        args.push(...src.prefix);
      }
      if (none.length > 0) parts.push(none.length === 1 ? none[0]! : `(${none.join(" AND ")})`);
    }
  });
  let cond = parts.length === 0 ? undefined : balanced(parts, expr.op === "and" ? "AND" : "OR");
  if (orEmpty) {
    const empty = `NOT ${src.some}`;
    if (cond === undefined) cond = empty; // [null] alone: only models with no value
    else cond = `(${cond} OR ${empty})`;
    args.push(...src.prefix);
  }
  return cond;
}

/**
 * The condition keeping a model `m` that no server said left this device's scope (a mark in
 * `sync_gone`, set by the sync worker from a pull's `gone`).
 */
export const IN_SCOPE = "NOT EXISTS (SELECT 1 FROM sync_gone g WHERE g.model_id = m.id)";

/**
 * Compiles a filter into `SELECT <columns> FROM models m WHERE ... ORDER BY m.last_update DESC,
 * m.id ASC [LIMIT ?]`. Only visible models (`created = 1 AND removed = 0`, and not out of this
 * device's scope: {@link IN_SCOPE}) are returned; archived ones only with `includeArchived`.
 *
 * @param f the filter; it is validated first
 * @param opts `columns`: the select list, default `m.*` (trusted SQL, never user input)
 * @returns the SQL text and its arguments
 * @throws {InvalidArgumentError} when the filter is invalid
 *
 * @example Cursor paging
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileModelQuery } from "./query.ts";
 * const first = compileModelQuery({ maxResults: 100 }, { columns: "m.id, m.last_update" });
 * const next = compileModelQuery({
 *   maxResults: 100,
 *   after: { lastUpdate: "2025-01-01T00:00:00.000Z", id: "abc" },
 * });
 * assert.match(first.sql, /LIMIT/);
 * assert.ok(next.args.includes("abc"));
 * ```
 */
export function compileModelQuery(
  f: QueryFilter,
  opts?: {
    columns?: string;
    strategy?: QueryStrategy;
    driver?: Driver;
    order?: ModelOrder;
    offset?: number;
    count?: boolean;
    projects?: string[];
  },
): CompiledQuery {
  const filter = validateQueryFilter(f);
  const strategy = opts?.strategy ?? "index";
  const driver = strategy === "index" ? opts?.driver : undefined;
  /** The value source of one condition: an index lookup, or a correlated check. */
  const pick =
    (source: string, make: (s: QueryStrategy) => ValueSource) =>
    (term: number, value?: string): ValueSource => {
      if (!driver) return make(strategy);
      const drives = driver.source === source && driver.term === term &&
        (driver.value === undefined || driver.value === value);
      return make(drives ? "index" : "scan");
    };
  const columns = opts?.columns ?? "m.*";
  if (typeof columns !== "string" || columns.trim() === "") {
    throw new InvalidArgumentError("columns", columns, "must be a non-empty SQL select list");
  }
  // SQLite tests the terms in this order: the row's own columns, then metadata (a key and a
  // value: usually the most selective), then tags, and the scope check (almost always true)
  // last, so each row walked stops at its first failing test.
  const where = ["m.created = 1", "m.removed = 0"];
  const args: (string | number)[] = [];
  if (filter.projectName) {
    where.push("m.project = ?");
    args.push(filter.projectName);
  }
  if (filter.modelName && filter.partialName) {
    where.push("m.name LIKE ? ESCAPE '\\'");
    args.push(`%${filter.modelName.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  } else if (filter.modelName) {
    where.push("m.name = ?");
    args.push(filter.modelName);
  }
  if (opts?.projects) {
    // A project-limited caller's scope (the web UI's), on top of the filter.
    where.push(opts.projects.length ? `m.project IN (${placeholders(opts.projects.length)})` : "0");
    args.push(...opts.projects);
  }
  if (!filter.includeArchived) where.push("m.archived = 0");
  if (filter.onlyPublished) where.push("m.published = 1");
  for (const [key, value] of Object.entries(filter.metadata ?? {})) {
    const srcFor = pick(`metadata:${key}`, (st) => metadataSource(key, st));
    if (Array.isArray(value)) {
      const cond = compileExpr(parseTerms(value, `metadata.${key}`), srcFor, args);
      if (cond !== undefined) where.push(cond);
    } else {
      where.push(srcFor(0).anyOf(1));
      args.push(key, String(value));
    }
  }
  if (filter.tags && filter.tags.length > 0) {
    const cond = compileExpr(parseTerms(filter.tags, "tags"), pick("tags", tagSource), args);
    if (cond !== undefined) where.push(cond);
  }
  if (filter.after) {
    where.push("(m.last_update < ? OR (m.last_update = ? AND m.id > ?))");
    args.push(filter.after.lastUpdate, filter.after.lastUpdate, filter.after.id);
  }
  where.push(IN_SCOPE);
  if (args.length > MAX_QUERY_ARGS) {
    throw new InvalidArgumentError(
      filter.metadata && Object.keys(filter.metadata).length > 0 ? "metadata" : "tags",
      `${args.length} values`,
      `a filter may bind at most ${MAX_QUERY_ARGS} values (tags, metadata keys and values together)`,
    );
  }
  if (opts?.count) {
    return { sql: `SELECT count(*) AS n FROM models m WHERE ${balanced(where, "AND")}`, args };
  }
  const order = opts?.order ? orderClause(opts.order, filter) : undefined;
  let sql = `SELECT ${columns} FROM models m WHERE ${balanced(where, "AND")} ` +
    (order ? order.sql : "ORDER BY m.last_update DESC, m.id ASC");
  if (order) args.push(...order.args);
  const offset = opts?.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError("offset", offset, "must be a non-negative integer");
  }
  if (filter.maxResults !== undefined || offset > 0) {
    sql += " LIMIT ?";
    args.push(filter.maxResults ?? -1);
  }
  if (offset > 0) {
    sql += " OFFSET ?";
    args.push(offset);
  }
  return { sql, args };
}

// ---------------------------------------------------------------------------------------------
// Sorting (the web UI's models table)

/** What a list of models can be sorted by. */
export type ModelSortKey =
  | { by: "lastUpdate" | "created" | "name" | "iteration" }
  | { by: "metric"; title: string; series: string; stat: "last" | "min" | "max" }
  | { by: "metadata"; key: string };

/** A sort order: the key, descending or not. Models without a value sort last; ties by id. */
export type ModelOrder = ModelSortKey & { desc: boolean };

const SORT_COLUMNS = {
  lastUpdate: "m.last_update",
  created: "m.created_at",
  name: "m.name",
  iteration: "m.iteration",
} as const;

/** The ORDER BY clause of an order (values bound, never spliced). */
function orderClause(o: ModelOrder, filter: QueryFilter): { sql: string; args: string[] } {
  if (filter.after) {
    throw new InvalidArgumentError("after", filter.after, "works only with the default order");
  }
  const dir = o.desc ? "DESC" : "ASC";
  let expr: string;
  const args: string[] = [];
  switch (o.by) {
    case "lastUpdate":
    case "created":
    case "name":
    case "iteration":
      expr = SORT_COLUMNS[o.by];
      break;
    case "metric": {
      if (o.stat !== "last" && o.stat !== "min" && o.stat !== "max") {
        throw new InvalidArgumentError("sort.stat", o.stat, "must be last, min or max");
      }
      // `last` holds JSON text: a number, or a quoted "NaN"/"Infinity" that sorts as no value.
      const col = o.stat === "last"
        ? "CASE WHEN substr(s.last, 1, 1) = '\"' THEN NULL ELSE CAST(s.last AS REAL) END"
        : `s.${o.stat}`;
      expr =
        `(SELECT ${col} FROM scalar_series s WHERE s.model_id = m.id AND s.title = ? AND s.series = ?)`;
      args.push(o.title, o.series);
      break;
    }
    case "metadata":
      // Numbers sort as numbers (before any text), text as text.
      expr = "(SELECT CASE WHEN d.type IN ('int', 'float') THEN CAST(d.value AS REAL) " +
        "ELSE d.value END FROM model_metadata d WHERE d.model_id = m.id AND d.key = ? AND " +
        "d.present = 1)";
      args.push(o.key);
      break;
    default:
      throw new InvalidArgumentError("sort", (o as { by: unknown }).by, "is not a sort key");
  }
  // The default order as the index `models_order` reads it; NOT NULL columns need no NULLS.
  if (o.by === "lastUpdate" && o.desc) {
    return { sql: "ORDER BY m.last_update DESC, m.id ASC", args };
  }
  const nulls = o.by === "metric" || o.by === "metadata" || o.by === "iteration"
    ? " NULLS LAST"
    : "";
  return { sql: `ORDER BY ${expr} ${dir}${nulls}, m.id ASC`, args };
}
