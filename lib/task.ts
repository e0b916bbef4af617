/**
 * `Task`: as much of ClearML's Task as models need — `init`, `current`, `connect`,
 * `updateOutputModel`, `models` and `close`.
 *
 * @module
 */
import { getDefaultStore } from "./store/default.ts";
import type { Store } from "./store/store.ts";
import { newId } from "./clock.ts";
import { InvalidArgumentError, ModelogError } from "./errors.ts";
import { BaseModel } from "./models/base.ts";
import { Model } from "./models/model.ts";
import {
  designText,
  isRemote,
  needLabels,
  needObject,
  needString,
  needTags,
  noNulls,
  optString,
  type OrNull,
  parseDesign,
} from "./models/util.ts";
import { findTask, taskModelLinks } from "./projections/read.ts";
import { fileUriToPath } from "./weights/remote.ts";
import { join } from "node:path";
import { InputModel } from "./models/input_model.ts";
import { OutputModel } from "./models/output_model.ts";
import {
  clearCurrentTask,
  currentTask,
  type LinkRole,
  registerTask,
  setCurrentTask,
} from "./models/task_link.ts";

/** Options of {@link Task.init}. */
export interface TaskInitOptions {
  /** The project name. */
  projectName: string;
  /** The task name. */
  taskName: string;
  /** The task type (default `training`). */
  taskType?: string;
  /** Task tags. */
  tags?: string[];
  /**
   * Default upload destination for output weights: a folder (`file://` or a path) or a modelog
   * server (`http(s)://`). Without it, weights are kept in the local blob store.
   */
  outputUri?: string;
  /** The store (default: the default store). */
  store?: Store;
}

/** Options of {@link Task.updateOutputModel}. */
export interface UpdateOutputModelOptions {
  /** The weights file. */
  modelPath: string;
  /** The task's entry name for the model. */
  name?: string;
  /** The model's comment. */
  comment?: string;
  /** The model's tags. */
  tags?: string[];
  /** The model's name (default `<task name> - <name>`, else the task name). */
  modelName?: string;
  /** The training iteration. */
  iteration?: number;
  /** Delete the local file after it was stored at the upload destination (default true). */
  autoDeleteFile?: boolean;
}

/**
 * A list of models that can also be indexed by entry name: `task.models.output["best"]` or
 * `task.models.output.get("best")`. The newest is last.
 */
