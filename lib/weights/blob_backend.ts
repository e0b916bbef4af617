/**
 * The interface every blob store satisfies, whatever keeps the bytes: the local folder
 * ({@link BlobStore}) or an S3-compatible service (`S3BlobStore`). Blobs are addressed by the
 * SHA-256 of their bytes; a blob is visible only once its hash has been verified.
 *
 * Resumable uploads go in numbered parts: `begin` names an upload, `uploadPart` adds parts in
 * order (1, 2, ...), `complete` verifies the SHA-256 of the whole and makes the blob visible,
 * `abort` drops it. Their state is kept in an {@link UploadStateStore}, which several server
 * instances may share, so that an upload begun on one continues on another.
 *
 * @module
 */

import { InvalidArgumentError, ModelogError } from "../errors.ts";

/** A byte range `[start, end)`; `end` defaults to the blob's size and is clamped to it. */
export interface ByteRange {
  /** The first byte. */
  start: number;
  /** One past the last byte. */
  end?: number;
}

/** What a backend knows of a stored blob. */
export interface BlobStat {
  /** The size in bytes. */
  size: number;
}

/** The progress of a resumable upload, as `uploadPart` reports it. */
export interface UploadProgress {
  /** The upload. */
  uploadId: string;
  /** The number of the next part expected. */
  nextPart: number;
  /** The bytes received so far. */
  received: number;
  /** The size the blob will have. */
  length: number;
}

/** A content-addressed blob store: the operations the server and the store rely on. */
export interface BlobBackend {
  /** The size of a stored blob, or null when absent. */
  stat(hash: string): Promise<BlobStat | null>;
  /**
   * The bytes of a stored blob, optionally a range.
   * @throws {WeightsNotFoundError} when absent
   */
  get(hash: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>>;
  /**
   * Stores a stream whose bytes must hash to `hash`; verified once the stream ends.
   * @throws {HashMismatchError} when they do not; nothing is stored then
   */
  putFromStream(hash: string, stream: ReadableStream<Uint8Array>): Promise<BlobStat>;
  /** Deletes a blob; returns whether it existed. */
  delete(hash: string): Promise<boolean>;
  /** Begins a resumable upload of `length` bytes that must hash to `hash`. */
  begin(hash: string, length: number): Promise<string>;
  /**
   * Adds part `partNumber` (1 for the first, then in order). Sending again the part received
   * last, with the same bytes, is accepted and changes nothing (a retry after a lost answer).
   */
  uploadPart(uploadId: string, partNumber: number, bytes: Uint8Array): Promise<UploadProgress>;
  /**
   * Finishes an upload once every byte arrived: verifies the SHA-256 and makes the blob visible.
   * @throws {HashMismatchError} when the bytes differ; the upload is dropped, nothing is left
   */
  complete(uploadId: string): Promise<BlobStat>;
  /** Drops an upload and the parts received; returns whether it existed. */
  abort(uploadId: string): Promise<boolean>;
}

/** One part received by a resumable upload. */
export interface UploadedPart {
  /** Its number, from 1. */
  number: number;
  /** Its size in bytes. */
  size: number;
  /** The SHA-256 of its bytes (to recognize a retry). */
  sha256: string;
  /** What the storage returned for it (an S3 ETag), needed to complete. */
  etag: string;
}

/** The state of a resumable upload, as kept in an {@link UploadStateStore}. */
export interface UploadState {
  /** The upload's id. */
  uploadId: string;
  /** The hash the blob must have. */
  hash: string;
  /** The size the blob must have. */
  length: number;
  /** Where the storage keeps it (an S3 key). */
  key: string;
  /** The storage's own id of the upload (an S3 multipart UploadId). */
  storageUploadId: string;
  /** The parts received, in order. */
  parts: UploadedPart[];
  /** The running SHA-256 of the bytes received, as `Sha256.save()` wrote it (base64). */
  sha256: string;
  /** Bumped by every change, for compare-and-set. */
  version: number;
  /**
   * Bytes received after the last part, too few for one (offset uploads): where they are
   * staged (an S3 key) and how many. The running hash covers them.
   */
  tail?: { key: string; size: number };
  /** When the state last changed, in ms since the epoch. */
  updatedAt?: number;
}

/**
 * What the server's blob routes need of a blob store: reads, and uploads addressed by byte
 * offset (`PUT` with `Upload-Offset`), per uploader (`owner`). The local {@link BlobStore}
 * satisfies it as it is; `S3OffsetUploads` maps it onto S3 multipart uploads.
 */
export interface ServerBlobs {
  /** The local folder of the blobs (for free space, quotas and statistics); none on S3. */
  readonly dir?: string;
  /** Whether a blob is stored. */
  has(hash: string): Promise<boolean>;
  /** The size of a stored blob, or null. */
  stat(hash: string): Promise<BlobStat | null>;
  /** The bytes of a stored blob, or of `[start, end)`. */
  open(hash: string, start?: number, end?: number): Promise<ReadableStream<Uint8Array>>;
  /** The bytes an upload in progress holds (0 when none). */
  partialSize(hash: string, owner?: string): Promise<number>;
  /**
   * Appends a body at `offset` of an upload of `total` bytes; returns the bytes now held (a
   * broken body keeps what arrived, as far as the store can).
   */
  appendPartial(
    hash: string,
    offset: number,
    body: ReadableStream<Uint8Array>,
    owner?: string,
    total?: number,
  ): Promise<number>;
  /**
   * Verifies the SHA-256 of a complete upload and makes the blob visible.
   * @throws {HashMismatchError} when the bytes differ; the upload is dropped
   */
  commitPartial(hash: string, owner?: string): Promise<BlobStat>;
  /** Uploads in numbered parts, several at once and in any order (absent: offsets only). */
  readonly parts?: PartUploads;
  /** The bytes per offset-upload request the store handles best (S3: one part). */
  readonly requestSize?: number;
}

/** What is known of a parts upload in progress. */
export interface PartsProgress {
  /** The size the blob will have. */
  length: number;
  /** The size of every part but the last. */
  partSize: number;
  /** The numbers of the parts received, ascending. */
  received: number[];
  /** Whether every part was received. */
  complete: boolean;
}

/**
 * Uploads of a blob in numbered parts (from 1; part `n` holds the bytes from
 * `(n - 1) * partSize`), received in any order and several at once, per uploader (`owner`).
 * The blob becomes visible only through {@link PartUploads.commit}, which verifies the SHA-256
 * of the whole: a blob is never accepted unless its hash matches.
 */
export interface PartUploads {
  /** The part size a device is asked to use. */
  readonly partSize: number;
  /** The smallest and largest part size accepted. */
  readonly partSizeRange: readonly [number, number];
  /** How many parts of one blob a device may send at once. */
  readonly inFlight: number;
  /** The progress of the parts upload of `hash` by `owner`, or null when none. */
  progress(hash: string, owner?: string): Promise<PartsProgress | null>;
  /**
   * Receives part `n` of an upload of `length` bytes in parts of `partSize` (the first part
   * received fixes both). A part that breaks off short is not recorded (send it again); a part
   * already received is received again.
   * @throws {InvalidArgumentError} for a part number, part size or length that does not fit
   */
  putPart(
    hash: string,
    owner: string | undefined,
    length: number,
    partSize: number,
    n: number,
    body: ReadableStream<Uint8Array>,
  ): Promise<PartsProgress>;
  /**
   * Verifies the SHA-256 of a complete parts upload and makes the blob visible.
   * @throws {HashMismatchError} when the bytes differ; the upload is dropped
   */
  commit(hash: string, owner?: string): Promise<BlobStat>;
}

/**
 * Where resumable uploads keep their state. Several instances may share one; `replace` is a
 * compare-and-set on `version`, so two instances cannot both advance the same upload.
 */
export interface UploadStateStore {
  /** Records a new upload. */
  create(state: UploadState): Promise<void>;
  /** The state of an upload, or null. */
  get(uploadId: string): Promise<UploadState | null>;
  /** Replaces the state when its stored version is `expectedVersion`; returns whether it did. */
  replace(expectedVersion: number, state: UploadState): Promise<boolean>;
  /** Forgets an upload; returns whether it existed. */
  delete(uploadId: string): Promise<boolean>;
}

/**
 * An {@link UploadStateStore} in this process's memory: instances sharing one object share the
 * uploads. States are copied in and out, as a database would.
 */
export class MemoryUploadStateStore implements UploadStateStore {
  #states = new Map<string, string>();

