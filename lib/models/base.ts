/**
 * BaseModel: every getter, reporter, metadata and weights method shared by `Model`,
 * `InputModel` and `OutputModel`.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { getDefaultStore } from "../store/store.ts";
import type { ModelRow } from "../projections/project.ts";
import {
  eventsById,
  loadModelView,
  modelEvents,
  plotEventIds,
  type ReportSelector,
  scalarChunkRefs,
  scalarSeriesOf,
} from "../projections/read.ts";
import {
  decodeNumber,
  type EncodedNumber,
  type EventPayloads,
  type MetadataEntry,
  type MetadataType,
  type NewEvent,
  type StoredEvent,
} from "../events.ts";
import { hlcWall } from "../clock.ts";
import {
  InvalidArgumentError,
  ModelNotFoundError,
  ModelogError,
  ModelPublishedError,
  WeightsNotFoundError,
} from "../errors.ts";
import {
  confusionMatrixFigure,
  type ConfusionMatrixOptions,
  histogramFigure,
  type HistogramOptions,
  linePlotFigure,
  type LinePlotOptions,
  type PlotResult,
  scatter2dFigure,
  type Scatter2dOptions,
  scatter3dFigure,
  type Scatter3dOptions,
  surfaceFigure,
  type SurfaceOptions,
  tableFigure,
  type TableOptions,
  vectorFigure,
  type VectorOptions,
} from "../reports/figures.ts";
import { parseCsvTable, scalarsToCsv } from "../reports/csv.ts";
import { renderReportHtml } from "../reports/html.ts";
import { loadPlotlyJs } from "../deps.ts";
import { downloadToCache, fileUriToPath } from "../weights/remote.ts";
import { extractZip } from "../weights/zip.ts";
import { sha256File } from "../weights/blobs.ts";
import { baseName, needString, needTags } from "./util.ts";
import { join } from "node:path";

/** The iteration ClearML uses for single values. */
export const SINGLE_VALUE_ITERATION: number = -(2 ** 31);

const META_TYPES: readonly MetadataType[] = ["str", "int", "float", "bool", "list", "dict"];

/** A model's data as loaded from the projections. */
export interface ModelSnapshot {
  /** The `models` projection row. */
  row: ModelRow;
  /** Present user tags, sorted. */
  tags: string[];
  /** Present metadata entries. */
  metadata: Record<string, MetadataEntry>;
}

/** One entry of a model's history (its events, newest first). */
export interface HistoryEntry {
  /** The event id. */
  id: string;
  /** The event type, e.g. `model.tags_changed`. */
  type: string;
  /** When, from the event's hybrid logical clock. */
  at: Date;
  /** The raw HLC timestamp. */
  hlc: string;
  /** Who made the change. */
  actor: string;
  /** The device that made it. */
  origin: string;
  /** What changed (the event payload; scalar points are summarised). */
  changes: Record<string, unknown>;
}

/** Scalars read back: title -> series -> points sorted by iteration. */
export type ReportedScalars = Record<string, Record<string, { x: number[]; y: number[] }>>;

/** A per-series summary of reported scalars, kept as a projection. */
export interface ScalarSummary {
  /** The title (metric). */
  title: string;
  /** The series (variant). */
  series: string;
  /** The last reported value. */
  last: number;
  /** The iteration of the last reported value. */
  lastIteration: number;
  /** Smallest finite value ever reported (NaN and ±Infinity skipped; overwritten points still count), null when none. */
  min: number | null;
  /** Largest finite value ever reported (as `min`), null when none. */
  max: number | null;
  /** Points reported, re-reports of an iteration included (the log keeps them all). */
  count: number;
  /** Largest iteration reported. */
  maxIteration: number;
}

/** A reported plot read back. */
export interface ReportedPlot extends PlotResult {
  /** When it was reported. */
  reportedAt: Date;
}

/** Options of `getLocalCopy`. */
export interface LocalCopyOptions {
  /** Extract a package (zip) and return the folder. Default: true for packages. */
  extractArchive?: boolean;
  /** Download again even when a cached copy exists. */
  forceDownload?: boolean;
  /** Copy into this folder instead of the cache. */
  targetDir?: string;
  /** Throw instead of returning undefined when the weights cannot be found. */
  raiseOnError?: boolean;
}

