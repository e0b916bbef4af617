/**
 * `InputModel`: an existing model used as a task's starting point — looked up by id or by
 * name/project/tags, imported from a URL, or an empty design-only model.
 *
 * @module
 */
import { getDefaultStore } from "../store/default.ts";
import type { Store } from "../store/store.ts";
import { newId } from "../clock.ts";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.ts";
import { loaded, snapshotOf } from "./base.ts";
import { loadSnapshot } from "./read_back.ts";
import { newestModelIdByUri } from "../projections/read.ts";
import { Model, resolveModelId } from "./model.ts";
import type { Task } from "../task.ts";
import { currentTask, isTask, linksOf } from "./task_link.ts";
import {
  designText,
  needLabels,
  needString,
  needTags,
  noNulls,
  optBool,
  optString,
  type OrNull,
  stem,
} from "./util.ts";
import { emptyModel } from "../projections/project.ts";
import { guessFramework } from "../weights/framework.ts";
import { fileUriToPath, pathToFileUri } from "../weights/remote.ts";
import { sha256File } from "../weights/blobs.ts";

/** In-flight imports per store and URL (see `importModel`). */
const importing = new WeakMap<Store, Map<string, Promise<void>>>();

/** Lookup of {@link InputModel.get}: by id, or by name/project/tags. */
export type InputModelLookup =
  | { modelId: string; store?: Store }
  | {
    name?: string;
    project?: string;
    tags?: string[];
    onlyPublished?: boolean;
    store?: Store;
  };

/** Options of {@link InputModel.importModel}. */
export interface ImportModelOptions {
  /** Where the weights are: `file://`, a local path, or `http(s)://`. */
  weightsUrl: string;
  /** The design as text. */
  configText?: string;
  /** The design as an object (stored as JSON). */
  configDict?: Record<string, unknown>;
  /** Labels `{ name: id }`. */
  labelEnumeration?: Record<string, number>;
  /** The model name. */
  name?: string;
  /** The project name. */
  project?: string;
  /** Tags. */
  tags?: string[];
  /** The comment. */
  comment?: string;
  /** The weights are a zip package. */
  isPackage?: boolean;
  /** Publish at once. */
  createAsPublished?: boolean;
  /** The framework (guessed from the file extension when absent). */
  framework?: string;
  /** The store (default: the default store). */
  store?: Store;
}

function normalizeUrl(url: string): string {
  needString("weightsUrl", url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    if (!/^(file|https?):\/\//i.test(url)) {
      throw new InvalidArgumentError(
        "weightsUrl",
        url,
        "must be a file://, http:// or https:// URL or a local path",
      );
    }
    return url.startsWith("file://") ? pathToFileUri(fileUriToPath(url)) : url;
  }
  return pathToFileUri(url);
}

