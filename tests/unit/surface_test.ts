import assert from "node:assert/strict";
import * as mod from "../../mod.ts";

// The public surface of mod.ts, pinned. Changing it is an API change: update these lists (and
// the README's ClearML name table) on purpose, never by accident.

const VALUES = [
  "BaseModel",
  "BlobStore",
  "FRAMEWORKS",
  "HashMismatchError",
  "InputModel",
  "InvalidArgumentError",
  "Model",
  "ModelNotFoundError",
  "ModelPublishedError",
  "ModelogError",
  "ModelsList",
  "OutputModel",
  "SINGLE_VALUE_ITERATION",
  "Store",
  "StoreLockedError",
  "SyncError",
  "SyncWorker",
  "Task",
  "WeightsNotFoundError",
  "compareModels",
  "configure",
  "defaultHome",
  "getDefaultStore",
  "openStore",
  "startServer",
];

const TYPES = [
  "BlobBackend",
  "BlobInfo",
  "BlobStat",
  "ByteRange",
  "Camera",
  "ComparedRow",
  "ConfusionMatrixOptions",
  "EncodedNumber",
  "EventPayloads",
  "EventType",
  "HistogramOptions",
  "HistoryEntry",
  "ImportModelOptions",
  "InputModelLookup",
  "LinePlotOptions",
  "LineSeries",
  "LocalCopyOptions",
  "MatrixOptions",
  "MatrixPlotOptions",
  "MetadataEntry",
  "MetadataFilterValue",
  "MetadataType",
  "ModelComparison",
  "ModelFields",
  "ModelogErrorCode",
  "NewEvent",
  "Numeric2D",
  "OrNull",
  "OutputModelOptions",
  "PlotFigure",
  "PlotKind",
  "PlotResult",
  "QuarantineChange",
  "QuarantineEntry",
  "QuarantineRow",
  "QueryFilter",
  "QueryModelsOptions",
  "RebuildResult",
  "RefusedEvent",
  "RemoveModelOptions",
  "ReportRest",
  "ReportedPlot",
  "ReportedScalars",
  "Role",
  "RunningServer",
  "ScalarPage",
  "ScalarPageOptions",
  "ScalarSummary",
  "Scatter2dOptions",
  "Scatter3dOptions",
  "ServerOptions",
  "StoreOptions",
  "StoredEvent",
  "SurfaceOptions",
  "SyncProgress",
  "SyncStatus",
  "SyncWorkerOptions",
  "TableOptions",
  "TableReportOptions",
  "TaskInitOptions",
  "TokenEntry",
  "UpdateOutputModelOptions",
  "UpdateWeightsOptions",
  "UpdateWeightsPackageOptions",
  "UploadProgress",
  "VectorOptions",
];

/** The names in mod.ts's `export { … } from` and `export type { … } from` lists. */
async function declaredExports(): Promise<{ values: string[]; types: string[] }> {
  const text = await Deno.readTextFile(new URL("../../mod.ts", import.meta.url));
  const values: string[] = [];
  const types: string[] = [];
  for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const raw of m[2]!.split(",").map((s) => s.trim()).filter(Boolean)) {
      const isType = m[1] !== undefined || raw.startsWith("type ");
      const name = raw.replace(/^type\s+/, "").split(/\s+as\s+/).at(-1)!;
      (isType ? types : values).push(name);
    }
  }
  assert.doesNotMatch(text, /export\s+\*/, "mod.ts re-exports names explicitly, never with *");
  return { values: values.sort(), types: types.sort() };
}

Deno.test("mod.ts exports exactly the pinned runtime names", () => {
  assert.deepEqual(Object.keys(mod).sort(), VALUES);
});

Deno.test("mod.ts exports exactly the pinned type names", async () => {
  const declared = await declaredExports();
  assert.deepEqual(declared.values, VALUES, "the declared value exports match the runtime ones");
  assert.deepEqual(declared.types, TYPES);
});

Deno.test("every exported error class is a ModelogError with its own name", () => {
  const errors = VALUES.filter((n) => n.endsWith("Error"));
  for (const n of errors) {
    const C = (mod as unknown as Record<string, new (...a: unknown[]) => Error>)[n]!;
    assert.equal(typeof C, "function", n);
    assert.ok(C === mod.ModelogError || C.prototype instanceof mod.ModelogError, n);
  }
  const e = new mod.InvalidArgumentError("name", "", "must be a non-empty string");
  assert.equal(e.name, "InvalidArgumentError");
  assert.equal(e.code, "INVALID_ARGUMENT");
  assert.equal(e.field, "name");
  assert.equal(e.message, 'Invalid name "": must be a non-empty string');
});

Deno.test("Store hands out no raw SQL: no all(), one() or execute() on it", () => {
  for (const name of ["all", "one", "execute", "batch"]) {
    assert.equal(name in mod.Store.prototype, false, `Store.prototype.${name}`);
  }
});