/** Reads a model's snapshot from the projections (undefined when absent or removed). */
export async function loadSnapshot(store: Store, id: string): Promise<ModelSnapshot | undefined> {
  return await loadModelView(store, id);
}

/** Converts a JS value to its stored metadata string and type name. */
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
  else {throw new InvalidArgumentError(
      `metadata.${key}`,
      value,
      "must be a string, number, boolean, array or object",
    );}
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
  return { value: s, type };
}

/** Casts a stored metadata entry back to a typed value (`getMetadataCasted`). */
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

function checkKey(key: unknown): string {
  if (typeof key !== "string" || key.trim().length === 0) {
    throw new InvalidArgumentError("key", key, "metadata keys must be non-empty strings");
  }
  return key;
}

/** The WHERE clause of a read of one model's reports, by title, series and iteration. */
function reportFilter(
  f: { title?: string; series?: string; iteration?: number },
): ReportSelector {
  if (f === null || typeof f !== "object") {
    throw new InvalidArgumentError(
      "filter",
      f,
      "must be an object { title?, series?, iteration? }",
    );
  }
  if (f.title !== undefined && typeof f.title !== "string") {
    throw new InvalidArgumentError("title", f.title, "must be a string");
  }
  if (f.series !== undefined && typeof f.series !== "string") {
    throw new InvalidArgumentError("series", f.series, "must be a string");
  }
  if (f.iteration !== undefined && !Number.isSafeInteger(f.iteration)) {
    throw new InvalidArgumentError("iteration", f.iteration, "must be an integer");
  }
  const out: ReportSelector = {};
  for (const k of ["title", "series", "iteration"] as const) {
    if (f[k] !== undefined) (out as Record<string, unknown>)[k] = f[k];
  }
  return out;
}

/** A report title or series: a string without NUL (projection keys join names with NUL). */
function needName(field: string, v: unknown, allowEmpty = false): string {
  needString(field, v, allowEmpty);
  if ((v as string).includes("\0")) {
    throw new InvalidArgumentError(field, v, "must not contain a NUL character");
  }
  return v as string;
}

function needNumber(field: string, v: unknown): number {
  if (typeof v === "bigint") return Number(v);
  if (typeof v !== "number") throw new InvalidArgumentError(field, v, "must be a number");
  return v;
}

/**
 * Checks a report iteration: a safe integer, as the plot builders require. A larger integer
 * would be stored, but libSQL refuses to read it back as a JavaScript number, which would break
 * every later read of the model's scalars and summary.
 */
function needIteration(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError("iteration", v, "must be an integer (a safe integer)");
  }
  return v;
}

/** The tail of each model's chain of serialized edits, per store. */
const modelLocks = new WeakMap<Store, Map<string, Promise<void>>>();