/**
 * A model used as a task's input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputModel, openStore, Task } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "examples", taskName: "example task", store });
 * const m = await InputModel.importModel({
 *   weightsUrl: "https://example.com/models/model.pth",
 *   name: "Input Model with Network Design",
 *   labelEnumeration: { person: 1, car: 2 },
 *   store,
 * });
 * await task.connect(m);
 * assert.equal(m.framework, "PyTorch");
 * assert.equal(m.reused, false);
 * assert.equal(task.models.input[0], m);
 * assert.deepEqual(m.labels, { person: 1, car: 2 });
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export class InputModel extends Model {
  /** True when `importModel` found an existing model with the same weights URL. */
  reused = false;
  #empty = false;

  /**
   * ClearML's `InputModel(model_id=...)`: a lazy handle on an existing model, as
   * `new InputModel({ modelId })` (or `new InputModel(id)`). Nothing is read yet: async calls
   * (`connect`, `reload`, `getLocalCopy`, reports, edits) load it first; reading a field
   * before that throws a `MODEL_NOT_FOUND` error saying to `await model.reload()` (or use
   * `await InputModel.get({ modelId })`, which loads at once). A lookup by name, project or
   * tags needs a query, so it is refused here: use `await InputModel.get({ name, ... })`.
   */
  constructor(lookup: string | OrNull<{ modelId: string; store?: Store }>, store?: Store) {
    const l = typeof lookup === "string" ? { modelId: lookup } : noNulls(lookup);
    if (l === null || typeof l !== "object" || typeof l.modelId !== "string") {
      throw new InvalidArgumentError(
        "InputModel",
        lookup,
        "new InputModel({ modelId }) needs a model id; to find a model by name, project or " +
          "tags use await InputModel.get({ name, project, tags })",
      );
    }
    needString("modelId", l.modelId);
    super(l.modelId, l.store ?? store);
  }

  /**
   * Gets a model by id, or the newest (by last update) non-archived model matching name,
   * project and tags. Throws `MODEL_NOT_FOUND` when none matches.
   */
  static override async get(
    lookup: OrNull<InputModelLookup> | string,
    options: OrNull<{ store?: Store }> = {},
  ): Promise<InputModel> {
    const l: InputModelLookup = typeof lookup === "string"
      ? { modelId: lookup, ...noNulls(options) }
      : noNulls(lookup);
    if (l === null || typeof l !== "object") {
      throw new InvalidArgumentError("lookup", l, "must be { modelId } or { name, project, tags }");
    }
    const store = l.store ?? options.store ?? await getDefaultStore();
    if ("modelId" in l) {
      needString("modelId", l.modelId);
      await store.flush();
      const id = await resolveModelId(store, l.modelId);
      const snap = await loadSnapshot(store, id);
      if (!snap) throw new ModelNotFoundError(l.modelId);
      return loaded(new InputModel(id, store), snap);
    }
    const found = await Model.queryModels({
      store,
      ...(l.project ? { projectName: l.project } : {}),
      ...(l.name ? { modelName: l.name } : {}),
      ...(l.tags ? { tags: l.tags } : {}),
      onlyPublished: l.onlyPublished ?? false,
      maxResults: 1,
    });
    if (!found.length) {
      throw new ModelNotFoundError(
        JSON.stringify({ name: l.name, project: l.project, tags: l.tags }),
        `No model matches ${
          JSON.stringify({
            name: l.name,
            project: l.project,
            tags: l.tags,
            onlyPublished: l.onlyPublished,
          })
        }`,
      );
    }
    const m = found[0]!;
    return loaded(new InputModel(m.id, store), snapshotOf(m));
  }

  /**
   * Registers weights from a URL as a model. If a non-archived model already has exactly this
   * URL it is returned instead (its `reused` is true) and the other arguments are not applied.
   */
  static async importModel(opts: OrNull<ImportModelOptions>): Promise<InputModel> {
    if (opts === null || typeof opts !== "object") {
      throw new InvalidArgumentError("options", opts, "must be an object");
    }
    const options = noNulls(opts) as ImportModelOptions;
    const url = normalizeUrl(options.weightsUrl);
    const design = designText(options.configText, options.configDict);
    const labels = options.labelEnumeration === undefined
      ? undefined
      : needLabels("labelEnumeration", options.labelEnumeration);
    const tags = options.tags === undefined ? [] : needTags("tags", options.tags);
    optString("name", options.name, false);
    optString("project", options.project, false);
    optString("comment", options.comment);
    optString("framework", options.framework, false);
    optBool("isPackage", options.isPackage);
    optBool("createAsPublished", options.createAsPublished);
    // Imports of one URL in this process run one after another, so concurrent calls reuse the
    // first one's model instead of each creating its own.
    const store0 = options.store ?? await getDefaultStore();
    let byUrl = importing.get(store0);
    if (!byUrl) importing.set(store0, byUrl = new Map());
    const prev = byUrl.get(url) ?? Promise.resolve();
    const run = prev.then(() =>
      InputModel.#importOnce(url, { ...options, store: store0 }, design, labels, tags)
    );
    const tail = run.then(() => {}, () => {});
    byUrl.set(url, tail);
    tail.then(() => {
      if (byUrl.get(url) === tail) byUrl.delete(url);
    });
    return await run;
  }

  static async #importOnce(
    url: string,
    options: ImportModelOptions & { store: Store },
    design: string | undefined,
    labels: Record<string, number> | undefined,
    tags: string[],
  ): Promise<InputModel> {
    const existing = await InputModel.loadModel({
      weightsUrl: url,
      ...(options.store ? { store: options.store } : {}),
    });
    if (existing) {
      existing.reused = true;
      return existing;
    }
    const store = options.store ?? await getDefaultStore();
    let hash: string | undefined, size: number | undefined;
    if (url.startsWith("file://")) {
      const p = fileUriToPath(url);
      const st = await Deno.stat(p).catch(() => undefined);
      if (st?.isFile) ({ hash, size } = await sha256File(p));
    }
    const task = currentTask();
    const id = newId();
    const fw = guessFramework(url, options.framework).framework;
    const comment = task
      ? `Imported by task id: ${task.id}${options.comment ? "\n" + options.comment : ""}`
      : options.comment ?? "";
    // The model as the creating transaction left it: no reload after.
    const { model } = await store.editModel(id, [
      {
        stream: `model:${id}`,
        type: "model.created",
        data: {
          name: options.name ??
            (task ? `Imported by ${task.name}` : `Anonymous model ${new Date().toISOString()}`),
          project: options.project ?? task?.project ?? "",
          comment,
          tags,
          ...(fw ? { framework: fw } : {}),
          ...(design !== undefined ? { configText: design } : {}),
          ...(labels ? { labels } : {}),
          uri: url,
          isPackage: options.isPackage ?? false,
        },
      },
      {
        stream: `model:${id}`,
        type: "model.weights_updated",
        data: {
          uri: url,
          ...(hash ? { hash, size } : {}),
          isPackage: options.isPackage ?? false,
        },
      },
      ...(options.createAsPublished
        ? [{ stream: `model:${id}`, type: "model.published" as const, data: {} }]
        : []),
    ], { create: true });
    return loaded(new InputModel(id, store), model);
  }

  /** Finds a model by weights URL without creating one; undefined when there is none. */
  static async loadModel(
    opts: OrNull<{ weightsUrl: string; loadArchived?: boolean; store?: Store }>,
  ): Promise<InputModel | undefined> {
    const options = noNulls(opts);
    const url = normalizeUrl(options.weightsUrl);
    const store = options.store ?? await getDefaultStore();
    await store.flush();
    const id = await newestModelIdByUri(store, url, { includeArchived: options.loadArchived });
    if (!id) return undefined;
    return loaded(new InputModel(id, store), await loadSnapshot(store, id));
  }

  /** A local-only model with id `"empty"` carrying a design and labels; never stored. */
  static empty(
    opts: OrNull<{
      configText?: string;
      configDict?: Record<string, unknown>;
      labelEnumeration?: Record<string, number>;
    }> = {},
  ): InputModel {
    const options = noNulls(opts);
    const design = designText(options.configText, options.configDict);
    const labels = options.labelEnumeration
      ? needLabels("labelEnumeration", options.labelEnumeration)
      : {};
    const row = {
      ...emptyModel("empty"),
      created: 1,
      config_text: design ?? "",
      labels: JSON.stringify(labels),
    };
    const m = loaded(new InputModel("empty", undefined), { row, tags: [], metadata: {} });
    m.#empty = true;
    return m;
  }

  /**
   * Connects this model to a task as an input, under `name` (default: the weights file's
   * stem, else "Input Model"). An empty model sets no input.
   */
  async connect(task: Task, name?: string | null): Promise<void> {
    if (!isTask(task)) throw new InvalidArgumentError("task", task, "must be a Task");
    if (this.#empty) return;
    if (!snapshotOf(this)) await this.reload();
    const entry = name ?? ((this.url ? stem(this.url) : "") || "Input Model");
    await linksOf(task).link("input", entry, this);
  }
}
