/**
 * The event union: every change to a model or task, and every metric report, is one of these,
 * appended to the log and never changed. `validateEvent` checks an event from anywhere (the
 * local API, a sync peer) before it is stored.
 *
 * @module
 */
import { InvalidArgumentError, ModelogError } from "./errors.ts";
import { MAX_HLC_WALL, parseHlc } from "./clock.ts";

/** The schema version written into every event's `v`. */
export const EVENT_VERSION = 1;

/** Metadata value types, as ClearML names them. */
export type MetadataType = "str" | "int" | "float" | "bool" | "list" | "dict";

/** One metadata entry as stored: the value is always a string. */
export interface MetadataEntry {
  /** The value in its stored string form. */
  value: string;
  /** The type name used by `getMetadataCasted`. */
  type: MetadataType;
}

/** The fields of a model that are last-writer-wins registers. */
export interface ModelFields {
  /** The name. */
  name?: string;
  /** The comment. */
  comment?: string;
  /** The project name. */
  project?: string;
  /** The framework. */
  framework?: string;
  /** The design text. */
  configText?: string;
  /** The label enumeration. */
  labels?: Record<string, number>;
  /** The parent model id. */
  parent?: string;
  /** The connected task id. */
  task?: string;
}

/** Payloads by event type. */
export interface EventPayloads {
  /** Payload of `model.created`. */
  "model.created": ModelFields & {
    tags?: string[];
    uri?: string;
    originalTask?: string;
    published?: boolean;
    isPackage?: boolean;
  };
  /** Payload of `model.updated`. */
  "model.updated": { fields: ModelFields };
  /** Payload of `model.weights_updated`. */
  "model.weights_updated": {
    uri: string;
    hash?: string;
    size?: number;
    iteration?: number;
    framework?: string;
    isPackage?: boolean;
    filename?: string;
  };
  /** Payload of `model.tags_changed`. */
  "model.tags_changed": { add?: string[]; remove?: string[] };
  /** Payload of `model.metadata_changed`. */
  "model.metadata_changed": { set?: Record<string, MetadataEntry>; remove?: string[] };
  /** Payload of `model.published`. */
  "model.published": Record<string, never>;
  /** Payload of `model.archived`. */
  "model.archived": Record<string, never>;
  /** Payload of `model.unarchived`. */
  "model.unarchived": Record<string, never>;
  /** Payload of `model.removed`. */
  "model.removed": { deleteWeightsFile?: boolean; force?: boolean };
  /** Payload of `task.created`. */
  "task.created": {
    project: string;
    name: string;
    taskType?: string;
    tags?: string[];
    outputUri?: string;
  };
  /** Payload of `task.model_connected`. */
  "task.model_connected": { modelId: string; role: "input" | "output"; name: string };
  /** Payload of `task.closed`. */
  "task.closed": Record<string, never>;
  /** A packed run of scalar points of one title/series, in report order. */
  "metric.scalars": { title: string; series: string; iters: number[]; values: EncodedNumber[] };
  /** One plot: a plotly figure. */
  "metric.plot": {
    kind: PlotKind;
    title: string;
    series: string;
    iteration: number;
    figure: { data: unknown[]; layout: Record<string, unknown> };
  };
}

/** The kinds of plot a model can report. */
export type PlotKind =
  | "histogram"
  | "vector"
  | "table"
  | "line"
  | "scatter2d"
  | "scatter3d"
  | "confusion_matrix"
  | "matrix"
  | "surface";

/** A number as stored in JSON: non-finite values become the strings "NaN", "Infinity", "-Infinity". */
export type EncodedNumber = number | "NaN" | "Infinity" | "-Infinity";

/** Every event type. */
export type EventType = keyof EventPayloads;

/** All event types, for validation. */
export const EVENT_TYPES: readonly EventType[] = [
  "model.created",
  "model.updated",
  "model.weights_updated",
  "model.tags_changed",
  "model.metadata_changed",
  "model.published",
  "model.archived",
  "model.unarchived",
  "model.removed",
  "task.created",
  "task.model_connected",
  "task.closed",
  "metric.scalars",
  "metric.plot",
];

/**
 * An event as stored in the log and sent over the wire. A union over the event types: testing
 * `type` narrows `data` (`if (e.type === "model.created") e.data.project`). `StoredEvent<T>`
 * is the event of type `T` (or of the types in `T`).
 */