  /** Records a new upload. */
  create(state: UploadState): Promise<void> {
    if (this.#states.has(state.uploadId)) {
      return Promise.reject(
        new InvalidArgumentError("uploadId", state.uploadId, "is already in use"),
      );
    }
    this.#states.set(state.uploadId, JSON.stringify(state));
    return Promise.resolve();
  }

  /** The state of an upload, or null. */
  get(uploadId: string): Promise<UploadState | null> {
    const s = this.#states.get(uploadId);
    return Promise.resolve(s === undefined ? null : JSON.parse(s));
  }

  /** Replaces the state when its stored version is `expectedVersion`. */
  replace(expectedVersion: number, state: UploadState): Promise<boolean> {
    const s = this.#states.get(state.uploadId);
    if (s === undefined || (JSON.parse(s) as UploadState).version !== expectedVersion) {
      return Promise.resolve(false);
    }
    this.#states.set(state.uploadId, JSON.stringify(state));
    return Promise.resolve(true);
  }

  /** Forgets an upload. */
  delete(uploadId: string): Promise<boolean> {
    return Promise.resolve(this.#states.delete(uploadId));
  }
}

/** No upload with this id is in progress (never begun, completed or aborted). */
export class UploadNotFoundError extends ModelogError {
  /** The upload asked for. */
  readonly uploadId: string;
  /** Creates the error for `uploadId`. */
  constructor(uploadId: string) {
    super("NOT_FOUND", `Upload ${JSON.stringify(uploadId)} not found: none is in progress`);
    this.name = "UploadNotFoundError";
    this.uploadId = uploadId;
  }
}

/** Checks a range against nothing but itself; the backend clamps `end` to the size. */
export function checkRange(range: ByteRange | undefined): ByteRange {
  const start = range?.start ?? 0;
  const end = range?.end;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidArgumentError("start", start, "must be a non-negative integer");
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new InvalidArgumentError("end", end, `must be an integer >= start (${start})`);
  }
  return { start, end };
}
