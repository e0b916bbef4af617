/**
 * modelog: ClearML's model store API (`Model`, `InputModel`, `OutputModel` and the `Task`
 * calls that touch models) for Deno, local-first. Every change is an event in a local libSQL
 * log; queries read projections built from it; an optional sync worker shares it with a
 * modelog server.
 *
 * @example Register a model, report on it and query it
 * ```ts
 * import assert from "node:assert/strict";
 * import { Model, openStore, OutputModel, Task } from "./mod.ts";
 *
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "examples", taskName: "train", store });
 * const model = new OutputModel({ task, framework: "PyTorch", tags: ["demo"] });
 * await model.updateLabels({ background: 0, person: 1 });
 * for (let i = 0; i < 10; i++) model.reportScalar("loss", "train", 1 / (i + 1), i);
 * await model.publish();
 * const found = await Model.queryModels({ projectName: "examples", tags: ["demo"], store });
 * assert.equal(found[0]?.published, true);
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 *
 * @module
 */
export {
  HashMismatchError,
  InvalidArgumentError,
  ModelNotFoundError,
  ModelogError,
  type ModelogErrorCode,
  ModelPublishedError,
  StoreLockedError,
  SyncError,
  WeightsNotFoundError,
} from "./lib/errors.ts";
export {
  openStore,
  type RebuildResult,
  type RefusedEvent,
  Store,
  type StoreOptions,
} from "./lib/store/store.ts";
export type { QuarantineChange, QuarantineRow } from "./lib/store/quarantine.ts";
export { configure, defaultHome, getDefaultStore } from "./lib/store/default.ts";
export {
  BaseModel,
  type HistoryEntry,
  type LocalCopyOptions,
  type MatrixOptions,
  type OrNull,
  type ReportedPlot,
  type ReportedScalars,
  type ReportRest,
  type ScalarPage,
  type ScalarPageOptions,
  type ScalarSummary,
  SINGLE_VALUE_ITERATION,
  type TableReportOptions,
} from "./lib/models/base.ts";
export { Model, type QueryModelsOptions, type RemoveModelOptions } from "./lib/models/model.ts";
export { type ComparedRow, compareModels, type ModelComparison } from "./lib/models/compare.ts";
export {
  type ImportModelOptions,
  InputModel,
  type InputModelLookup,
} from "./lib/models/input_model.ts";
export {
  OutputModel,
  type OutputModelOptions,
  type UpdateWeightsOptions,
  type UpdateWeightsPackageOptions,
} from "./lib/models/output_model.ts";
export {
  ModelsList,
  Task,
  type TaskInitOptions,
  type UpdateOutputModelOptions,
} from "./lib/task.ts";
export type { MetadataFilterValue, QueryFilter } from "./lib/query.ts";
export type {
  EventType,
  MetadataEntry,
  MetadataType,
  NewEvent,
  PlotKind,
  StoredEvent,
} from "./lib/events.ts";
export type {
  Camera,
  ConfusionMatrixOptions,
  HistogramOptions,
  LinePlotOptions,
  LineSeries,
  MatrixPlotOptions,
  PlotResult,
  Scatter2dOptions,
  Scatter3dOptions,
  SurfaceOptions,
  TableOptions,
  VectorOptions,
} from "./lib/reports/figures.ts";
export { FRAMEWORKS } from "./lib/weights/framework.ts";
export {
  type QuarantineEntry,
  type SyncProgress,
  type SyncStatus,
  SyncWorker,
  type SyncWorkerOptions,
} from "./lib/sync/worker.ts";
export { type RunningServer, type ServerOptions, startServer } from "./lib/server/server.ts";
export type { Role, TokenEntry } from "./lib/server/auth.ts";
export type { EventPayloads, ModelFields } from "./lib/events.ts";
export type { Numeric2D, PlotFigure } from "./lib/reports/figures.ts";
export { type BlobInfo, BlobStore } from "./lib/weights/blobs.ts";
export type {
  BlobBackend,
  BlobStat,
  ByteRange,
  UploadProgress,
} from "./lib/weights/blob_backend.ts";
export type { EncodedNumber } from "./lib/events.ts";