export type StoredEvent<T extends EventType = EventType> = {
  [K in T]: {
    /** UUIDv7, the global identity. */
    id: string;
    /** `model:<id>` or `task:<id>`. */
    stream: string;
    /** The event type. */
    type: K;
    /** Hybrid logical clock timestamp. */
    at: string;
    /** The device that wrote it. */
    origin: string;
    /** Schema version. */
    v: number;
    /** Who made the change (user name), for the audit trail. */
    actor: string;
    /** The payload. */
    data: EventPayloads[K];
    /** Local append order (not part of the identity). */
    seq?: number;
    /**
     * SHA-256 of the event's canonical encoding (see `store/log.ts`), as the store that sent
     * it recorded it; optional on the wire, checked on ingest when present.
     */
    checksum?: string;
  };
}[T];

/**
 * An event before the store stamps it with id, clock and origin. A union over the event types
 * like {@link StoredEvent}: `type` narrows `data`.
 */
export type NewEvent<T extends EventType = EventType> = {
  [K in T]: {
    /** `model:<id>` or `task:<id>`. */
    stream: string;
    /** The event type. */
    type: K;
    /** The payload. */
    data: EventPayloads[K];
    /**
     * When it happened, if already known (the store's clock stamps it otherwise). Queued
     * reports carry the time they were reported, not the time their batch was written.
     */
    at?: string;
  };
}[T];

/** Encodes a number for JSON storage, keeping NaN and infinities. */
export function encodeNumber(n: number): EncodedNumber {
  if (Number.isFinite(n)) return n;
  if (Number.isNaN(n)) return "NaN";
  return n > 0 ? "Infinity" : "-Infinity";
}

/** Decodes a stored number. */
export function decodeNumber(v: EncodedNumber | null): number {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return NaN;
}

const NF = "$nf";

/** JSON-encodes event data, keeping NaN and infinities anywhere as `{"$nf": "NaN"}` markers. */
export function encodeData(data: unknown): string {
  return JSON.stringify(data, (_k, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) return { [NF]: encodeNumber(v) };
    return v;
  });
}

/** Decodes event data written by {@link encodeData}. */
export function decodeData<T = unknown>(text: string): T {
  if (!text.includes(`"${NF}"`)) return JSON.parse(text);
  return JSON.parse(text, (_k, v) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v) && NF in v) {
      const keys = Object.keys(v);
      if (keys.length === 1) return decodeNumber(v[NF]);
    }
    return v;
  });
}

const TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/** Whether `t` names a known event type. */
export function isEventType(t: unknown): t is EventType {
  return typeof t === "string" && TYPE_SET.has(t);
}

const STREAM_RE = /^(model|task):[0-9a-z_-]{1,64}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * An event that fails validation: code `INVALID_EVENT`, with the field, value and reason (as
 * {@link InvalidArgumentError} has them). The store turns it into an `InvalidArgumentError`
 * for a local write: there the bad value came from the caller.
 */
export class InvalidEventError extends ModelogError {
  /** The bad field, e.g. `data.tags`. */
  readonly field: string;
  /** The value given. */
  readonly value: unknown;
  /** What is wrong with it. */
  readonly reason: string;
  /**
   * @param field the bad field
   * @param value the value given
   * @param why what is wrong with it
   */
  constructor(field: string, value: unknown, why: string) {
    super("INVALID_EVENT", new InvalidArgumentError(field, value, why).message);
    this.name = "InvalidEventError";
    this.field = field;
    this.value = value;
    this.reason = why;
  }
}

function fail(field: string, value: unknown, why: string): never {
  throw new InvalidEventError(field, value, why);
}

/**
 * The deepest JSON nesting a push body may hold (the server's limit). A push wraps each event
 * two levels deep (`{"events": [event]}`), so an event itself may nest {@link MAX_EVENT_DEPTH}.
 */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects one event may hold, counting the event itself. */
export const MAX_EVENT_DEPTH = MAX_JSON_DEPTH - 2;

/** Whether a scalar batch's `data` nests too deep outside its point arrays. */
function scalarsTooDeep(d: Record<string, unknown>): boolean {
  for (const k in d) {
    if (k !== "iters" && k !== "values" && deeperThan(d[k], MAX_EVENT_DEPTH - 2)) return true;
  }
  return false;
}

/**
 * Whether `v` nests arrays and objects deeper than `limit` (a value that refers to itself
 * counts as infinitely deep). Stops at the first branch past the limit.
 */
