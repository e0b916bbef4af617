/**
 * BaseModel: what `Model`, `InputModel` and `OutputModel` share — identity, the loaded
 * snapshot and its field getters, reload, and the edits (name, comment, project, tags,
 * publish, archive, metadata). Reports, read-back, export and weights are thin methods over
 * their own files: `reporting.ts`, `read_back.ts`, `export.ts`, `metadata.ts` and
 * `../weights/local_copy.ts`.
 *
 * Over 600 lines on purpose: this is the public surface of ClearML's `BaseModel` (about fifty
 * members, each its JSDoc and a one-line call into the files above); splitting it would split
 * one class.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { getDefaultStore } from "../store/default.ts";
import type { ModelRow } from "../projections/project.ts";
import type { MetadataType, NewEvent } from "../events.ts";
import { hlcWall } from "../clock.ts";
import {
  InvalidArgumentError,
  ModelNotFoundError,
  ModelogError,
  ModelPublishedError,
} from "../errors.ts";
import type * as fig from "../reports/figures.ts";
import * as weights from "../weights/local_copy.ts";
import * as meta from "./metadata.ts";
import * as read from "./read_back.ts";
import * as report from "./reporting.ts";
import { modelFields, writeReportHtml, writeScalarsCsv } from "./export.ts";
import { serialEdit } from "./edit_queue.ts";
import { needString, needTags, noNulls, type OrNull, parseDesign, reportOptions } from "./util.ts";

export { SINGLE_VALUE_ITERATION } from "./read_back.ts";
export type { HistoryEntry, ModelSnapshot, ReportedPlot } from "./read_back.ts";
export type { ReportedScalars, ScalarPage, ScalarPageOptions, ScalarSummary } from "./read_back.ts";
export type { LocalCopyOptions } from "../weights/local_copy.ts";
type ModelSnapshot = read.ModelSnapshot;
/** The options of a report after its title and series (the positional call form). */
export type ReportRest<T> = OrNull<Omit<T, "title" | "series">>;
/** Options of `reportMatrix`: a confusion matrix without `comment`. */
export type MatrixOptions = Omit<fig.ConfusionMatrixOptions, "comment">;
export type { OrNull } from "./util.ts";
export type { TableReportOptions } from "./reporting.ts";

// Module-internal access to a model's protected state for the other model files (set in
// BaseModel's static block; `mod.ts` does not export these three).
let internals: {
  store(m: BaseModel): Promise<Store>;
  snap(m: BaseModel): ModelSnapshot | undefined;
};
/** The store of a model, opening the default one on first use. */
export const storeOf = (m: BaseModel): Promise<Store> => internals.store(m);
/** The last loaded snapshot of a model. */
export const snapshotOf = (m: BaseModel): ModelSnapshot | undefined => internals.snap(m);
/** Marks a model handle as removed (by `Model.remove`). */
export let markRemoved: (m: BaseModel) => void;
/** Gives a new model handle the snapshot it was loaded with, and returns it. */
export let loaded: <T extends BaseModel>(m: T, snap: ModelSnapshot | undefined) => T;

