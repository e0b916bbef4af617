/**
 * `OutputModel`: a task's output. Synchronous to construct and "floating" (local only) until
 * its first write — `updateWeights`, a report, metadata, tags or `publish` — as in ClearML.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { newId } from "../clock.ts";
import {
  InvalidArgumentError,
  ModelNotFoundError,
  ModelPublishedError,
  WeightsNotFoundError,
} from "../errors.ts";
import { BaseModel } from "./base.ts";
import { loadSnapshot } from "./read_back.ts";
import type { Task } from "../task.ts";
import { currentTask, isTask, linksOf } from "./task_link.ts";
import { emptyModel } from "../projections/project.ts";
import type { ModelFields, NewEvent } from "../events.ts";
import {
  baseName,
  designText,
  isRemote,
  needInt,
  needLabels,
  needObject,
  needString,
  needTags,
  noNulls,
  optBool,
  optString,
  type OrNull,
  safeSegment,
  stem,
} from "./util.ts";
import { guessFramework } from "../weights/framework.ts";
import { fileUriToPath, pathToFileUri } from "../weights/remote.ts";
import { sha256File } from "../weights/blobs.ts";
import { commonBase, listFolderFiles, zipFiles } from "../weights/zip.ts";
import { join, relative, resolve } from "node:path";

/** Options of the {@link OutputModel} constructor. */
export interface OutputModelOptions {
  /** The task (default: `Task.current()`). */
  task?: Task;
  /** The design as text. */
  configText?: string;
  /** The design as an object (stored as JSON). */
  configDict?: Record<string, unknown>;
  /** Labels `{ name: id }`. */
  labelEnumeration?: Record<string, number>;
  /** The model name (default: the task name). */
  name?: string;
  /** Tags. */
  tags?: string[];
  /** A comment, after "Created by task id: <id>". */
  comment?: string;
  /** The framework (guessed from the weights file when absent). */
  framework?: string;
  /** Re-bind this existing model to the task instead of creating a new one. */
  baseModelId?: string;
}

/** Options of {@link OutputModel.updateWeights}. */
export interface UpdateWeightsOptions {
  /** A local weights file (or a folder: then it is zipped as a package). */
  weightsFilename?: string;
  /** Register this URI as the weights, without storing bytes. */
  registerUri?: string;
  /** Upload destination for this call (a folder or a modelog server). */
  uploadUri?: string;
  /** The file name at the destination (the extension is added when missing). */
  targetFilename?: string;
  /** Delete the local file once stored at an upload destination (default true). */
  autoDeleteFile?: boolean;
  /** The training iteration. */
  iteration?: number;
  /** Kept for ClearML compatibility: modelog never rewrites the comment. */
  updateComment?: boolean;
  /** The weights are a zip package. */
  isPackage?: boolean;
}

/** Options of {@link OutputModel.updateWeightsPackage}. */
export interface UpdateWeightsPackageOptions {
  /** Files to pack. */
  weightsFilenames?: string[];
  /** A folder to pack (recursively). */
  weightsPath?: string;
  /** Upload destination for this call. */
  uploadUri?: string;
  /** The zip name (default `model_package.zip`). */
  targetFilename?: string;
  /** Delete the source files once stored (default true). */
  autoDeleteFile?: boolean;
  /** The training iteration. */
  iteration?: number;
}