function deeperThan(v: unknown, limit: number): boolean {
  if (v === null || typeof v !== "object") return false;
  if (limit <= 0) return true;
  if (Array.isArray(v)) {
    for (const x of v) {
      if (x !== null && typeof x === "object" && deeperThan(x, limit - 1)) return true;
    }
    return false;
  }
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== null && typeof x === "object" && deeperThan(x, limit - 1)) return true;
  }
  return false;
}

// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * Refuses control characters (NUL, newlines, tabs, DEL …) in a name, tag or metadata key: the
 * read side cuts text at a NUL, and a tag nobody can type cannot be queried.
 */
function plainText(field: string, v: unknown): void {
  if (typeof v === "string" && CONTROL_RE.test(v)) {
    fail(field, v, "must not contain control characters (such as NUL, tab or newline)");
  }
}

function strArr(field: string, v: unknown, plain = false): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    fail(field, v, "must be an array of strings");
  }
  if (plain) { for (const x of v) plainText(field, x); }
}

function optStr(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== "string") fail(field, v, "must be a string");
}

function optBool(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== "boolean") fail(field, v, "must be a boolean");
}

function checkFields(prefix: string, f: Record<string, unknown>): void {
  for (const k of ["name", "comment", "project", "framework", "configText", "parent", "task"]) {
    optStr(`${prefix}.${k}`, f[k]);
  }
  plainText(`${prefix}.name`, f.name);
  plainText(`${prefix}.project`, f.project);
  if (f.labels !== undefined) {
    if (!isObj(f.labels)) fail(`${prefix}.labels`, f.labels, "must be an object");
    for (const [k, v] of Object.entries(f.labels)) {
      if (!Number.isInteger(v)) fail(`${prefix}.labels.${k}`, v, "must be an integer");
    }
  }
}

/**
 * The event objects that passed {@link validateEvent}, so an event checked once (by the server's
 * push check) is not checked again on its way into the store (ingest): the store's code never
 * changes an event object after checking it (a changed event is a new object, checked anew).
 */
const VALID = new WeakSet<object>();

/**
 * Validates an event from any source, throwing a `ModelogError` with code `INVALID_EVENT`
 * that names the bad field. Returns the event typed.
 */
export function validateEvent(e: unknown): StoredEvent {
  if (e !== null && typeof e === "object" && VALID.has(e)) return e as StoredEvent;
  assertEvent(e);
  VALID.add(e);
  return e;
}