/**
 * The shared base of `Model`, `InputModel` and `OutputModel`: getters over the last loaded
 * snapshot, reporters, metadata, tags, publish/archive, weights and read-back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BaseModel, openStore, OutputModel, Task } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "demo", taskName: "train", store });
 * const model = new OutputModel({ task, name: "net" });
 * assert.ok(model instanceof BaseModel);
 * await model.setMetadata("epochs", 10);
 * model.reportScalar("loss", "train", 0.5, 1);
 * model.reportSingleValue("accuracy", 0.9);
 * assert.equal(model.getMetadataCasted("epochs"), 10);
 * assert.deepEqual(await model.getReportedScalars(), { loss: { train: { x: [1], y: [0.5] } } });
 * assert.deepEqual(await model.getReportedSingleValues(), { accuracy: 0.9 });
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export abstract class BaseModel {
  /** @internal */
  protected _store: Store | undefined;
  /** @internal Set once the model is known to be removed (by this handle or a failed edit). */
  protected _removed = false;
  /** @internal */
  protected _snap: ModelSnapshot | undefined;
  /** @internal */
  protected _id: string;

  static {
    internals = { store: (m) => m._getStore(), snap: (m) => m._snap };
    markRemoved = (m) => void (m._removed = true);
    loaded = (m, snap) => {
      m._snap = snap;
      return m;
    };
  }

  /** @internal */
  protected constructor(id: string, store?: Store) {
    this._id = id;
    this._store = store;
  }

  /** @internal The store, opening the default one on first use. */
  protected async _getStore(): Promise<Store> {
    if (!this._store) this._store = await getDefaultStore();
    return this._store;
  }

  /** @internal Makes sure the model exists in the store; returns its id. */
  protected _ensureCreated(): Promise<string> {
    return Promise.resolve(this._id);
  }

  /** @internal Appends durable events on this model; the snapshot becomes the model after them. */
  protected async _emit(events: NewEvent[]): Promise<void> {
    await this._edit(() => events);
  }

  /**
   * @internal The one write path of an edit: in one transaction, `plan` gets the model as
   * stored now (undefined when the store shows no such model, or while the model is not
   * created yet) and returns the events to append on it (none: nothing is written). The
   * snapshot then becomes the model as that transaction left it, which is what a reload would
   * read, so no reload follows; when the store shows no model, the reload's error is thrown.
   * `plan` runs inside the write transaction: it must be quick and must not await. With
   * `unlocked`, a model the store shows published refuses the edit (`MODEL_PUBLISHED`).
   */
  protected async _edit(
    plan: (cur: ModelSnapshot | undefined) => NewEvent[] | undefined,
    unlocked?: string,
  ): Promise<void> {
    if (!this._created()) {
      // A floating model (an OutputModel before its first write) is created with the events.
      const events = plan(undefined);
      if (events?.length) await this._emit(events);
      return;
    }
    const id = await this._ensureCreated();
    const store = await this._getStore();
    const stream = `model:${id}`;
    let out;
    try {
      out = await store.editModel(id, (cur) => {
        if (unlocked && cur?.row.published) throw new ModelPublishedError(id, unlocked);
        return plan(cur)?.map((e) => ({ ...e, stream }));
      });
    } catch (e) {
      if (e instanceof ModelNotFoundError) this._removed = true;
      throw e;
    }
    if (out.model) this._snap = out.model;
    else await this.reload();
  }

  /**
   * @internal Runs a read-then-write edit (`setTags`, `setAllMetadata` with replace) after every
   * earlier one on the same model in this process, so concurrent calls act one after another.
   */
  protected async _serial<T>(fn: () => Promise<T>): Promise<T> {
    const id = await this._ensureCreated();
    return await serialEdit(await this._getStore(), id, fn);
  }

  /** @internal */
  protected get _row(): ModelRow {
    if (!this._snap) {
      throw new ModelogError(
        "MODEL_NOT_FOUND",
        `${this.constructor.name} ${JSON.stringify(this._id)} is not loaded yet: await ${
          this.constructor.name === "OutputModel"
            ? "model.reload()"
            : `${this.constructor.name}.get(id)`
        } or await model.reload() before reading its fields`,
      );
    }
    return this._snap.row;
  }

  /** Reloads the model from the store. */
  async reload(): Promise<this> {
    const store = await this._getStore();
    const snap = await read.loadSnapshot(store, this._id);
    if (!snap) {
      // Out of this device's scope is not removed: it shows again once it is back in.
      const gone = await read.scopeGoneServers(store, this._id);
      if (this._snap && gone.length === 0) this._removed = true;
      throw read.notFoundFor(this._id, gone);
    }
    this._snap = snap;
    return this;
  }

  /** The model id (32 hex characters). */
  get id(): string {
    return this._id;
  }
  /** The model name. */
  get name(): string {
    return this._row.name;
  }
  /** The comment (description). */
  get comment(): string {
    return this._row.comment;
  }
  /** User tags, sorted. */
  get tags(): string[] {
    return [...(this._snap?.tags ?? [])];
  }
  /** System tags: `archived` and `package` when they apply, sorted. */
  get systemTags(): string[] {
    const out: string[] = [];
    if (this._row.archived) out.push("archived");
    if (this._row.is_package) out.push("package");
    return out;
  }
  /** The project name (ClearML returns a project id; modelog keys projects by name). */
  get project(): string {
    return this._row.project;
  }
  /** The task the model is connected to as output, else the creating task. */
  get task(): string {
    return this._row.task || this._row.original_task;
  }
  /** The task that created the model. */
  get originalTask(): string {
    return this._row.original_task;
  }
  /** The parent model id, if any. */
  get parent(): string {
    return this._row.parent;
  }
  /** The framework, e.g. `PyTorch`. */
  get framework(): string {
    return this._row.framework;
  }
  /** The design (configuration) as text. */
  get configText(): string {
    return this._row.config_text;
  }
  /** The design parsed as JSON (`{}` when empty). Throws `INVALID_ARGUMENT` for non-JSON text. */
  get configDict(): Record<string, unknown> {
    return parseDesign(this._row.config_text);
  }
  /** The label enumeration `{ label: id }`. */
  get labels(): Record<string, number> {
    return JSON.parse(this._row.labels);
  }
  /** The weights URI (ClearML's `url`). */
  get url(): string {
    return this._row.uri;
  }
  /** Whether the model is published (locked). */
  get published(): boolean {
    return this._row.published === 1;
  }
  /** Whether the model is archived (hidden from queries unless asked). */
  get archived(): boolean {
    return this._row.archived === 1;
  }
  /** When the model was created. */
  get createdAt(): Date {
    return new Date(hlcWall(this._row.created_at));
  }
  /** When anything about the model last changed (its newest event). */
  get lastUpdate(): Date {
    return new Date(hlcWall(this._row.last_update));
  }
  /** The iteration of the last weights update, if given. */
  get iteration(): number | undefined {
    return this._row.iteration ?? undefined;
  }
  /** SHA-256 of the weights, when known. */
  get hash(): string {
    return this._row.hash;
  }
  /** Size of the weights in bytes, when known. */
  get size(): number {
    return this._row.size;
  }

  /** @internal */
  protected _assertUnlocked(what: string): void {
    if (this._snap && this._row.published) throw new ModelPublishedError(this._id, what);
  }

  // ------------------------------------------------------------- edits

  /**
   * @internal Whether an edit would change nothing: the model exists and, reloaded, passes
   * `same`. Such an edit appends nothing (and so does not bump `lastUpdate`).
   */
  protected async _unchanged(same: () => boolean): Promise<boolean> {
    if (!this._created() || this._removed) return false;
    try {
      await this.reload();
    } catch {
      return false; // the edit itself reports what is wrong
    }
    return same();
  }

  /** Renames the model (the same name appends nothing). */
  async setName(name: string): Promise<void> {
    needString("name", name);
    await this._edit((cur) =>
      cur?.row.name === name
        ? undefined
        : [{ stream: "", type: "model.updated", data: { fields: { name } } }]
    );
  }

  /** Sets the comment; an empty string clears it. */
  async setComment(comment: string): Promise<void> {
    needString("comment", comment, true);
    await this._edit((cur) =>
      cur?.row.comment === comment
        ? undefined
        : [{ stream: "", type: "model.updated", data: { fields: { comment } } }]
    );
  }

  /** Moves the model to another project (by name). */
  async setProject(project: string): Promise<void> {
    needString("project", project);
    await this._edit((cur) =>
      cur?.row.project === project
        ? undefined
        : [{ stream: "", type: "model.updated", data: { fields: { project } } }]
    );
  }

  /** Replaces the tags (an empty list clears them). */
  async setTags(tags: string[]): Promise<void> {
    const next = needTags("tags", tags);
    await this._serial(() =>
      this._edit((snap) => {
        // Diff against the stored tags, not a stale snapshot; a stored model the store does not
        // show gets nothing (the reload after says why).
        if (!snap && this._created()) return undefined;
        const cur = new Set(snap ? snap.tags : this.tags);
        const add = next.filter((t) => !cur.has(t));
        const remove = [...cur].filter((t) => !next.includes(t));
        if (snap && !add.length && !remove.length) return undefined;
        return [{ stream: "", type: "model.tags_changed", data: { add, remove } }];
      })
    );
  }

  /** Adds tags: `addTags("a", "b")` or, the ClearML habit, `addTags(["a", "b"])`. */
  async addTags(...tags: (string | string[])[]): Promise<void> {
    const add = needTags("tags", tags.flat());
    if (!add.length) {
      await this._unchanged(() => true); // refreshes the snapshot, as an edit would
      return;
    }
    await this._edit((cur) => {
      const fresh = cur ? add.filter((t) => !cur.tags.includes(t)) : add;
      return fresh.length
        ? [{ stream: "", type: "model.tags_changed", data: { add: fresh } }]
        : undefined;
    });
  }

  /** Removes tags: `removeTags("a", "b")` or `removeTags(["a", "b"])`. */
  async removeTags(...tags: (string | string[])[]): Promise<void> {
    // A remove of a tag not seen here is kept: it may cancel an add made on another device.
    const remove = needTags("tags", tags.flat());
    if (remove.length) {
      await this._emit([{ stream: "", type: "model.tags_changed", data: { remove } }]);
    }
  }

  /**
   * Sets the system tags (ClearML's `system_tags` setter): `archived` in the list archives the
   * model, its absence unarchives it. `package` follows the weights (`updateWeightsPackage`), so
   * it must match the model; other system tags are refused, as modelog keeps no others.
   */
  async setSystemTags(tags: string[]): Promise<void> {
    const next = needTags("systemTags", tags);
    for (const t of next) {
      if (t !== "archived" && t !== "package") {
        throw new InvalidArgumentError(
          "systemTags",
          t,
          'modelog keeps only the system tags "archived" and "package"',
        );
      }
    }
    if (!this._snap) await this.reload();
    if (next.includes("package") !== (this._row.is_package === 1)) {
      throw new InvalidArgumentError(
        "systemTags",
        tags,
        '"package" follows the weights: store a package with updateWeightsPackage',
      );
    }
    if (next.includes("archived")) await this.archive();
    else await this.unarchive();
  }

  /** Publishes the model: weights, design, labels and framework become locked. One-way. */
  async publish(): Promise<void> {
    await this._ensureCreated();
    if (!this._snap) await this.reload();
    if (this.published) return;
    await this._emit([{ stream: "", type: "model.published", data: {} }]);
  }

  /** Archives the model (hidden from queries unless `includeArchived`). */
  async archive(): Promise<void> {
    await this._edit((cur) =>
      cur?.row.archived === 1 ? undefined : [{ stream: "", type: "model.archived", data: {} }]
    );
  }

  /** Restores an archived model. */
  async unarchive(): Promise<void> {
    await this._edit((cur) =>
      cur && cur.row.archived !== 1
        ? undefined
        : [{ stream: "", type: "model.unarchived", data: {} }]
    );
  }

  // ------------------------------------------------------------- metadata

  /**
   * Sets one metadata entry. The type is taken from the value (or `vType`: str, int, float,
   * bool, list, dict); lists and dicts are stored as JSON, booleans as `true`/`false`.
   */
  async setMetadata(
    key: string,
    value: unknown,
    vType?: MetadataType | null,
  ): Promise<boolean> {
    meta.checkKey(key);
    const entry = meta.toMetadataEntry(key, value, vType ?? undefined);
    await this._edit((snap) => {
      const cur = meta.metadataEntry(snap?.metadata, key);
      if (snap && cur?.value === entry.value && cur.type === entry.type) return undefined;
      return [{ stream: "", type: "model.metadata_changed", data: { set: { [key]: entry } } }];
    });
    return true;
  }

  /** Removes metadata keys. */
  async removeMetadata(...keys: string[]): Promise<void> {
    keys.forEach(meta.checkKey);
    await this._emit([{ stream: "", type: "model.metadata_changed", data: { remove: keys } }]);
  }

  /**
   * Sets many entries `{ key: { value, type } }`. With `replace` (default true) every other
   * key is removed.
   */
  async setAllMetadata(
    metadata: Record<string, { value: unknown; type?: MetadataType }>,
    replace = true,
  ): Promise<boolean> {
    const set = meta.toMetadataEntries(metadata);
    await this._serial(() =>
      this._edit((snap) => {
        // Remove the stored keys, not a stale snapshot's; a stored model the store does not
        // show gets nothing (the reload after says why).
        if (replace && !snap && this._created()) return undefined;
        const remove = replace
          ? Object.keys((snap ?? this._snap!).metadata).filter((k) => !Object.hasOwn(set, k))
          : [];
        return [{ stream: "", type: "model.metadata_changed", data: { set, remove } }];
      })
    );
    return true;
  }

  /** The stored string of a metadata key, or undefined. */
  getMetadata(key: string): string | undefined {
    meta.checkKey(key);
    return meta.metadataEntry(this._snap?.metadata, key)?.value;
  }

  /** A metadata value cast to its type (int, float, bool, list, dict, str). */
  getMetadataCasted(key: string): unknown {
    meta.checkKey(key);
    const e = meta.metadataEntry(this._snap?.metadata, key);
    return e ? meta.castMetadata(e) : undefined;
  }

  /** Every metadata entry `{ key: { key, type, value } }` (strings). */
  getAllMetadata(): Record<string, { key: string; type: string; value: string }> {
    const out: Record<string, { key: string; type: string; value: string }> = {};
    for (const [k, e] of Object.entries(this._snap?.metadata ?? {})) out[k] = { key: k, ...e };
    return out;
  }

  /** Every metadata value cast: a flat `{ key: value }`. */
  getAllMetadataCasted(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(this._snap?.metadata ?? {})) out[k] = meta.castMetadata(e);
    return out;
  }

  // ------------------------------------------------------------- weights

  /**
   * A local path to the weights: the local blob (by hash), else the URI (a `file://` path is
   * used directly; http(s) is downloaded to the cache and checked against the hash). A package
   * is extracted to a folder unless `extractArchive` is false. Throws a typed error when the
   * weights cannot be found (ClearML returns `None`); `raiseOnError: false` returns undefined.
   */
  async getLocalCopy(
    options: OrNull<weights.LocalCopyOptions> = {},
  ): Promise<string | undefined> {
    const o = noNulls(options) as weights.LocalCopyOptions;
    const raise = o.raiseOnError ?? true;
    try {
      if (!this._snap) await this.reload();
      const store = await this._getStore();
      const row = this._row;
      const ref = {
        id: this._id,
        uri: row.uri,
        hash: row.hash,
        isPackage: row.is_package === 1,
        foreignUri: await weights.uriArrivedByPull(store, this._id, row.uri),
      };
      return await weights.getLocalCopy(store, ref, o);
    } catch (e) {
      if (raise) throw e;
      return undefined;
    }
  }

  /**
   * The weights file, downloaded to the cache when remote (ClearML's `get_weights`); a package
   * is extracted only with `extractArchive: true`.
   */
  getWeights(options: OrNull<weights.LocalCopyOptions> = {}): Promise<string | undefined> {
    const o = noNulls(options);
    return this.getLocalCopy({ ...o, extractArchive: o.extractArchive ?? false });
  }

  /**
   * For a package model: extracts it and returns the folder (`returnPath`) or its top-level
   * entries; with `extractArchive: false`, the zip file itself. Throws `INVALID_ARGUMENT` when
   * the model is not a package (as ClearML's `ValueError`), and a weights error unless
   * `raiseOnError` is false (then undefined).
   */
  async getWeightsPackage(
    options: OrNull<{
      returnPath?: boolean;
      raiseOnError?: boolean;
      forceDownload?: boolean;
      extractArchive?: boolean;
      targetDir?: string;
    }> = {},
  ): Promise<string | string[] | undefined> {
    const { returnPath, extractArchive, ...o } = noNulls(options);
    if (!this._snap) await this.reload();
    if (!this._row.is_package) {
      throw new InvalidArgumentError(
        "model",
        this._id,
        "is not a package (no `package` system tag)",
      );
    }
    const extract = extractArchive ?? true;
    const path = await this.getLocalCopy({ ...o, extractArchive: extract });
    if (path === undefined) return undefined;
    if (returnPath || !extract) return returnPath ? path : [path];
    return await weights.packageEntries(path);
  }

  // ------------------------------------------------------------- history

  /** The model's events, newest first: who, when, what changed. Our audit trail. */
  async history(options: OrNull<{ limit?: number }> = {}): Promise<read.HistoryEntry[]> {
    const limit = read.checkLimit(noNulls(options).limit ?? 1000);
    return await read.modelHistory(await this._getStore(), this._id, limit);
  }

  // ------------------------------------------------------------- reports

  /**
   * Reports one scalar point (queued; written in batches). Returns a promise only when the
   * queue is full: `await` it in tight loops for back-pressure.
   */
  reportScalar(
    title: string,
    series: string,
    value: number,
    iteration: number,
  ): void | Promise<void> {
    const v = report.scalarValue(title, series, value, iteration);
    const store = this._store;
    // The hot path: a created model queues straight into its store (no point, no closure).
    if (store && !this._removed && this._created()) {
      return store.queueScalar(this._id, title, series, v, iteration);
    }
    return this._queueScalar({ title, series, value: v, iteration });
  }

  /** Reports a single value (title "Summary", iteration -2^31, as ClearML). */
  reportSingleValue(name: string, value: number): void | Promise<void> {
    return this._queueScalar(report.singleValuePoint(name, value));
  }

  /** @internal */
  protected _queueScalar(p: report.ScalarPoint): void | Promise<void> {
    return this._whenCreated((s, id) => s.queueScalar(id, p.title, p.series, p.value, p.iteration));
  }

  /**
   * @internal Queues a report now, or after the model's creation when it is still floating.
   * A creation that fails rejects the returned promise and, as callers seldom await reports,
   * is also recorded so the next `flush()` throws it (never an unhandled rejection).
   */
  protected _whenCreated(
    write: (s: Store, id: string) => void | Promise<void>,
  ): void | Promise<void> {
    if (this._removed) throw new ModelNotFoundError(this._id);
    const store = this._store;
    if (store && this._created()) return write(store, this._id);
    const p = this._ensureCreated().then(async (id) => {
      await write(await this._getStore(), id);
    });
    if (this._store) this._store.trackReport(p);
    else p.catch(() => {});
    return p;
  }

  /** @internal Whether the model is known to exist in the store already. */
  protected _created(): boolean {
    return true;
  }

  /** @internal */
  protected _queuePlot(p: fig.PlotResult): void | Promise<void> {
    const data = report.plotPayload(p);
    return this._whenCreated((s, id) => s.queuePlot(id, data));
  }

  /**
   * Reports a histogram (grouped bars by default). Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportHistogram(options: OrNull<fig.HistogramOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportHistogram(
    title: string,
    series: string,
    options?: ReportRest<fig.HistogramOptions>,
  ): void | Promise<void>;
  reportHistogram(
    options: OrNull<fig.HistogramOptions> | string,
    series?: string,
    rest?: ReportRest<fig.HistogramOptions>,
  ): void | Promise<void> {
    return this._queuePlot(
      report.plotBuilders.reportHistogram(reportOptions(options, series, rest)),
    );
  }

  /**
   * Reports a vector, drawn as a grouped bar chart like ClearML. Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportVector(options: OrNull<fig.VectorOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportVector(
    title: string,
    series: string,
    options?: ReportRest<fig.VectorOptions>,
  ): void | Promise<void>;
  reportVector(
    options: OrNull<fig.VectorOptions> | string,
    series?: string,
    rest?: ReportRest<fig.VectorOptions>,
  ): void | Promise<void> {
    return this._queuePlot(report.plotBuilders.reportVector(reportOptions(options, series, rest)));
  }

  /**
   * Reports a table: `tablePlot` (rows with a header row, or an array of records), `csv` (a
   * file path) or `url` (a CSV over http(s)). Exactly one. Also `(title, series, { ... })`.
   */
  reportTable(options: OrNull<report.TableReportOptions>): Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportTable(
    title: string,
    series: string,
    options?: ReportRest<report.TableReportOptions>,
  ): Promise<void>;
  async reportTable(
    options: OrNull<report.TableReportOptions> | string,
    series?: string,
    rest?: ReportRest<report.TableReportOptions>,
  ): Promise<void> {
    await this._queuePlot(await report.tableReport(reportOptions(options, series, rest)));
  }

  /**
   * Reports a line plot of one or more series (`series` is the list of lines). Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportLinePlot(options: OrNull<fig.LinePlotOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportLinePlot(
    title: string,
    series: fig.LineSeries[],
    options?: ReportRest<fig.LinePlotOptions>,
  ): void | Promise<void>;
  reportLinePlot(
    options: OrNull<fig.LinePlotOptions> | string,
    series?: fig.LineSeries[],
    rest?: ReportRest<fig.LinePlotOptions>,
  ): void | Promise<void> {
    return this._queuePlot(
      report.plotBuilders.reportLinePlot(reportOptions(options, series, rest)),
    );
  }

  /**
   * Reports a 2-D scatter (default mode "lines"). Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportScatter2d(options: OrNull<fig.Scatter2dOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportScatter2d(
    title: string,
    series: string,
    options?: ReportRest<fig.Scatter2dOptions>,
  ): void | Promise<void>;
  reportScatter2d(
    options: OrNull<fig.Scatter2dOptions> | string,
    series?: string,
    rest?: ReportRest<fig.Scatter2dOptions>,
  ): void | Promise<void> {
    return this._queuePlot(
      report.plotBuilders.reportScatter2d(reportOptions(options, series, rest)),
    );
  }

  /**
   * Reports a 3-D scatter. Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportScatter3d(options: OrNull<fig.Scatter3dOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportScatter3d(
    title: string,
    series: string | string[],
    options?: ReportRest<fig.Scatter3dOptions>,
  ): void | Promise<void>;
  reportScatter3d(
    options: OrNull<fig.Scatter3dOptions> | string,
    series?: string | string[],
    rest?: ReportRest<fig.Scatter3dOptions>,
  ): void | Promise<void> {
    return this._queuePlot(
      report.plotBuilders.reportScatter3d(reportOptions(options, series, rest)),
    );
  }

  /**
   * Reports a confusion matrix (heatmap). Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportConfusionMatrix(options: OrNull<fig.ConfusionMatrixOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportConfusionMatrix(
    title: string,
    series: string,
    options?: ReportRest<fig.ConfusionMatrixOptions>,
  ): void | Promise<void>;
  reportConfusionMatrix(
    options: OrNull<fig.ConfusionMatrixOptions> | string,
    series?: string,
    rest?: ReportRest<fig.ConfusionMatrixOptions>,
  ): void | Promise<void> {
    return this._queuePlot(
      report.plotBuilders.reportConfusionMatrix(reportOptions(options, series, rest)),
    );
  }

  /**
   * Reports a matrix (an alias of the confusion matrix, without `comment`). Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportMatrix(options: OrNull<MatrixOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportMatrix(
    title: string,
    series: string,
    options?: ReportRest<MatrixOptions>,
  ): void | Promise<void>;
  reportMatrix(
    options: OrNull<MatrixOptions> | string,
    series?: string,
    rest?: ReportRest<MatrixOptions>,
  ): void | Promise<void> {
    return this._queuePlot(report.plotBuilders.reportMatrix(reportOptions(options, series, rest)));
  }

  /**
   * Reports a 3-D surface. Call it with one options object, or as `(title, series, { ... })` like ClearML's
   * docstrings; `null` options mean not given.
   */
  reportSurface(options: OrNull<fig.SurfaceOptions>): void | Promise<void>;
  /** The positional form `(title, series, options)`. */
  reportSurface(
    title: string,
    series: string,
    options?: ReportRest<fig.SurfaceOptions>,
  ): void | Promise<void>;
  reportSurface(
    options: OrNull<fig.SurfaceOptions> | string,
    series?: string,
    rest?: ReportRest<fig.SurfaceOptions>,
  ): void | Promise<void> {
    return this._queuePlot(report.plotBuilders.reportSurface(reportOptions(options, series, rest)));
  }

  /** Writes every queued report of the store now. */
  async flush(): Promise<void> {
    await (await this._getStore()).flush();
  }

  // ------------------------------------------------------------- read-back and export

  /**
   * The scalars reported on this model: `{ title: { series: { x, y } } }`, sorted by
   * iteration; for the same iteration the last report wins. Single values are not included.
   */
  async getReportedScalars(
    filter: { title?: string; series?: string } = {},
  ): Promise<read.ReportedScalars> {
    return await read.reportedScalars(await this._getStore(), this._id, filter);
  }

  /**
   * The scalars reported on this model in pages, for series too long to hold at once: series by
   * series in {@link getReportedScalars}' order, each in iteration order (the last report of an
   * iteration wins), single values left out; every page of a series but its last holds
   * `pageSize` points. Reading holds about a page, not the series. Bad options throw here.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openStore, OutputModel, Task } from "../../mod.ts";
   * const home = await Deno.makeTempDir();
   * const store = await openStore({ home });
   * const task = await Task.init({ projectName: "demo", taskName: "pages", store });
   * const model = new OutputModel({ task, name: "net" });
   * for (let i = 0; i < 5; i++) model.reportScalar("loss", "train", 1 / (i + 1), i);
   * const pages = [];
   * for await (const page of model.iterateReportedScalars({ title: "loss", pageSize: 2 })) {
   *   pages.push(page);
   * }
   * assert.deepEqual(pages.map((p) => p.x), [[0, 1], [2, 3], [4]]);
   * assert.deepEqual(pages[0], { title: "loss", series: "train", x: [0, 1], y: [1, 0.5] });
   * await task.close();
   * await store.close();
   * await Deno.remove(home, { recursive: true });
   * ```
   */
  iterateReportedScalars(
    options: read.ScalarPageOptions = {},
  ): AsyncGenerator<read.ScalarPage, void, undefined> {
    return read.scalarPages(() => this._getStore(), this._id, read.checkPageOptions(options));
  }

  /** The single values reported on this model: `{ name: value }` (the last report wins). */
  async getReportedSingleValues(): Promise<Record<string, number>> {
    return await read.reportedSingleValues(await this._getStore(), this._id);
  }

  /** The per-series scalar summary (last, min, max, count), read from its projection. */
  async getScalarSummary(): Promise<read.ScalarSummary[]> {
    return await read.scalarSummary(await this._getStore(), this._id);
  }

  /** The plots reported on this model, as plotly figures (the last report per iteration). */
  async getReportedPlots(
    filter: { title?: string; series?: string; iteration?: number } = {},
  ): Promise<read.ReportedPlot[]> {
    return await read.reportedPlots(await this._getStore(), this._id, filter);
  }

  /** Writes every scalar (and single value) as CSV: `title,series,iteration,value`. */
  async exportScalarsCsv(path: string): Promise<number> {
    needString("path", path);
    return await writeScalarsCsv(
      path,
      await read.readScalarPoints(await this._getStore(), this._id, {}),
    );
  }

  /**
   * Writes one self-contained HTML report (plotly inlined, no network needed): fields,
   * metadata, labels, single values, one chart per scalar title and every plot.
   */
  async writeReport(path: string, options: { maxPointsPerSeries?: number } = {}): Promise<void> {
    needString("path", path);
    await this.reload();
    const scalars = await this.getReportedScalars();
    // Labels and metadata have their own sections: keep them out of the fields table.
    const { labels: _labels, metadata: _metadata, ...fields } = this.toJSON();
    await writeReportHtml(path, {
      model: fields,
      labels: this.labels,
      metadata: this._snap!.metadata,
      singleValues: await this.getReportedSingleValues(),
      scalars,
      plots: await this.getReportedPlots(),
    }, options);
  }

  /** The model's fields as a plain object. */
  toJSON(): Record<string, unknown> {
    return this._snap ? modelFields(this) : { id: this._id };
  }
}