/**
 * A task's output model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore, OutputModel, Task } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "myProject", taskName: "myTask", store });
 * const model = new OutputModel({ task, framework: "PyTorch" });
 * await model.updateLabels({ background: 0, label: 255 });
 * const file = `${home}/model.pth`;
 * await Deno.writeFile(file, new Uint8Array([1, 2, 3]));
 * await model.updateWeights({ weightsFilename: file, iteration: 10 });
 * assert.equal(model.size, 3);
 * assert.equal(model.iteration, 10);
 * assert.deepEqual(model.labels, { background: 0, label: 255 });
 * assert.equal(task.models.output.get("model"), model);
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export class OutputModel extends BaseModel {
  readonly #task: Task;
  #fields: ModelFields & { tags: string[] };
  #exists = false;
  #creating: Promise<string> | undefined;
  #connectName: string | undefined;
  #uploadUri: string | undefined;
  readonly #baseModelId: string | undefined;

  /** Creates a floating output model of a task. Nothing is stored until the first write. */
  constructor(opts: OrNull<OutputModelOptions> = {}) {
    needObject("options", opts);
    const options = noNulls(opts) as OutputModelOptions;
    const task = options.task ?? currentTask();
    if (!isTask(task)) {
      throw new InvalidArgumentError(
        "task",
        options.task,
        "an OutputModel needs a task (Task.init first)",
      );
    }
    // As in ClearML, a new output model inherits the task's design and labels unless given.
    const design = designText(options.configText, options.configDict) ??
      (task.getModelConfigText() || undefined);
    const labels = options.labelEnumeration === undefined
      ? task.getLabelsEnumeration()
      : needLabels("labelEnumeration", options.labelEnumeration);
    optString("name", options.name, false);
    optString("comment", options.comment);
    optString("framework", options.framework, false);
    optString("baseModelId", options.baseModelId, false);
    const tags = options.tags === undefined ? [] : needTags("tags", options.tags);
    const id = options.baseModelId ?? newId();
    super(id, task.store);
    this.#task = task;
    this.#baseModelId = options.baseModelId;
    this.#uploadUri = task.outputUri;
    this.#fields = {
      name: options.name ?? task.name,
      comment: `Created by task id: ${task.id}${options.comment ? "\n" + options.comment : ""}`,
      project: task.project,
      task: task.id,
      tags,
      ...(options.framework ? { framework: options.framework } : {}),
      ...(design !== undefined ? { configText: design } : {}),
      ...(labels && Object.keys(labels).length ? { labels } : {}),
    };
    this.#refreshFloating();
  }

  #refreshFloating(): void {
    if (this.#exists) return;
    const f = this.#fields;
    this._snap = {
      row: {
        ...emptyModel(this._id),
        name: f.name ?? "",
        comment: f.comment ?? "",
        project: f.project ?? "",
        task: f.task ?? "",
        original_task: f.task ?? "",
        framework: f.framework ?? "",
        config_text: f.configText ?? "",
        labels: JSON.stringify(f.labels ?? {}),
      },
      tags: [...f.tags].sort(),
      metadata: {},
    };
  }

  /** The task this model belongs to. */
  get taskObject(): Task {
    return this.#task;
  }

  /** Whether the model exists in the store yet (false while floating). */
  get exists(): boolean {
    return this.#exists;
  }

  /** The upload destination (no trailing slash), if any. */
  get uploadStorageUri(): string | undefined {
    return this.#uploadUri?.replace(/\/+$/, "");
  }

  /** @internal */
  protected override _created(): boolean {
    return this.#exists;
  }

  /**
   * Refuses `what` when the model is published, as the store says now: a stored model is
   * reloaded first (another handle may have published it), and a floating re-bind checks its
   * base model.
   */
  async #assertUnlockedNow(what: string): Promise<void> {
    this._assertUnlocked(what);
    if (this.#exists) {
      await this.reload();
    } else if (this.#baseModelId) {
      const base = await loadSnapshot(this.#task.store, this.#baseModelId);
      if (base?.row.published) throw new ModelPublishedError(this.#baseModelId, what);
    }
    this._assertUnlocked(what);
  }

  /** @internal Creates the model (or re-binds the base model) on first write. */
  protected override _ensureCreated(): Promise<string> {
    return this.#startCreate([]);
  }

  /** Creates the model with `extra` events in the same transaction (the first write). */
  #startCreate(extra: NewEvent[]): Promise<string> {
    if (this.#exists) return Promise.resolve(this._id);
    if (!this.#creating) {
      this.#creating = this.#create(extra).then((id) => {
        this.#exists = true;
        return id;
      }, (e) => {
        this.#creating = undefined;
        throw e;
      });
    } else if (extra.length) {
      return this.#creating.then(() => super._emit(extra)).then(() => this._id);
    }
    return this.#creating;
  }

  /** @internal The first write creates the model in the same transaction. */
  protected override async _emit(events: NewEvent[]): Promise<void> {
    if (this.#exists) return await super._emit(events);
    await this.#startCreate(events);
  }

  async #create(extra: NewEvent[]): Promise<string> {
    const store = this.#task.store;
    const f = this.#fields;
    const events: NewEvent[] = [];
    const stream = `model:${this._id}`;
    if (this.#baseModelId) {
      const base = await loadSnapshot(store, this.#baseModelId);
      if (!base) throw new ModelNotFoundError(this.#baseModelId);
      const { tags, ...fields } = f;
      if (
        base.row.published &&
        (fields.labels !== undefined || fields.configText !== undefined ||
          fields.framework !== undefined)
      ) {
        throw new ModelPublishedError(this.#baseModelId, "re-bind its labels, design or framework");
      }
      fields.comment = `${
        base.row.comment ? base.row.comment + "\n" : ""
      }Overwritten by task id: ${this.#task.id}`;
      events.push({ stream, type: "model.updated", data: { fields } });
      const cur = new Set(base.tags);
      const add = tags.filter((t) => !cur.has(t));
      if (add.length) events.push({ stream, type: "model.tags_changed", data: { add } });
      this.#connectName ??= base.row.uri ? stem(base.row.uri) : undefined;
    } else {
      const { tags, ...fields } = f;
      events.push({
        stream,
        type: "model.created",
        data: { ...fields, tags, originalTask: this.#task.id },
      });
    }
    const links = linksOf(this.#task);
    const name = this.#connectName ?? links.nextOutputName();
    const { model } = await store.editModel(this._id, [
      ...events,
      ...extra.map((e) => ({ ...e, stream })),
      {
        stream: `task:${this.#task.id}`,
        type: "task.model_connected",
        data: { modelId: this._id, role: "output", name },
      },
    ], { create: true });
    this.#exists = true;
    links.remember("output", name, this);
    this._snap = model; // a model just created is always found
    return this._id;
  }

  /** Connects this model to its own task under `name` (the task's entry name). */
  async connect(task: Task, name?: string | null): Promise<void> {
    if (task !== this.#task) {
      throw new InvalidArgumentError(
        "task",
        task?.id ?? task,
        "an OutputModel can connect only to its own task",
      );
    }
    optString("name", name, false);
    if (name) this.#connectName = name;
    if (this.#exists) {
      const links = linksOf(this.#task);
      await links.link("output", this.#connectName ?? links.nextOutputName(), this);
    }
  }

  /**
   * Sets where `updateWeights` stores files: a folder (`file://…` or a path; it must be
   * writable) or a modelog server (`http(s)://…`). An empty value is ignored.
   */
  async setUploadDestination(uri: string): Promise<void> {
    if (uri === undefined || uri === null || uri === "") return;
    needString("uri", uri);
    this._assertUnlocked("set the upload destination");
    if (isRemote(uri)) {
      try {
        new URL(uri);
      } catch {
        throw new InvalidArgumentError("uri", uri, "is not a valid URL");
      }
      this.#uploadUri = uri;
      return;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith("file://")) {
      throw new InvalidArgumentError(
        "uri",
        uri,
        "unsupported scheme: use a folder, file://, http:// or https://",
      );
    }
    const dir = fileUriToPath(uri);
    try {
      await Deno.mkdir(dir, { recursive: true });
      const probe = join(dir, `.modelog-write-check-${newId()}`);
      await Deno.writeFile(probe, new Uint8Array());
      await Deno.remove(probe);
    } catch (e) {
      throw new InvalidArgumentError(
        "uri",
        uri,
        `is not a writable folder: ${(e as Error).message}`,
      );
    }
    this.#uploadUri = pathToFileUri(dir);
  }

  /** Replaces the label enumeration. Refused when published. */
  async updateLabels(labels: Record<string, number>): Promise<void> {
    const l = needLabels("labels", labels);
    await this.#assertUnlockedNow("update labels");
    if (!this.#exists) {
      this.#fields.labels = l;
      this.#refreshFloating();
      return;
    }
    await this._emit([{ stream: "", type: "model.updated", data: { fields: { labels: l } } }]);
  }

  /** Replaces the design (exactly one of configText / configDict). Refused when published. */
  async updateDesign(
    opts: OrNull<{ configText?: string; configDict?: Record<string, unknown> }>,
  ): Promise<void> {
    needObject("options", opts, "must be { configText } or { configDict }");
    const options = noNulls(opts);
    const text = designText(options.configText, options.configDict) ?? "";
    await this.#assertUnlockedNow("update the design");
    if (!this.#exists) {
      this.#fields.configText = text;
      this.#refreshFloating();
      return;
    }
    await this._emit([{
      stream: "",
      type: "model.updated",
      data: { fields: { configText: text } },
    }]);
  }

  /**
   * Stores new weights: a local file (kept by content hash; copied to the upload destination
   * if one is set) or a registered URI. Every call is an event with iteration, hash, size and
   * URI. Returns the weights URI. Refused when published.
   */
  async updateWeights(opts: OrNull<UpdateWeightsOptions>): Promise<string> {
    needObject("options", opts);
    const options = noNulls(opts) as UpdateWeightsOptions;
    const { weightsFilename, registerUri } = options;
    if ((weightsFilename === undefined) === (registerUri === undefined)) {
      throw new InvalidArgumentError(
        "weightsFilename/registerUri",
        { weightsFilename, registerUri },
        "give exactly one of weightsFilename or registerUri",
      );
    }
    if (options.iteration !== undefined) needInt("iteration", options.iteration);
    optString("targetFilename", options.targetFilename, false);
    optBool("isPackage", options.isPackage);
    // A file copied or removed is not undone: ask the store first (a URI: checked in the write).
    const what = "update weights";
    const ask = weightsFilename !== undefined || options.uploadUri || !this.#exists;
    await (ask ? this.#assertUnlockedNow(what) : this._assertUnlocked(what));
    if (options.uploadUri) await this.setUploadDestination(options.uploadUri);
    const store = this.#task.store;
    let uri: string, hash: string | undefined, size: number | undefined, source: string;
    if (weightsFilename !== undefined) {
      needString("weightsFilename", weightsFilename);
      const st = await Deno.stat(weightsFilename).catch(() => undefined);
      if (!st) throw new WeightsNotFoundError(weightsFilename);
      if (st.isDirectory) {
        return await this.updateWeightsPackage({
          weightsPath: weightsFilename,
          ...(options.targetFilename ? { targetFilename: options.targetFilename } : {}),
          ...(options.iteration !== undefined ? { iteration: options.iteration } : {}),
          autoDeleteFile: options.autoDeleteFile ?? true,
        });
      }
      source = weightsFilename;
      const blob = await store.blobs.putFile(weightsFilename);
      hash = blob.hash;
      size = blob.size;
      const { ext } = guessFramework(weightsFilename, this.framework || undefined);
      let target = options.targetFilename ?? baseName(weightsFilename);
      if (ext && !target.toLowerCase().endsWith(ext.toLowerCase())) target += ext;
      const dest = this.uploadStorageUri;
      if (dest && isRemote(dest)) {
        uri = `${dest}/v1/blobs/sha256/${hash}`;
      } else if (dest) {
        const dir = join(
          fileUriToPath(dest),
          safeSegment(this.#task.project),
          `${safeSegment(this.#task.name)}.${this.#task.id}`,
          "models",
        );
        await Deno.mkdir(dir, { recursive: true });
        const out = join(dir, safeSegment(target));
        if (resolve(out) !== resolve(weightsFilename)) {
          await Deno.copyFile(store.blobs.pathOf(hash), out);
        }
        uri = pathToFileUri(out);
      } else {
        uri = pathToFileUri(weightsFilename);
      }
      if (
        dest && (options.autoDeleteFile ?? true) &&
        resolve(fileUriToPath(uri)) !== resolve(weightsFilename)
      ) {
        await Deno.remove(weightsFilename).catch(() => {});
      }
    } else {
      needString("registerUri", registerUri);
      source = registerUri!;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(registerUri!)) {
        if (!/^(file|https?):\/\//i.test(registerUri!)) {
          throw new InvalidArgumentError(
            "registerUri",
            registerUri,
            "must be file://, http(s):// or a local path",
          );
        }
        uri = registerUri!.startsWith("file://")
          ? pathToFileUri(fileUriToPath(registerUri!))
          : registerUri!;
      } else {
        uri = pathToFileUri(registerUri!);
      }
      if (uri.startsWith("file://")) {
        const p = fileUriToPath(uri);
        const st = await Deno.stat(p).catch(() => undefined);
        if (st?.isFile) ({ hash, size } = await sha256File(p));
      }
    }
    if (!this.#exists && !this.#connectName) {
      this.#connectName = stem(options.targetFilename ?? source) || "Output Model";
    }
    await this._edit((cur) => {
      const fw = (cur ? cur.row.framework : this.framework) ? undefined : guessFramework(source);
      const data = {
        uri,
        ...(hash ? { hash, size } : {}),
        ...(options.iteration !== undefined ? { iteration: options.iteration } : {}),
        ...(fw?.framework ? { framework: fw.framework } : {}),
        isPackage: options.isPackage ?? false,
        filename: baseName(source),
      };
      return [{ stream: "", type: "model.weights_updated", data }];
    }, what);
    return uri;
  }

  /**
   * Zips files (or a folder, recursively) into one package and stores it as the weights,
   * marking the model a package.
   */
  async updateWeightsPackage(opts: OrNull<UpdateWeightsPackageOptions>): Promise<string> {
    needObject("options", opts);
    const options = noNulls(opts) as UpdateWeightsPackageOptions;
    const { weightsFilenames, weightsPath } = options;
    if ((weightsFilenames === undefined) === (weightsPath === undefined)) {
      throw new InvalidArgumentError(
        "weightsFilenames/weightsPath",
        { weightsFilenames, weightsPath },
        "give exactly one of weightsFilenames or weightsPath",
      );
    }
    await this.#assertUnlockedNow("update weights");
    let entries: { path: string; name: string }[];
    if (weightsPath !== undefined) {
      needString("weightsPath", weightsPath);
      const st = await Deno.stat(weightsPath).catch(() => undefined);
      if (!st?.isDirectory) throw new WeightsNotFoundError(weightsPath, "it is not a folder");
      entries = await listFolderFiles(weightsPath);
    } else {
      if (!Array.isArray(weightsFilenames) || weightsFilenames.length === 0) {
        throw new InvalidArgumentError(
          "weightsFilenames",
          weightsFilenames,
          "must be a non-empty array of files",
        );
      }
      for (const f of weightsFilenames) {
        needString("weightsFilenames[]", f);
        const st = await Deno.stat(f).catch(() => undefined);
        if (!st?.isFile) throw new WeightsNotFoundError(f);
      }
      const base = commonBase(weightsFilenames);
      entries = weightsFilenames.map((p) => ({
        path: p,
        name: relative(base, resolve(p)).split("\\").join("/"),
      }));
    }
    if (entries.length === 0) {
      throw new InvalidArgumentError("weightsPath", weightsPath, "the folder is empty");
    }
    let target = options.targetFilename ?? "model_package.zip";
    if (!target.toLowerCase().endsWith(".zip")) target += ".zip";
    const tmp = await Deno.makeTempDir({ prefix: "modelog-pkg-" });
    try {
      const zip = join(tmp, safeSegment(target));
      await zipFiles(entries, zip);
      const savedDest = this.#uploadUri;
      const uri = await this.updateWeights({
        weightsFilename: zip,
        targetFilename: target,
        // The zip is a temporary file: without an upload destination it is kept in the
        // store's own files folder, so the model's url stays valid.
        ...(options.uploadUri
          ? { uploadUri: options.uploadUri }
          : this.uploadStorageUri
          ? {}
          : { uploadUri: pathToFileUri(join(this.#task.store.home, "files")) }),
        ...(options.iteration !== undefined ? { iteration: options.iteration } : {}),
        autoDeleteFile: true,
        isPackage: true,
      }).finally(() => {
        if (!options.uploadUri) this.#uploadUri = savedDest;
      });
      if (options.autoDeleteFile ?? true) {
        for (const e of entries) await Deno.remove(e.path).catch(() => {});
      }
      return uri;
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }

  /** Publishes (creating the model first if still floating). */
  override async publish(): Promise<void> {
    await this._ensureCreated();
    await super.publish();
  }

  /** Reloads from the store (a floating model has nothing to reload). */
  override async reload(): Promise<this> {
    if (!this.#exists) return this;
    return await super.reload();
  }

  /** @internal The store. */
  protected override _getStore(): Promise<Store> {
    return Promise.resolve(this.#task.store);
  }
}