/** Asserts that `e` is a valid event (see {@link validateEvent}). */
function assertEvent(e: unknown): asserts e is StoredEvent {
  if (!isObj(e)) fail("event", e, "must be an object");
  if (typeof e.id !== "string" || !UUID_RE.test(e.id)) fail("event.id", e.id, "must be a UUID");
  if (typeof e.stream !== "string" || !STREAM_RE.test(e.stream)) {
    fail("event.stream", e.stream, "must be model:<id> or task:<id>");
  }
  const type = e.type;
  if (!isEventType(type)) fail("event.type", type, "is not a known event type");
  const hlc = typeof e.at === "string" ? parseHlc(e.at) : undefined;
  if (!hlc) fail("event.at", e.at, "must be an HLC timestamp");
  if (hlc.wall > MAX_HLC_WALL) {
    fail("event.at", e.at, `must have a wall time of at most ${MAX_HLC_WALL} ms`);
  }
  if (typeof e.origin !== "string" || e.origin.length === 0 || e.origin.length > 64) {
    fail("event.origin", e.origin, "must be a non-empty string");
  }
  if (typeof e.v !== "number" || !Number.isInteger(e.v) || e.v < 1 || e.v > EVENT_VERSION) {
    fail("event.v", e.v, `must be an integer from 1 to ${EVENT_VERSION}`);
  }
  if (typeof e.actor !== "string") fail("event.actor", e.actor, "must be a string");
  const d = e.data;
  if (!isObj(d)) fail("event.data", d, "must be an object");
  // What the server would refuse (the body nests too deep) must not enter the log. A scalar
  // batch's arrays are checked point by point below (the hot path: not walked here); any other
  // value it carries is held to the same depth.
  if (type === "metric.scalars" ? scalarsTooDeep(d) : deeperThan(d, MAX_EVENT_DEPTH - 1)) {
    fail("event.data", "(nested value)", `must nest at most ${MAX_EVENT_DEPTH - 1} levels deep`);
  }
  const kind = e.stream.split(":")[0];
  if ((type.startsWith("task.") ? "task" : "model") !== kind) {
    fail("event.stream", e.stream, `does not fit event type ${type}`);
  }
  switch (type) {
    case "model.created":
      checkFields("data", d);
      strArr("data.tags", d.tags, true);
      optStr("data.uri", d.uri);
      optStr("data.originalTask", d.originalTask);
      optBool("data.published", d.published);
      optBool("data.isPackage", d.isPackage);
      break;
    case "model.updated":
      if (!isObj(d.fields)) fail("data.fields", d.fields, "must be an object");
      checkFields("data.fields", d.fields);
      break;
    case "model.weights_updated":
      if (typeof d.uri !== "string") fail("data.uri", d.uri, "must be a string");
      optStr("data.hash", d.hash);
      if (typeof d.hash === "string" && d.hash !== "" && !/^[0-9a-f]{64}$/.test(d.hash)) {
        fail("data.hash", d.hash, "must be a SHA-256 hex digest");
      }
      optStr("data.framework", d.framework);
      optStr("data.filename", d.filename);
      optBool("data.isPackage", d.isPackage);
      if (
        d.size !== undefined &&
        !(typeof d.size === "number" && Number.isSafeInteger(d.size) && d.size >= 0)
      ) {
        fail("data.size", d.size, "must be a non-negative integer");
      }
      if (d.iteration !== undefined && !Number.isSafeInteger(d.iteration)) {
        fail("data.iteration", d.iteration, "must be an integer");
      }
      break;
    case "model.tags_changed":
      strArr("data.add", d.add, true);
      // Removing stays possible for any text: a tag written before this rule can be cleaned up.
      strArr("data.remove", d.remove);
      break;
    case "model.metadata_changed":
      if (d.set !== undefined) {
        if (!isObj(d.set)) fail("data.set", d.set, "must be an object");
        for (const [k, v] of Object.entries(d.set)) {
          if (k.length === 0) fail("data.set", k, "metadata keys must be non-empty");
          if (CONTROL_RE.test(k)) {
            fail("data.set", k, "metadata keys must not contain control characters");
          }
          if (!isObj(v) || typeof v.value !== "string" || typeof v.type !== "string") {
            fail(`data.set.${k}`, v, "must be {value: string, type: string}");
          }
        }
      }
      strArr("data.remove", d.remove);
      break;
    case "task.created":
      if (typeof d.project !== "string") fail("data.project", d.project, "must be a string");
      if (typeof d.name !== "string") fail("data.name", d.name, "must be a string");
      plainText("data.project", d.project);
      plainText("data.name", d.name);
      strArr("data.tags", d.tags, true);
      optStr("data.taskType", d.taskType);
      optStr("data.outputUri", d.outputUri);
      break;
    case "task.model_connected":
      if (typeof d.modelId !== "string") fail("data.modelId", d.modelId, "must be a string");
      if (d.role !== "input" && d.role !== "output") {
        fail("data.role", d.role, "must be input or output");
      }
      if (typeof d.name !== "string") fail("data.name", d.name, "must be a string");
      break;
    case "metric.scalars": {
      if (typeof d.title !== "string") fail("data.title", d.title, "must be a string");
      if (typeof d.series !== "string") fail("data.series", d.series, "must be a string");
      const it = d.iters, va = d.values;
      if (!Array.isArray(it) || !Array.isArray(va) || it.length !== va.length || it.length === 0) {
        fail("data.iters", it, "must be a non-empty array as long as data.values");
      }
      for (const x of it) {
        if (!Number.isSafeInteger(x)) fail("data.iters", x, "must hold integers");
      }
      for (const x of va) {
        if (typeof x !== "number" && x !== "NaN" && x !== "Infinity" && x !== "-Infinity") {
          fail("data.values", x, "must hold numbers");
        }
      }
      break;
    }
    case "metric.plot":
      if (typeof d.title !== "string") fail("data.title", d.title, "must be a string");
      if (typeof d.series !== "string") fail("data.series", d.series, "must be a string");
      if (!Number.isSafeInteger(d.iteration)) {
        fail("data.iteration", d.iteration, "must be an integer");
      }
      if (typeof d.kind !== "string") fail("data.kind", d.kind, "must be a string");
      if (!isObj(d.figure) || !Array.isArray(d.figure.data) || !isObj(d.figure.layout)) {
        fail("data.figure", d.figure, "must be a plotly figure {data, layout}");
      }
      break;
    default:
      break;
  }
}