/**
 * The shared base of `Model`, `InputModel` and `OutputModel`: getters over the last loaded
 * snapshot, reporters, metadata, tags, publish/archive, weights and read-back.
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

  /** @internal */
  protected constructor(id: string, store?: Store, snap?: ModelSnapshot) {
    this._id = id;
    this._store = store;
    this._snap = snap;
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

  /** @internal Appends durable events on this model, then reloads the snapshot. */
  protected async _emit(events: NewEvent[]): Promise<void> {
    const id = await this._ensureCreated();
    const store = await this._getStore();
    try {
      await store.append(events.map((e) => ({ ...e, stream: `model:${id}` })), {
        requireModel: id,
      });
    } catch (e) {
      if (e instanceof ModelNotFoundError) this._removed = true;
      throw e;
    }
    await this.reload();
  }

  /**
   * @internal Runs a read-then-write edit (`setTags`, `setAllMetadata` with replace) after every
   * earlier one on the same model in this process, so concurrent calls act one after another.
   */
  protected async _serial<T>(fn: () => Promise<T>): Promise<T> {
    const id = await this._ensureCreated();
    const store = await this._getStore();
    let locks = modelLocks.get(store);
    if (!locks) modelLocks.set(store, locks = new Map());
    const run = (locks.get(id) ?? Promise.resolve()).then(fn, fn);
    const tail = run.then(() => {}, () => {});
    locks.set(id, tail);
    tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return await run;
  }

  /** @internal */
  protected get _row(): ModelRow {
    if (!this._snap) {
      throw new ModelogError(
        "MODEL_NOT_FOUND",
        `Model ${JSON.stringify(this._id)} is not loaded: await Model.get(id) or reload()`,
      );
    }
    return this._snap.row;
  }

  /** Reloads the model from the store. */
  async reload(): Promise<this> {
    const store = await this._getStore();
    const snap = await loadSnapshot(store, this._id);
    if (!snap) {
      if (this._snap) this._removed = true;
      throw new ModelNotFoundError(this._id);
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
    const t = this._row.config_text;
    if (!t.trim()) return {};
    try {
      return JSON.parse(t);
    } catch {
      throw new InvalidArgumentError(
        "configText",
        t.slice(0, 80),
        "is not JSON, so it has no dict form",
      );
    }
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

  /** Renames the model. */
  async setName(name: string): Promise<void> {
    needString("name", name);
    await this._emit([{ stream: "", type: "model.updated", data: { fields: { name } } }]);
  }

  /** Sets the comment; an empty string clears it. */
  async setComment(comment: string): Promise<void> {
    needString("comment", comment, true);
    await this._emit([{ stream: "", type: "model.updated", data: { fields: { comment } } }]);
  }

  /** Moves the model to another project (by name). */
  async setProject(project: string): Promise<void> {
    needString("project", project);
    await this._emit([{ stream: "", type: "model.updated", data: { fields: { project } } }]);
  }

  /** Replaces the tags (an empty list clears them). */
  async setTags(tags: string[]): Promise<void> {
    const next = needTags("tags", tags);
    await this._serial(async () => {
      await this.reload(); // diff against the stored tags, not a stale snapshot
      const cur = new Set(this.tags);
      const add = next.filter((t) => !cur.has(t));
      const remove = [...cur].filter((t) => !next.includes(t));
      await this._emit([{ stream: "", type: "model.tags_changed", data: { add, remove } }]);
    });
  }

  /** Adds tags. */
  async addTags(...tags: string[]): Promise<void> {
    const add = needTags("tags", tags);
    if (add.length) await this._emit([{ stream: "", type: "model.tags_changed", data: { add } }]);
  }

  /** Removes tags. */
  async removeTags(...tags: string[]): Promise<void> {
    const remove = needTags("tags", tags);
    if (remove.length) {
      await this._emit([{ stream: "", type: "model.tags_changed", data: { remove } }]);
    }
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
    await this._emit([{ stream: "", type: "model.archived", data: {} }]);
  }

  /** Restores an archived model. */
  async unarchive(): Promise<void> {
    await this._emit([{ stream: "", type: "model.unarchived", data: {} }]);
  }

  // ------------------------------------------------------------- metadata

  /**
   * Sets one metadata entry. The type is taken from the value (or `vType`: str, int, float,
   * bool, list, dict); lists and dicts are stored as JSON, booleans as `true`/`false`.
   */
  async setMetadata(key: string, value: unknown, vType?: MetadataType): Promise<boolean> {
    checkKey(key);
    const entry = toMetadataEntry(key, value, vType);
    await this._emit([{
      stream: "",
      type: "model.metadata_changed",
      data: { set: { [key]: entry } },
    }]);
    return true;
  }

  /** Removes metadata keys. */
  async removeMetadata(...keys: string[]): Promise<void> {
    keys.forEach(checkKey);
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
    await this._serial(async () => {
      if (replace) await this.reload(); // remove the stored keys, not a stale snapshot's
      const remove = replace
        ? Object.keys(this._snap!.metadata).filter((k) => !Object.hasOwn(set, k))
        : [];
      await this._emit([{ stream: "", type: "model.metadata_changed", data: { set, remove } }]);
    });
    return true;
  }

  /** The stored string of a metadata key, or undefined. */
  getMetadata(key: string): string | undefined {
    checkKey(key);
    return this.#metaEntry(key)?.value;
  }

  /** A metadata value cast to its type (int, float, bool, list, dict, str). */
  getMetadataCasted(key: string): unknown {
    checkKey(key);
    const e = this.#metaEntry(key);
    return e ? castMetadata(e) : undefined;
  }

  /** The stored entry of a key (own keys only: "toString" is not inherited metadata). */
  #metaEntry(key: string): MetadataEntry | undefined {
    const md = this._snap?.metadata;
    return md && Object.hasOwn(md, key) ? md[key] : undefined;
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
    for (const [k, e] of Object.entries(this._snap?.metadata ?? {})) out[k] = castMetadata(e);
    return out;
  }

  // ------------------------------------------------------------- weights

  /**
   * A local path to the weights: the local blob (by hash), else the URI (a `file://` path is
   * used directly; http(s) is downloaded to the cache and checked against the hash). A package
   * is extracted to a folder unless `extractArchive` is false.
   */
  async getLocalCopy(options: LocalCopyOptions = {}): Promise<string | undefined> {
    const extract = options.extractArchive ?? this._row.is_package === 1;
    try {
      // A package goes to the cache and only its contents to targetDir.
      const { targetDir: _target, ...rest } = options;
      const file = await this._fetchWeights(extract ? rest : options);
      if (!extract) return file;
      const dest = options.targetDir ??
        join((await this._getStore()).cacheDir, "extracted", this._row.hash || this._id);
      if (options.forceDownload) await Deno.remove(dest, { recursive: true }).catch(() => {});
      await extractZip(file, dest);
      return dest;
    } catch (e) {
      if (options.raiseOnError ?? true) throw e;
      return undefined;
    }
  }

  /** The weights file (not extracted). ClearML's `get_weights`. */
  getWeights(options: Omit<LocalCopyOptions, "extractArchive"> = {}): Promise<string | undefined> {
    return this.getLocalCopy({ ...options, extractArchive: false });
  }

  /**
   * For a package model: extracts it and returns the folder (`returnPath`) or its top-level
   * entries. Throws `INVALID_ARGUMENT` when the model is not a package.
   */
  async getWeightsPackage(
    options: { returnPath?: boolean; forceDownload?: boolean; targetDir?: string } = {},
  ): Promise<string | string[]> {
    if (!this._row.is_package) {
      throw new InvalidArgumentError(
        "model",
        this._id,
        "is not a package (no `package` system tag)",
      );
    }
    const dir = (await this.getLocalCopy({ ...options, extractArchive: true }))!;
    if (options.returnPath) return dir;
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(join(dir, e.name));
    return names.sort();
  }

  /** @internal Resolves the weights to a local file. */
  protected async _fetchWeights(options: LocalCopyOptions): Promise<string> {
    const store = await this._getStore();
    const row = this._row;
    const name = baseName(row.uri) || "weights";
    if (row.hash && !(await store.blobs.has(row.hash)) && store.blobFetcher) {
      await store.blobFetcher(row.hash).catch(() => {});
    }
    if (row.hash && (await store.blobs.has(row.hash))) {
      const dir = options.targetDir ?? join(store.cacheDir, "models", row.hash);
      const dest = join(dir, name);
      await Deno.mkdir(dir, { recursive: true });
      let exists = await Deno.stat(dest).then(() => true, () => false);
      // The cache folder is keyed by hash; a file of that name in a user's folder may be
      // anything: keep it only when it holds these very bytes.
      if (exists && options.targetDir !== undefined && !options.forceDownload) {
        exists = (await sha256File(dest).catch(() => undefined))?.hash === row.hash;
        if (!exists) await Deno.remove(dest);
      }
      if (exists && options.forceDownload) await Deno.remove(dest);
      if (!exists || options.forceDownload) {
        // A copy, not a hard link: writing to the returned file must never change the
        // content-addressed blob (copy_file_range makes this cheap on one filesystem).
        await Deno.copyFile(store.blobs.pathOf(row.hash), dest);
      }
      return dest;
    }
    if (!row.uri) throw new WeightsNotFoundError(this._id, "the model has no weights");
    if (row.uri.startsWith("file://") || !/^[a-z][a-z0-9+.-]*:\/\//i.test(row.uri)) {
      const p = fileUriToPath(row.uri);
      const ok = await Deno.stat(p).then((s) => s.isFile, () => false);
      if (!ok) throw new WeightsNotFoundError(row.uri);
      if (!options.targetDir) return p;
      await Deno.mkdir(options.targetDir, { recursive: true });
      const dest = join(options.targetDir, baseName(p));
      await Deno.copyFile(p, dest);
      return dest;
    }
    if (/^https?:\/\//i.test(row.uri)) {
      const path = await downloadToCache(row.uri, join(store.cacheDir, "downloads"), {
        force: options.forceDownload,
        expectedHash: row.hash || undefined,
      });
      if (!options.targetDir) return path;
      await Deno.mkdir(options.targetDir, { recursive: true });
      const dest = join(options.targetDir, baseName(path));
      await Deno.copyFile(path, dest);
      return dest;
    }
    throw new WeightsNotFoundError(row.uri, "unsupported URI scheme");
  }

  // ------------------------------------------------------------- history

  /** The model's events, newest first: who, when, what changed. Our audit trail. */
  async history(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const limit = options.limit ?? 1000;
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidArgumentError("limit", limit, "must be a positive integer");
    }
    const store = await this._getStore();
    await store.flush();
    const events = await modelEvents(store, this._id, limit);
    return events.map((e: StoredEvent) => {
      let changes = e.data as Record<string, unknown>;
      if (e.type === "metric.scalars") {
        const d = e.data as EventPayloads["metric.scalars"];
        changes = { title: d.title, series: d.series, points: d.iters.length };
      } else if (e.type === "metric.plot") {
        const d = e.data as EventPayloads["metric.plot"];
        changes = { kind: d.kind, title: d.title, series: d.series, iteration: d.iteration };
      }
      return {
        id: e.id,
        type: e.type,
        at: new Date(hlcWall(e.at)),
        hlc: e.at,
        actor: e.actor,
        origin: e.origin,
        changes,
      };
    });
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
    needName("title", title);
    needName("series", series, true);
    const v = needNumber("value", value);
    needIteration(iteration);
    return this._queueScalar(title, series, v, iteration);
  }

  /** Reports a single value (title "Summary", iteration -2^31, as ClearML). */
  reportSingleValue(name: string, value: number): void | Promise<void> {
    needName("name", name);
    const v = needNumber("value", value);
    return this._queueScalar("Summary", name, v, SINGLE_VALUE_ITERATION);
  }

  /** @internal */
  protected _queueScalar(
    title: string,
    series: string,
    value: number,
    it: number,
  ): void | Promise<void> {
    return this._whenCreated((s, id) => s.queueScalar(id, title, series, value, it));
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
  protected _queuePlot(p: PlotResult): void | Promise<void> {
    const data = {
      kind: p.kind,
      title: p.title,
      series: p.series,
      iteration: p.iteration,
      figure: p.figure,
    };
    return this._whenCreated((s, id) => s.queuePlot(id, data));
  }

  /** Reports a histogram (grouped bars by default). */
  reportHistogram(options: HistogramOptions): void | Promise<void> {
    return this._queuePlot(histogramFigure(options));
  }

  /** Reports a vector, drawn as a grouped bar chart like ClearML. */
  reportVector(options: VectorOptions): void | Promise<void> {
    return this._queuePlot(vectorFigure(options));
  }

  /**
   * Reports a table: `tablePlot` (rows with a header row, or an array of records), `csv` (a
   * file path) or `url` (a CSV over http(s)). Exactly one.
   */
  async reportTable(
    options: Omit<TableOptions, "csvText"> & { csv?: string; url?: string },
  ): Promise<void> {
    const { csv, url, ...rest } = options;
    const given = [rest.tablePlot !== undefined, csv !== undefined, url !== undefined].filter(
      Boolean,
    );
    if (given.length !== 1) {
      throw new InvalidArgumentError(
        "tablePlot/csv/url",
        { tablePlot: rest.tablePlot !== undefined, csv, url },
        "give exactly one of tablePlot, csv or url",
      );
    }
    let csvText: string | undefined;
    if (csv !== undefined) {
      needString("csv", csv);
      try {
        csvText = await Deno.readTextFile(csv);
      } catch (e) {
        throw new InvalidArgumentError("csv", csv, `cannot be read: ${(e as Error).message}`);
      }
    } else if (url !== undefined) {
      needString("url", url);
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) }).catch((e) => {
        throw new InvalidArgumentError("url", url, `cannot be fetched: ${e.message}`);
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new InvalidArgumentError("url", url, `answered HTTP ${res.status}`);
      }
      csvText = await res.text();
    }
    const source = csv !== undefined ? "csv" : "url";
    if (csvText !== undefined) parseCsvTable(csvText, source);
    let figure: PlotResult;
    try {
      figure = tableFigure({ ...rest, ...(csvText !== undefined ? { csvText } : {}) });
    } catch (e) {
      // The builder names its own csvText argument; name the one the caller gave.
      if (e instanceof InvalidArgumentError && e.field === "csvText") {
        throw new InvalidArgumentError(
          source,
          source === "csv" ? csv : url,
          `its CSV is not a table (${e.message})`,
        );
      }
      throw e;
    }
    await this._queuePlot(figure);
  }

  /** Reports a line plot of one or more series. */
  reportLinePlot(options: LinePlotOptions): void | Promise<void> {
    return this._queuePlot(linePlotFigure(options));
  }

  /** Reports a 2-D scatter (default mode "lines"). */
  reportScatter2d(options: Scatter2dOptions): void | Promise<void> {
    return this._queuePlot(scatter2dFigure(options));
  }

  /** Reports a 3-D scatter. */
  reportScatter3d(options: Scatter3dOptions): void | Promise<void> {
    return this._queuePlot(scatter3dFigure(options));
  }

  /** Reports a confusion matrix (heatmap). */
  reportConfusionMatrix(options: ConfusionMatrixOptions): void | Promise<void> {
    return this._queuePlot(confusionMatrixFigure(options, "confusion_matrix"));
  }

  /** Reports a matrix (an alias of the confusion matrix, without `comment`). */
  reportMatrix(options: Omit<ConfusionMatrixOptions, "comment">): void | Promise<void> {
    return this._queuePlot(confusionMatrixFigure(options, "matrix"));
  }

  /** Reports a 3-D surface. */
  reportSurface(options: SurfaceOptions): void | Promise<void> {
    return this._queuePlot(surfaceFigure(options));
  }

  /** Writes every queued report of the store now. */
  async flush(): Promise<void> {
    await (await this._getStore()).flush();
  }

  /** @internal */
  protected async _readChunks(
    filter: { title?: string; series?: string },
  ): Promise<Map<string, Map<string, Map<number, number>>>> {
    const store = await this._getStore();
    await store.flush();
    const chunks = await scalarChunkRefs(store, this._id, reportFilter(filter));
    const out = new Map<string, Map<string, Map<number, number>>>();
    for (let i = 0; i < chunks.length; i += 200) {
      const part = chunks.slice(i, i + 200);
      const events = await eventsById(store, part.map((c) => c.eventId));
      for (const c of part) {
        const e = events.get(c.eventId);
        if (!e) continue;
        const d = e.data as EventPayloads["metric.scalars"];
        let t = out.get(d.title);
        if (!t) out.set(d.title, t = new Map());
        let s = t.get(d.series);
        if (!s) t.set(d.series, s = new Map());
        const n = d.iters.length;
        for (let j = 0; j < n; j++) {
          const v = d.values[j]!;
          s.set(d.iters[j]!, typeof v === "number" ? v : decodeNumber(v as EncodedNumber));
        }
      }
    }
    return out;
  }

  /**
   * The scalars reported on this model: `{ title: { series: { x, y } } }`, sorted by
   * iteration; for the same iteration the last report wins. Single values are not included.
   */
  async getReportedScalars(
    filter: { title?: string; series?: string } = {},
  ): Promise<ReportedScalars> {
    const raw = await this._readChunks(filter);
    const out: ReportedScalars = {};
    for (const [title, byS] of raw) {
      for (const [series, pts] of byS) {
        pts.delete(SINGLE_VALUE_ITERATION);
        if (pts.size === 0) continue;
        const x = [...pts.keys()];
        let sorted = true;
        for (let i = 1; i < x.length; i++) {
          if (x[i]! < x[i - 1]!) {
            sorted = false;
            break;
          }
        }
        if (!sorted) x.sort((a, b) => a - b);
        const y = new Array<number>(x.length);
        for (let i = 0; i < x.length; i++) y[i] = pts.get(x[i]!)!;
        (out[title] ??= {})[series] = { x, y };
      }
    }
    return out;
  }

  /** The single values reported on this model: `{ name: value }` (the last report wins). */
  async getReportedSingleValues(): Promise<Record<string, number>> {
    const raw = await this._readChunks({ title: "Summary" });
    const out: Record<string, number> = {};
    for (const [series, pts] of raw.get("Summary") ?? []) {
      if (pts.has(SINGLE_VALUE_ITERATION)) out[series] = pts.get(SINGLE_VALUE_ITERATION)!;
    }
    return out;
  }

  /** The per-series scalar summary (last, min, max, count), read from its projection. */
  async getScalarSummary(): Promise<ScalarSummary[]> {
    const store = await this._getStore();
    await store.flush();
    const rows = await scalarSeriesOf(store, this._id);
    return rows.map((r) => ({
      title: r.title,
      series: r.series,
      last: decodeNumber(JSON.parse(r.last)),
      lastIteration: r.last_iter,
      min: r.min,
      max: r.max,
      count: r.count,
      maxIteration: r.max_iter,
    }));
  }

  /** The plots reported on this model, as plotly figures (the last report per iteration). */
  async getReportedPlots(
    filter: { title?: string; series?: string; iteration?: number } = {},
  ): Promise<ReportedPlot[]> {
    const store = await this._getStore();
    await store.flush();
    const ids = await plotEventIds(store, this._id, reportFilter(filter));
    const events = await eventsById(store, ids);
    const out: ReportedPlot[] = [];
    for (const id of ids) {
      const e = events.get(id);
      if (!e) continue;
      const d = e.data as EventPayloads["metric.plot"];
      out.push({ ...d, reportedAt: new Date(hlcWall(e.at)) });
    }
    return out;
  }

  /** Writes every scalar (and single value) as CSV: `title,series,iteration,value`. */
  async exportScalarsCsv(path: string): Promise<number> {
    needString("path", path);
    const raw = await this._readChunks({});
    const rows: { title: string; series: string; iteration: number; value: number }[] = [];
    for (const [title, byS] of raw) {
      for (const [series, pts] of byS) {
        for (const it of [...pts.keys()].sort((a, b) => a - b)) {
          rows.push({ title, series, iteration: it, value: pts.get(it)! });
        }
      }
    }
    try {
      await Deno.writeTextFile(path, scalarsToCsv(rows));
    } catch (e) {
      throw new InvalidArgumentError("path", path, `cannot be written: ${(e as Error).message}`);
    }
    return rows.length;
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
    const html = renderReportHtml({
      model: fields,
      labels: this.labels,
      metadata: this._snap!.metadata,
      singleValues: await this.getReportedSingleValues(),
      scalars: Object.entries(scalars).map(([title, s]) => ({
        title,
        series: Object.entries(s).map(([name, p]) => ({ name, x: p.x, y: p.y })),
      })),
      plots: await this.getReportedPlots(),
    }, { plotlyJs: await loadPlotlyJs(), ...options });
    await Deno.writeTextFile(path, html);
  }

  /** The model's fields as a plain object. */
  toJSON(): Record<string, unknown> {
    if (!this._snap) return { id: this._id };
    return {
      id: this.id,
      name: this.name,
      project: this.project,
      framework: this.framework,
      tags: this.tags,
      systemTags: this.systemTags,
      published: this.published,
      archived: this.archived,
      createdAt: this.createdAt.toISOString(),
      lastUpdate: this.lastUpdate.toISOString(),
      url: this.url,
      hash: this.hash,
      size: this.size,
      iteration: this.iteration ?? null,
      comment: this.comment,
      configText: this.configText,
      labels: this.labels,
      task: this.task,
      originalTask: this.originalTask,
      parent: this.parent,
      metadata: this.getAllMetadataCasted(),
    };
  }
}
