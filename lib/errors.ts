/**
 * The error classes of modelog. Every failure the library raises on purpose is a
 * {@link ModelogError} with a stable string `code`; subclasses carry the fields callers need.
 *
 * @module
 */

/** The stable codes a {@link ModelogError} can carry. */
export type ModelogErrorCode =
  | "INVALID_ARGUMENT"
  | "MODEL_NOT_FOUND"
  | "MODEL_PUBLISHED"
  | "MODEL_IN_USE"
  | "TASK_NOT_FOUND"
  | "WEIGHTS_NOT_FOUND"
  | "HASH_MISMATCH"
  | "STORE_LOCKED"
  | "STORE_CLOSED"
  | "SCHEMA_TOO_NEW"
  | "STORE_CORRUPT"
  | "EVENT_CONFLICT"
  | "INVALID_EVENT"
  | "SYNC_REJECTED"
  | "SYNC_FAILED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "BLOB_QUARANTINED"
  | "PAYLOAD_TOO_LARGE"
  | "NOT_FOUND"
  | "STORAGE_FAILED";

/**
 * The base class of every error modelog raises on purpose.
 *
 * @example Telling a modelog error apart
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelogError } from "./errors.ts";
 * const e: unknown = new ModelogError("MODEL_NOT_FOUND", "Model \"abc\" does not exist");
 * assert.ok(e instanceof ModelogError);
 * assert.equal(e.code, "MODEL_NOT_FOUND");
 * ```
 */
export class ModelogError extends Error {
  /** A stable machine-readable code, such as `MODEL_NOT_FOUND`. */
  readonly code: ModelogErrorCode;
  /**
   * Creates an error with a code and a message.
   * @param code the stable code
   * @param message a sentence saying what failed and with which value
   * @param options the underlying cause, if any
   */
  constructor(code: ModelogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelogError";
    this.code = code;
  }
}

/** Describes a value for an error message: strings quoted, others JSON, long ones cut. */
export function describeValue(value: unknown): string {
  let s: string;
  if (typeof value === "string") s = JSON.stringify(value);
  else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    s = String(value);
  } else if (value === undefined) s = "undefined";
  else if (typeof value === "function") s = "a function";
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  return s.length > 120 ? s.slice(0, 117) + "..." : s;
}

/**
 * A caller passed a bad argument. `field` names it and `value` holds what was given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArgumentError } from "./errors.ts";
 * const e = new InvalidArgumentError("name", "", "must be a non-empty string");
 * assert.equal(e.message, 'Invalid name "": must be a non-empty string');
 * assert.equal(e.field, "name");
 * ```
 */
export class InvalidArgumentError extends ModelogError {
  /** The argument or field that was wrong, e.g. `labels.car`. */
  readonly field: string;
  /** The value that was given. */
  readonly value: unknown;
  /** What is wrong with it, e.g. `must be key=value`. */
  readonly reason: string;
  /**
   * Creates the error.
   *
   * @param field the argument name
   * @param value the bad value
   * @param why what is wrong with it
   */
  constructor(field: string, value: unknown, why: string) {
    super("INVALID_ARGUMENT", `Invalid ${field} ${describeValue(value)}: ${why}`);
    this.name = "InvalidArgumentError";
    this.field = field;
    this.value = value;
    this.reason = why;
  }
}

/** No model with that id (or matching that lookup) exists in the store. */
export class ModelNotFoundError extends ModelogError {
  /** The id or the lookup that found nothing. */
  readonly modelId: string;
  /**
   * Creates the error.
   *
   * @param modelId the id, or a description of the lookup
   */
  constructor(modelId: string, message?: string) {
    super("MODEL_NOT_FOUND", message ?? `Model ${JSON.stringify(modelId)} does not exist`);
    this.name = "ModelNotFoundError";
    this.modelId = modelId;
  }
}

/** The model is published, so its weights, design, labels and framework are locked. */
export class ModelPublishedError extends ModelogError {
  /** The published model's id. */
  readonly modelId: string;
  /**
   * Creates the error.
   *
   * @param modelId the model
   * @param what the operation that was refused
   */
  constructor(modelId: string, what: string) {
    super(
      "MODEL_PUBLISHED",
      `Cannot ${what}: model ${JSON.stringify(modelId)} is published and locked`,
    );
    this.name = "ModelPublishedError";
    this.modelId = modelId;
  }
}

/** A weights file, blob or URI could not be found or read. */
export class WeightsNotFoundError extends ModelogError {
  /** The path, URI or hash that was missing. */
  readonly location: string;
  /**
   * Creates the error.
   *
   * @param location the missing path, uri or hash
   * @param why extra detail
   */
  constructor(location: string, why = "it does not exist", options?: { cause?: unknown }) {
    super("WEIGHTS_NOT_FOUND", `Weights ${JSON.stringify(location)} not found: ${why}`, options);
    this.name = "WeightsNotFoundError";
    this.location = location;
  }
}

/** Bytes did not hash to the expected SHA-256. */
export class HashMismatchError extends ModelogError {
  /** The hash that was expected. */
  readonly expected: string;
  /** The hash of the bytes received. */
  readonly actual: string;
  /**
   * Creates the error.
   *
   * @param expected the expected hex digest
   * @param actual the computed hex digest
   */
  constructor(expected: string, actual: string) {
    super("HASH_MISMATCH", `Content hash mismatch: expected sha256 ${expected}, got ${actual}`);
    this.name = "HashMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** The store could not be written because another writer held it for too long. */
export class StoreLockedError extends ModelogError {
  /**
   * Creates the error.
   *
   * @param path the database location
   */
  constructor(path: string, options?: { cause?: unknown }) {
    super("STORE_LOCKED", `Store ${JSON.stringify(path)} is locked by another writer`, options);
    this.name = "StoreLockedError";
  }
}

/** A sync peer refused our request permanently (400/401/403) or could not be reached. */
export class SyncError extends ModelogError {
  /** The HTTP status, when there was one. */
  readonly status: number | undefined;
  /**
   * Creates the error.
   *
   * @param code SYNC_REJECTED for a permanent refusal, SYNC_FAILED otherwise
   * @param message what happened
   * @param status the HTTP status
   */
  constructor(
    code: "SYNC_REJECTED" | "SYNC_FAILED",
    message: string,
    status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = "SyncError";
    this.status = status;
  }
}
