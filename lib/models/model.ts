/**
 * `Model`: a handle on any model in the store, plus `Model.get`, `Model.queryModels` and
 * `Model.remove`.
 *
 * @module
 */
import { getDefaultStore } from "../store/default.ts";
import type { Store } from "../store/store.ts";
import { BaseModel, loaded, markRemoved, storeOf } from "./base.ts";
import { loadSnapshot, modelNotFound } from "./read_back.ts";
import { type Driver, type QueryFilter, type QueryStrategy, selectivityProbes } from "../query.ts";
import {
  countModelRows,
  hashUsedElsewhere,
  inputTaskIds,
  modelIdsByPrefix,
  queryModelViews,
  runCount,
  uriOnlyFromOtherDevices,
  uriUsedElsewhere,
} from "../projections/read.ts";
import { InvalidArgumentError, ModelNotFoundError, ModelogError } from "../errors.ts";
import type { ModelRow } from "../projections/project.ts";
import { fileUriToPath } from "../weights/remote.ts";
import { needString, noNulls, type OrNull } from "./util.ts";

/** Options of {@link Model.queryModels}. */
export interface QueryModelsOptions extends Omit<QueryFilter, "after"> {
  /** The store to search (default: the default store). */
  store?: Store;
  /** Cursor: rows strictly after this model in the order (for paging). */
  after?: { lastUpdate: string; id: string };
}

/** Options of {@link Model.remove}. */
export interface RemoveModelOptions {
  /** Delete the weights too, when no other model references them (default true). */
  deleteWeightsFile?: boolean;
  /** Remove even when a task uses the model as input (default false). */
  force?: boolean;
  /** Throw on failure instead of returning false (default true). */
  raiseOnErrors?: boolean;
  /** The store, when `model` is an id (default: the default store). */
  store?: Store;
}

/**
 * A model in the store. Get one with `await Model.get(id)`; find many with
 * `await Model.queryModels({...})`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Model, openStore, OutputModel, Task } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "demo", taskName: "train", store });
 * const out = new OutputModel({ task, name: "net" });
 * await out.addTags("demo");
 * const found = await Model.queryModels({ projectName: "demo", tags: ["demo"], store });
 * assert.deepEqual(found.map((m) => m.name), ["net"]);
 * assert.equal((await Model.get(out.id, { store })).tags[0], "demo");
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export class Model extends BaseModel {
  /** @internal */
  constructor(id: string, store?: Store) {
    super(id, store);
  }

  /** Loads a model by id. Throws `MODEL_NOT_FOUND` when there is none. */
  static async get(id: string, options: OrNull<{ store?: Store }> = {}): Promise<Model> {
    needString("id", id);
    const store = noNulls(options).store ?? await getDefaultStore();
    await store.flush();
    const full = await resolveModelId(store, id);
    const snap = await loadSnapshot(store, full);
    if (!snap) throw await modelNotFound(store, full, id);
    return loaded(new Model(full, store), snap);
  }

  /**
   * Finds models by project, name, tags (ClearML's grammar, `-tag` excludes), metadata,
   * published and archived state; newest `lastUpdate` first, then id.
   */
  static async queryModels(options: OrNull<QueryModelsOptions> = {}): Promise<Model[]> {
    const { store: given, ...filter } = noNulls(options) as QueryModelsOptions;
    const store = given ?? await getDefaultStore();
    await store.flush();
    const plan = await choosePlan(store, filter);
    const views = await queryModelViews(store, filter, plan);
    return views.map((v) => loaded(new Model(v.row.id, store), v));
  }

  /** The cursor of this model for paging (`after` in `queryModels`). */
  get cursor(): { lastUpdate: string; id: string } {
    return { lastUpdate: this._row.last_update, id: this._id };
  }

  /**
   * Removes a model. Without `force` a model used as input by a task is refused
   * (`MODEL_IN_USE`). `deleteWeightsFile: false` never deletes weights; `true` deletes the blob
   * (and a `file://` weights file) only when no other model references it.
   */
  static async remove(
    model: BaseModel | string,
    opts: OrNull<RemoveModelOptions> = {},
  ): Promise<boolean> {
    const options = noNulls(opts) as RemoveModelOptions;
    const raise = options.raiseOnErrors ?? true;
    try {
      const id = modelIdOf("model", model);
      const store = model instanceof BaseModel
        ? await storeOf(model)
        : options.store ?? await getDefaultStore();
      const snap = await loadSnapshot(store, id);
      if (!snap) throw new ModelNotFoundError(id);
      if (!options.force) {
        const users = await inputTaskIds(store, id);
        if (users.length) {
          throw new ModelogError(
            "MODEL_IN_USE",
            `Model ${JSON.stringify(id)} is an input of task(s) ${
              users.join(", ")
            }: pass force: true to remove it`,
          );
        }
      }
      const deleteWeights = options.deleteWeightsFile ?? true;
      await store.append([{
        stream: `model:${id}`,
        type: "model.removed",
        data: { deleteWeightsFile: deleteWeights, force: options.force ?? false },
      }], { requireModel: id });
      if (model instanceof BaseModel) markRemoved(model);
      if (deleteWeights) await deleteUnreferenced(store, snap.row);
      return true;
    } catch (e) {
      if (raise) throw e;
      return false;
    }
  }
}