export class ModelsList<T extends BaseModel = BaseModel> extends Array<T> {
  /** Models by entry name (also reachable with `get(name)`). */
  [name: string]: unknown;
  #names = new Map<string, T>();
  /** @internal */
  _put(name: string, m: T): void {
    const old = this.#names.get(name);
    if (old) {
      const i = this.indexOf(old);
      if (i >= 0) this.splice(i, 1);
    }
    this.#names.set(name, m);
    this.push(m);
    if (!/^\d+$/.test(name) && !(name in Array.prototype)) {
      (this as Record<string, unknown>)[name] = m;
    }
  }
  /** The model connected under `name`. */
  get(name: string): T | undefined {
    return this.#names.get(name);
  }
  /** The entry names. */
  names(): string[] {
    return [...this.#names.keys()];
  }
  /** Derived arrays (map, filter) are plain arrays. */
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/**
 * A task: a training or evaluation run that models are inputs and outputs of.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore, OutputModel, Task } from "../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "demo", taskName: "train", store });
 * const model = new OutputModel({ task, framework: "PyTorch" });
 * await task.connect(model, "best");
 * assert.equal(Task.current(), task);
 * assert.equal(task.models.output.length, 0); // floating until its first write
 * await model.addTags("candidate");
 * assert.equal(task.models.output.get("best"), model);
 * await task.close();
 * assert.equal(Task.current(), undefined);
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export class Task {
  /** The task id. */
  readonly id: string;
  /** The project name. */
  readonly project: string;
  /** The task name. */
  readonly name: string;
  /** The task type. */
  readonly taskType: string;
  /** The task tags. */
  readonly tags: readonly string[];
  /** The store the task writes to. */
  readonly store: Store;
  readonly #input = new ModelsList();
  readonly #output = new ModelsList();
  #closed = false;
  #outputCount = 0;
  #outputUri: string | undefined;
  #labels: Record<string, number> = {};
  #design = "";

  private constructor(id: string, o: TaskInitOptions, store: Store) {
    this.id = id;
    this.project = o.projectName;
    this.name = o.taskName;
    this.taskType = o.taskType ?? "training";
    this.tags = o.tags ?? [];
    this.#outputUri = o.outputUri || undefined;
    this.store = store;
    registerTask(this, {
      link: (role, name, model) => this.#link(role, name, model),
      remember: (role, name, model) => this.#list(role)._put(name, model),
      nextOutputName: () => `Output Model #${this.#outputCount++}`,
    });
  }

  /**
   * The default upload destination for output models: a folder (`file://` or a path) or a
   * modelog server (`http(s)://`). Setting a folder that cannot be written throws
   * `INVALID_ARGUMENT` (the folder is created when missing), as ClearML checks it.
   */
  get outputUri(): string | undefined {
    return this.#outputUri;
  }
  set outputUri(uri: string | undefined | null) {
    this.#outputUri = uri === undefined || uri === null || uri === ""
      ? undefined
      : checkOutputUri(uri);
  }

  /** Creates a task and makes it the current one. */
  static async init(opts: OrNull<TaskInitOptions>): Promise<Task> {
    if (opts === null || typeof opts !== "object") {
      throw new InvalidArgumentError("options", opts, "must be an object");
    }
    const options = noNulls(opts) as TaskInitOptions;
    needString("projectName", options.projectName);
    needString("taskName", options.taskName);
    optString("taskType", options.taskType, false);
    optString("outputUri", options.outputUri, false);
    if (options.outputUri) checkOutputUri(options.outputUri);
    const tags = options.tags === undefined ? [] : needTags("tags", options.tags);
    const store = options.store ?? await getDefaultStore();
    const id = newId();
    await store.append([{
      stream: `task:${id}`,
      type: "task.created",
      data: {
        project: options.projectName,
        name: options.taskName,
        taskType: options.taskType ?? "training",
        tags,
        ...(options.outputUri ? { outputUri: options.outputUri } : {}),
      },
    }]);
    const t = new Task(id, { ...options, tags }, store);
    setCurrentTask(t);
    return t;
  }

  /** The task made by the last `Task.init` that is not closed, if any. */
  static current(): Task | undefined {
    return currentTask();
  }

  /**
   * ClearML's `Task.get_task`: a task of the store by id, or the newest one with this project
   * and name. It is not made current; its `models` are loaded from the store. Throws
   * `TASK_NOT_FOUND` when there is none.
   */
  static async getTask(
    opts: OrNull<{ taskId?: string; projectName?: string; taskName?: string; store?: Store }>,
  ): Promise<Task> {
    if (opts === null || typeof opts !== "object") {
      throw new InvalidArgumentError(
        "options",
        opts,
        "must be { taskId } or { projectName, taskName }",
      );
    }
    const o = noNulls(opts);
    const store = o.store ?? await getDefaultStore();
    let by: { id: string } | { project: string; name: string };
    if (o.taskId !== undefined) by = { id: needString("taskId", o.taskId) };
    else {
      by = {
        project: needString("projectName", o.projectName),
        name: needString("taskName", o.taskName),
      };
    }
    await store.flush();
    const row = await findTask(store, by);
    if (!row) {
      throw new ModelogError("TASK_NOT_FOUND", `No task matches ${JSON.stringify(by)}`);
    }
    const t = new Task(row.id, {
      projectName: row.project,
      taskName: row.name,
      taskType: row.taskType,
      tags: row.tags,
    }, store);
    t.#outputUri = row.outputUri || undefined;
    t.#closed = row.closed;
    for (const r of await taskModelLinks(store, row.id)) {
      const m = r.role === "input"
        ? await InputModel.get({ modelId: r.modelId, store }).catch(() => undefined)
        : await Model.get(r.modelId, { store }).catch(() => undefined);
      if (m) t.#list(r.role as LinkRole)._put(r.name, m);
      if (r.role === "output") t.#outputCount++;
    }
    return t;
  }

  // ------------------------------------------------------------- model design and labels

  /**
   * Sets the task's label enumeration `{ label: id }` (ClearML's
   * `set_model_label_enumeration`); a new `OutputModel` of this task starts with it. Kept in
   * this process (tasks have no design events).
   */
  setModelLabelEnumeration(labels: Record<string, number>): void {
    this.#labels = needLabels("labels", labels);
  }

  /** The task's label enumeration (`{}` when none). */
  getLabelsEnumeration(): Record<string, number> {
    return { ...this.#labels };
  }

  /**
   * Sets the task's model design (exactly one of configText / configDict, ClearML's
   * `set_model_config`); a new `OutputModel` of this task starts with it.
   */
  setModelConfig(
    options: OrNull<{ configText?: string; configDict?: Record<string, unknown> }>,
  ): void {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError(
        "options",
        options,
        "must be { configText } or { configDict }",
      );
    }
    const o = noNulls(options);
    this.#design = designText(o.configText, o.configDict) ?? "";
  }

  /** The task's model design as text (`""` when none). */
  getModelConfigText(): string {
    return this.#design;
  }

  /** The task's model design parsed as JSON (`{}` when none). */
  getModelConfigDict(): Record<string, unknown> {
    return parseDesign(this.#design);
  }

  /** The task's model design text (ClearML's `get_model_design`). */
  getModelDesign(): string {
    return this.#design;
  }

  /**
   * ClearML's `set_input_model`: connects a stored model (by id, or the newest by name) as an
   * input under `name`, and copies its design and labels to the task unless told not to.
   */
  async setInputModel(
    opts: OrNull<{
      modelId?: string;
      modelName?: string;
      updateTaskDesign?: boolean;
      updateTaskLabels?: boolean;
      name?: string;
    }>,
  ): Promise<InputModel> {
    if (opts === null || typeof opts !== "object") {
      throw new InvalidArgumentError("options", opts, "must be { modelId } or { modelName }");
    }
    const o = noNulls(opts);
    const m = o.modelId !== undefined
      ? await InputModel.get({ modelId: needString("modelId", o.modelId), store: this.store })
      : await InputModel.get({ name: needString("modelName", o.modelName), store: this.store });
    if (o.updateTaskDesign ?? true) this.#design = m.configText;
    if (o.updateTaskLabels ?? true) this.#labels = m.labels;
    await m.connect(this, optString("name", o.name, false));
    return m;
  }

  /** The ids of this task's input models by entry name (ClearML's `input_models_id`). */
  get inputModelsId(): Record<string, string> {
    return Object.fromEntries(this.#input.names().map((n) => [n, this.#input.get(n)!.id]));
  }

  /** The ids of this task's output models by entry name (ClearML's `output_models_id`). */
  get outputModelsId(): Record<string, string> {
    return Object.fromEntries(this.#output.names().map((n) => [n, this.#output.get(n)!.id]));
  }

  /** Input and output models of this task, indexable by entry name. */
  get models(): { input: ModelsList; output: ModelsList } {
    return { input: this.#input, output: this.#output };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connects a model: an `InputModel` as an input, an `OutputModel` as an output, under
   * `name` (inputs default to the weights file's stem, else "Input Model").
   */
  async connect(
    model: InputModel | OutputModel | BaseModel,
    name?: string | null,
  ): Promise<void> {
    name ??= undefined;
    if (!(model instanceof BaseModel)) {
      throw new InvalidArgumentError("model", model, "must be an InputModel or OutputModel");
    }
    optString("name", name, false);
    if (!(model instanceof InputModel || model instanceof OutputModel)) {
      throw new InvalidArgumentError(
        "model",
        model.id,
        "a plain Model cannot be connected: use InputModel.get({ modelId }) for an input",
      );
    }
    await model.connect(this, name);
  }

  #list(role: LinkRole): ModelsList {
    return role === "input" ? this.#input : this.#output;
  }

  /** Appends a link event and records it (called by the models through `task_link.ts`). */
  async #link(role: LinkRole, name: string, model: BaseModel): Promise<void> {
    const list = this.#list(role);
    if (list.get(name) === model) return;
    await this.store.append([{
      stream: `task:${this.id}`,
      type: "task.model_connected",
      data: { modelId: model.id, role, name },
    }]);
    list._put(name, model);
  }

  /**
   * Creates an output model from a weights file in one call (ClearML's
   * `update_output_model`): returns the weights URI.
   */
  async updateOutputModel(opts: OrNull<UpdateOutputModelOptions>): Promise<string> {
    needObject("options", opts);
    const options = noNulls(opts) as UpdateOutputModelOptions;
    needString("modelPath", options.modelPath);
    const name = optString("name", options.name, false);
    const modelName = options.modelName ?? (name ? `${this.name} - ${name}` : this.name);
    const m = new OutputModel({
      task: this,
      name: modelName,
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    });
    if (name) await m.connect(this, name);
    return await m.updateWeights({
      weightsFilename: options.modelPath,
      ...(options.iteration !== undefined ? { iteration: options.iteration } : {}),
      autoDeleteFile: options.autoDeleteFile ?? true,
    });
  }

  /** All models linked to this task in the store, as `Model` handles (input and output). */
  async getModels(): Promise<{ input: ModelsList<Model>; output: ModelsList<Model> }> {
    await this.store.flush();
    const rows = await taskModelLinks(this.store, this.id);
    const input = new ModelsList<Model>();
    const output = new ModelsList<Model>();
    for (const r of rows) {
      const m = await Model.get(r.modelId, { store: this.store }).catch(() => undefined);
      if (m) (r.role === "input" ? input : output)._put(r.name, m);
    }
    return { input, output };
  }

  /** Flushes this store's queued reports and marks the task closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.store.flush();
    await this.store.append([{ stream: `task:${this.id}`, type: "task.closed", data: {} }]);
    this.#closed = true;
    clearCurrentTask(this);
  }
}

/**
 * Checks an output URI: a valid http(s) URL, or a folder (a path or `file://`) that exists or
 * can be made and can be written (a probe file is written and removed). Returns it as given.
 */
function checkOutputUri(uri: unknown): string {
  const u = needString("outputUri", uri);
  if (isRemote(u)) {
    try {
      new URL(u);
    } catch {
      throw new InvalidArgumentError("outputUri", u, "is not a valid URL");
    }
    return u;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u) && !u.startsWith("file://")) {
    throw new InvalidArgumentError(
      "outputUri",
      u,
      "unsupported scheme: use a folder, file://, http:// or https://",
    );
  }
  try {
    const dir = fileUriToPath(u);
    Deno.mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.modelog-write-check-${crypto.randomUUID()}`);
    Deno.writeFileSync(probe, new Uint8Array());
    Deno.removeSync(probe);
  } catch (e) {
    throw new InvalidArgumentError(
      "outputUri",
      u,
      `is not a writable folder: ${(e as Error).message}`,
    );
  }
  return u;
}
