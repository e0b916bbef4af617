/**
 * Side-by-side comparison of models: fields, tags, metadata, labels, single values and scalar
 * summaries, each row marked when the models disagree. The web UI's `/compare` page and the
 * CLI's `models compare` both render this one structure.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { BaseModel } from "./base.ts";

/** One compared row: a value per model, in the order the models were given. */
export interface ComparedRow<T> {
  /** What is compared (a field name, tag, metadata key, label, value name or `title/series`). */
  key: string;
  /** One value per model; `null` where the model has none. */
  values: (T | null)[];
  /** Whether the models disagree on this row. */
  differs: boolean;
}

/** The comparison of two or more models. */
export interface ModelComparison {
  /** The compared models' ids, in the order given. */
  ids: string[];
  /** Model fields (name, project, framework, published, archived, iteration, uri, hash, ...). */
  fields: ComparedRow<string | number | boolean>[];
  /** Tags: `true` where the model has the tag. */
  tags: ComparedRow<boolean>[];
  /** Metadata values as stored (text), by key. */
  metadata: ComparedRow<string>[];
  /** Label enumeration values, by label. */
  labels: ComparedRow<number>[];
  /** Reported single values, by name. */
  singleValues: ComparedRow<number>[];
  /** Last reported scalar values, by `title/series`. */
  scalars: ComparedRow<number>[];
}

/** The most models one comparison takes. */
export const MAX_COMPARED = 10;

const FIELDS: { key: string; get(m: BaseModel): string | number | boolean | undefined }[] = [
  { key: "name", get: (m) => m.name },
  { key: "project", get: (m) => m.project },
  { key: "framework", get: (m) => m.framework },
  { key: "published", get: (m) => m.published },
  { key: "archived", get: (m) => m.archived },
  { key: "iteration", get: (m) => m.iteration },
  { key: "task", get: (m) => m.task },
  { key: "parent", get: (m) => m.parent },
  { key: "uri", get: (m) => m.url },
  { key: "hash", get: (m) => m.hash },
  { key: "size", get: (m) => m.size },
  { key: "comment", get: (m) => m.comment },
  { key: "createdAt", get: (m) => m.createdAt.toISOString() },
  { key: "lastUpdate", get: (m) => m.lastUpdate.toISOString() },
];

function rows<T>(
  keys: Iterable<string>,
  perModel: ((key: string) => T | null)[],
): ComparedRow<T>[] {
  const out: ComparedRow<T>[] = [];
  for (const key of [...new Set(keys)].sort()) {
    const values = perModel.map((f) => f(key));
    const first = JSON.stringify(values[0] ?? null);
    const differs = values.some((v) => JSON.stringify(v ?? null) !== first);
    out.push({ key, values, differs });
  }
  return out;
}

function orNull<T>(v: T | undefined | ""): T | null {
  return v === undefined || v === "" ? null : v;
}

/**
 * Compares two or more loaded models.
 *
 * @param models The models, in the order their columns should appear (2 to {@link MAX_COMPARED}).
 * @returns One row per field, tag, metadata key, label, single value and scalar series.
 * @throws {InvalidArgumentError} Fewer than 2 or more than {@link MAX_COMPARED} models, or the
 * same model twice.
 *
 * @example Compare two models
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore, OutputModel, Task } from "../../mod.ts";
 * import { compareModels } from "./compare.ts";
 *
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "p", taskName: "t", store });
 * const a = new OutputModel({ task, name: "a", tags: ["x"] });
 * const b = new OutputModel({ task, name: "b", tags: ["x", "y"] });
 * await a.setMetadata("lr", 0.1);
 * await b.setMetadata("lr", 0.1);
 * const c = await compareModels([a, b]);
 * assert.equal(c.fields.find((r) => r.key === "name")?.differs, true);
 * assert.deepEqual(c.tags.map((r) => [r.key, r.differs]), [["x", false], ["y", true]]);
 * assert.equal(c.metadata[0]?.differs, false);
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function compareModels(models: BaseModel[]): Promise<ModelComparison> {
  if (!Array.isArray(models) || models.length < 2 || models.length > MAX_COMPARED) {
    throw new InvalidArgumentError(
      "models",
      Array.isArray(models) ? models.length : models,
      `must list 2 to ${MAX_COMPARED} models`,
    );
  }
  const ids = models.map((m) => m.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new InvalidArgumentError("models", twice, "names the same model twice");
  const singles = await Promise.all(models.map((m) => m.getReportedSingleValues()));
  const summaries = await Promise.all(models.map((m) => m.getScalarSummary()));
  const lastOf = summaries.map((list) =>
    new Map<string, number>(list.map((s) => [`${s.title}/${s.series}`, s.last]))
  );
  return {
    ids,
    fields: rows(
      FIELDS.map((f) => f.key),
      models.map((m) => (key: string) => {
        const f = FIELDS.find((x) => x.key === key)!;
        return orNull(f.get(m));
      }),
    ),
    tags: rows(models.flatMap((m) => m.tags), models.map((m) => (t) => m.tags.includes(t))),
    metadata: rows(
      models.flatMap((m) => Object.keys(m.getAllMetadata())),
      models.map((m) => (k) => m.getMetadata(k) ?? null),
    ),
    labels: rows(
      models.flatMap((m) => Object.keys(m.labels)),
      models.map((m) => (k) => Object.hasOwn(m.labels, k) ? m.labels[k]! : null),
    ),
    singleValues: rows(
      singles.flatMap((s) => Object.keys(s)),
      singles.map((s) => (k) => Object.hasOwn(s, k) ? s[k]! : null),
    ),
    scalars: rows(lastOf.flatMap((m) => [...m.keys()]), lastOf.map((m) => (k) => m.get(k) ?? null)),
  };
}