/** Recent selectivity counts per store (plan choice only: a stale count never changes results). */
const probeCache = new WeakMap<Store, Map<string, { n: number; t: number }>>();
const PROBE_TTL_MS = 10_000;

/**
 * Picks the plan for a query. Counts on the covering partial indexes (cached for a few
 * seconds; a stale count only affects speed, never results) give each positive condition's
 * share of the models. With a LIMIT, walking models newest-first (`scan`) reads about
 * `limit / share` rows; starting from the rarest condition's index reads its M rows, each
 * costing about four walked rows (lookup and sort). The cheaper wins; without a LIMIT the
 * rarest condition drives.
 */
export async function choosePlan(
  store: Store,
  filter: QueryFilter,
): Promise<{ strategy: QueryStrategy; driver?: Driver }> {
  if (filter.maxResults === 0) return { strategy: "index" };
  let cache = probeCache.get(store);
  if (!cache) probeCache.set(store, cache = new Map());
  const now = Date.now();
  let total = cache.get("models");
  if (!total || now - total.t > PROBE_TTL_MS) {
    total = {
      n: await countModelRows(store),
      t: now,
    };
    cache.set("models", total);
  }
  const n = total.n;
  if (n === 0) return { strategy: "index" };
  const probes = selectivityProbes(filter, n);
  if (probes.length === 0) return { strategy: filter.maxResults === undefined ? "index" : "scan" };
  let best: { count: number; driver: Driver } | undefined;
  let share = 1;
  for (const p of probes) {
    const key = JSON.stringify([p.sql, p.args.slice(0, -1)]);
    let hit = cache.get(key);
    if (!hit || now - hit.t > PROBE_TTL_MS) {
      hit = { n: await runCount(store, p), t: now };
      cache.set(key, hit);
    }
    if (!best || hit.n < best.count) best = { count: hit.n, driver: p.driver };
    share *= Math.max(hit.n, 1) / n;
  }
  if (filter.maxResults !== undefined && filter.maxResults / share < 4 * best!.count) {
    return { strategy: "scan" };
  }
  return { strategy: "index", driver: best!.driver };
}

/** Deletes a removed model's blob and local weights file when no live model references them. */
async function deleteUnreferenced(store: Store, row: ModelRow): Promise<void> {
  if (row.hash) {
    if (!(await hashUsedElsewhere(store, row.hash, row.id))) await store.blobs.delete(row.hash);
  }
  if (row.uri.startsWith("file://")) {
    // A path set on another device names a file on that machine: never delete it here.
    if (await uriOnlyFromOtherDevices(store, row.id, row.uri)) return;
    if (!(await uriUsedElsewhere(store, row.uri, row.id))) {
      await Deno.remove(fileUriToPath(row.uri)).catch(() => {});
    }
  }
}

/** Throws when a value is not a model id string or model. */
export function modelIdOf(field: string, m: unknown): string {
  if (typeof m === "string") return needString(field, m);
  if (m instanceof BaseModel) return m.id;
  throw new InvalidArgumentError(field, m, "must be a model or a model id");
}

/** The shortest id prefix a lookup accepts. */
export const MIN_ID_PREFIX = 6;

/**
 * The full id of a model given its id or a unique prefix of at least six hex characters (as
 * the demo and the CLI print). An id that is a live model is returned as is; a prefix that
 * matches several models throws {@link AmbiguousIdError} (`INVALID_ARGUMENT`) listing them; no match returns `id` unchanged
 * (the caller's lookup then says `MODEL_NOT_FOUND`).
 */
export async function resolveModelId(store: Store, id: string): Promise<string> {
  if (!/^[0-9a-f]+$/i.test(id) || id.length < MIN_ID_PREFIX || id.length >= 32) return id;
  const prefix = id.toLowerCase();
  const ids = await modelIdsByPrefix(store, prefix, 11);
  if (ids.length === 1) return ids[0]!;
  if (ids.length > 1) {
    throw new AmbiguousIdError(id, ids.slice(0, 10), ids.length > 10);
  }
  return id;
}

/** A model id prefix that matches several models; `matches` lists them (at most ten). */
export class AmbiguousIdError extends InvalidArgumentError {
  /** The matching model ids (at most ten). */
  readonly matches: string[];
  /**
   * Creates the error.
   *
   * @param prefix the prefix given
   * @param matches the matching ids (at most ten)
   * @param more whether more than ten matched
   */
  constructor(prefix: string, matches: string[], more: boolean) {
    super(
      "id",
      prefix,
      `is an ambiguous id prefix: it matches ${more ? "more than 10" : matches.length} models (${
        matches.join(", ")
      }); give more characters`,
    );
    this.name = "AmbiguousIdError";
    this.matches = matches;
  }
}
