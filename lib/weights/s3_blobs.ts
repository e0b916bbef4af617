/**
 * A content-addressed blob store over any S3-compatible service (AWS S3, MinIO, Ceph RGW, R2,
 * s3rver). Blobs live at `<prefix>/sha256/<aa>/<hex>`; a key appears only once its bytes were
 * verified: streamed puts and resumable uploads both go through S3 multipart uploads that are
 * completed only when the SHA-256 matches, and aborted otherwise.
 *
 * Requests are signed with AWS Signature V4 (the pinned `aws4fetch`) and sent with `fetch`; the
 * few S3 operations used are written here (HEAD/GET/PUT/DELETE object and the multipart calls).
 * S3 gives no SHA-256 of a multipart object, so parts are hashed in order as they arrive and
 * the running hash is kept, with the part list, in an {@link UploadStateStore} that several
 * instances may share.
 *
 * Over 600 lines by a few: the S3 requests themselves (raw object and multipart calls, also used
 * by `s3_uploads.ts`) live here beside the store, so that nothing else signs requests.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { AwsClient } from "../deps.ts";
import {
  HashMismatchError,
  InvalidArgumentError,
  ModelogError,
  WeightsNotFoundError,
} from "../errors.ts";
import {
  type BlobBackend,
  type BlobStat,
  type ByteRange,
  checkRange,
  MemoryUploadStateStore,
  UploadNotFoundError,
  type UploadProgress,
  type UploadState,
  type UploadStateStore,
} from "./blob_backend.ts";
import { isSha256Hex } from "./blobs.ts";
import { Sha256 } from "./sha256.ts";
import { gatherBlocks } from "./file_hash.ts";

/** S3's smallest part, for every part of a multipart upload but the last (5 MiB). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** An `s3://bucket/prefix` location. */
export interface S3Location {
  /** The bucket. */
  bucket: string;
  /** The key prefix without a leading or trailing slash; "" for the bucket's root. */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket/prefix`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseS3Url } from "./s3_blobs.ts";
 * assert.deepEqual(parseS3Url("s3://team-weights/modelog/"), {
 *   bucket: "team-weights",
 *   prefix: "modelog",
 * });
 * ```
 * @throws {InvalidArgumentError} (field `url`) for anything else
 */
export function parseS3Url(url: string): S3Location {
  if (typeof url !== "string") {
    throw new InvalidArgumentError("url", url, "must be a string like s3://bucket/prefix");
  }
  const m = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/.exec(url);
  if (!m) throw new InvalidArgumentError("url", url, "must look like s3://bucket/prefix");
  const bucket = m[1]!;
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    throw new InvalidArgumentError(
      "url",
      url,
      `has the bucket name ${JSON.stringify(bucket)}: S3 bucket names are 3 to 63 lowercase ` +
        "letters, digits, dots and hyphens",
    );
  }
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  if (prefix !== "" && prefix.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new InvalidArgumentError("url", url, "has an empty, '.' or '..' segment in its prefix");
  }
  return { bucket, prefix };
}

/** Options of {@link S3BlobStore}; unset ones come from the standard AWS variables. */
export interface S3BlobStoreOptions {
  /** `s3://bucket/prefix`; or give `bucket` (and `prefix`). */
  url?: string;
  /** The bucket, when no `url`. */
  bucket?: string;
  /** The key prefix, when no `url`. */
  prefix?: string;
  /** The service URL (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`; default AWS S3). */
  endpoint?: string;
  /** The region (`AWS_REGION`, `AWS_DEFAULT_REGION`; default `us-east-1`). */
  region?: string;
  /** The access key (`AWS_ACCESS_KEY_ID`). */
  accessKeyId?: string;
  /** The secret key (`AWS_SECRET_ACCESS_KEY`). */
  secretAccessKey?: string;
  /** A session token (`AWS_SESSION_TOKEN`). */
  sessionToken?: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`); the default with a custom endpoint. */
  forcePathStyle?: boolean;
  /** Where resumable uploads keep their state (default: this process's memory). */
  uploadStates?: UploadStateStore;
  /** The part size of streamed puts (default 8 MiB, at least {@link MIN_PART_SIZE}). */
  partSize?: number;
}

/** The S3 service refused or failed a request. */
export class BlobStorageError extends ModelogError {
  /** The HTTP status. */
  readonly status: number;
  /** S3's error code, such as `AccessDenied`, or "" when none was sent. */
  readonly s3Code: string;
  /** Creates the error. */
  constructor(what: string, status: number, s3Code: string, message: string) {
    super(
      "STORAGE_FAILED",
      `S3 ${what} failed with HTTP ${status}${s3Code ? ` ${s3Code}` : ""}${
        message ? `: ${message}` : ""
      }`,
    );
    this.name = "BlobStorageError";
    this.status = status;
    this.s3Code = s3Code;
  }
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no env permission: options only
  }
}

function xmlText(xml: string, tag: string): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m
    ? m[1]!.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">")
      .replace(/&apos;/g, "'").replace(/&amp;/g, "&")
    : "";
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function checkHash(hash: string): string {
  if (!isSha256Hex(hash)) {
    throw new InvalidArgumentError(
      "hash",
      hash,
      "must be a sha256 digest of 64 lowercase hex digits",
    );
  }
  return hash;
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

/**
 * Blobs in an S3 bucket under a prefix.
 *
 * @example Pointing a store at a bucket (options win over AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL; nothing is sent until the first call)
 * ```ts
 * import assert from "node:assert/strict";
 * import { S3BlobStore } from "./s3_blobs.ts";
 * const blobs = new S3BlobStore({
 *   url: "s3://team-weights/modelog",
 *   endpoint: "http://127.0.0.1:9000",
 *   region: "us-east-1",
 *   accessKeyId: "key",
 *   secretAccessKey: "secret",
 * });
 * assert.equal(blobs.bucket, "team-weights");
 * assert.equal(blobs.prefix, "modelog");
 * ```
 */
export class S3BlobStore implements BlobBackend {
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix ("" for the bucket's root). */
  readonly prefix: string;
  /** The service URL, without a trailing slash. */
  readonly endpoint: string;
  /** The signing region. */
  readonly region: string;
  /** Where resumable uploads keep their state. */
  readonly uploadStates: UploadStateStore;
  #client: AwsClient;
  #pathStyle: boolean;
  #partSize: number;

  /**
   * Creates a store; nothing is sent until the first call.
   * @throws {InvalidArgumentError} for a bad url, endpoint or part size, or missing credentials
   */
  constructor(options: S3BlobStoreOptions = {}) {
    let loc: S3Location;
    if (options.url !== undefined) loc = parseS3Url(options.url);
    else if (options.bucket !== undefined) {
      loc = parseS3Url(`s3://${options.bucket}/${options.prefix ?? ""}`);
    } else throw new InvalidArgumentError("url", options.url, "is required (s3://bucket/prefix)");
    this.bucket = loc.bucket;
    this.prefix = loc.prefix;
    this.region = options.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
    const endpoint = options.endpoint ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL");
    if (endpoint !== undefined) {
      let u: URL;
      try {
        u = new URL(endpoint);
      } catch {
        throw new InvalidArgumentError("endpoint", endpoint, "must be an http(s) URL");
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") {
        throw new InvalidArgumentError("endpoint", endpoint, "must be an http(s) URL");
      }
      this.endpoint = u.origin + u.pathname.replace(/\/+$/, "");
    } else this.endpoint = `https://s3.${this.region}.amazonaws.com`;
    this.#pathStyle = options.forcePathStyle ?? endpoint !== undefined;
    const accessKeyId = options.accessKeyId ?? env("AWS_ACCESS_KEY_ID");
    const secretAccessKey = options.secretAccessKey ?? env("AWS_SECRET_ACCESS_KEY");
    if (!accessKeyId) {
      throw new InvalidArgumentError(
        "accessKeyId",
        accessKeyId,
        "is required: pass it or set AWS_ACCESS_KEY_ID",
      );
    }
    if (!secretAccessKey) {
      throw new InvalidArgumentError(
        "secretAccessKey",
        secretAccessKey === undefined ? undefined : "(empty)",
        "is required: pass it or set AWS_SECRET_ACCESS_KEY",
      );
    }
    this.#partSize = options.partSize ?? 8 * 1024 * 1024;
    if (!Number.isSafeInteger(this.#partSize) || this.#partSize < MIN_PART_SIZE) {
      throw new InvalidArgumentError("partSize", options.partSize, `must be >= ${MIN_PART_SIZE}`);
    }
    this.#client = new AwsClient({
      accessKeyId,
      secretAccessKey,
      sessionToken: options.sessionToken ?? env("AWS_SESSION_TOKEN"),
      service: "s3",
      region: this.region,
      retries: 3,
    });
    this.uploadStates = options.uploadStates ?? new MemoryUploadStateStore();
  }

  /** The object key of the blob with `hash`. Validates the hash. */
  keyOf(hash: string): string {
    checkHash(hash);
    const k = `sha256/${hash.slice(0, 2)}/${hash}`;
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  #url(key: string, query: Record<string, string> = {}): string {
    const path = key.split("/").map(encodeURIComponent).join("/");
    const base = this.#pathStyle
      ? `${this.endpoint}/${this.bucket}/${path}`
      : `${this.endpoint.replace("://", `://${this.bucket}.`)}/${path}`;
    const qs = new URLSearchParams(query).toString();
    return qs ? `${base}?${qs}` : base;
  }

  async #send(
    what: string,
    method: string,
    key: string,
    init: { query?: Record<string, string>; headers?: Record<string, string>; body?: Uint8Array } =
      {},
    accept: number[] = [],
  ): Promise<Response> {
    const res = await this.#client.fetch(this.#url(key, init.query), {
      method,
      headers: init.headers,
      body: init.body as BodyInit | undefined,
    });
    if (res.ok || accept.includes(res.status)) return res;
    const text = method === "HEAD" ? "" : await res.text().catch(() => "");
    if (method === "HEAD") await res.body?.cancel();
    throw new BlobStorageError(what, res.status, xmlText(text, "Code"), xmlText(text, "Message"));
  }

  /** The size of a stored blob, or null when absent. */
  async stat(hash: string): Promise<BlobStat | null> {
    const res = await this.#send("HEAD object", "HEAD", this.keyOf(hash), {}, [404]);
    await res.body?.cancel();
    if (res.status === 404) return null;
    return { size: Number(res.headers.get("content-length") ?? 0) };
  }

  /** Whether a blob with this hash is stored. */
  async has(hash: string): Promise<boolean> {
    return (await this.stat(hash)) !== null;
  }

  /**
   * The bytes of a stored blob, optionally the range `[start, end)` (`end` clamped to the size).
   * @throws {WeightsNotFoundError} when absent
   * @throws {InvalidArgumentError} for a bad range or a start past the size
   */
  async get(hash: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const key = this.keyOf(hash);
    const { start, end } = checkRange(range);
    const ranged = start > 0 || end !== undefined;
    if (ranged && (end === start || start > 0)) {
      // An empty range cannot be asked of S3, and a start at the size answers 416: ask the size.
      const st = await this.stat(hash);
      if (!st) throw new WeightsNotFoundError(hash, "no blob with this hash is stored");
      if (start > st.size) {
        throw new InvalidArgumentError("start", start, `is past the blob size ${st.size}`);
      }
      if (start === st.size || end === start) return emptyStream();
    }
    const headers: Record<string, string> = {};
    if (ranged) headers["range"] = `bytes=${start}-${end === undefined ? "" : end - 1}`;
    const res = await this.#send("GET object", "GET", key, { headers }, [404]);
    if (res.status === 404) {
      await res.body?.cancel();
      throw new WeightsNotFoundError(hash, "no blob with this hash is stored");
    }
    return res.body ?? emptyStream();
  }

  /**
   * Stores a stream whose bytes must hash to `hash`. Small blobs go in one PUT once verified;
   * larger ones in a multipart upload completed only when the hash matches.
   * @throws {HashMismatchError} when the bytes differ; nothing is stored then
   */
  async putFromStream(hash: string, stream: ReadableStream<Uint8Array>): Promise<BlobStat> {
    const key = this.keyOf(hash);
    const hasher = createHash("sha256");
    let upload: { id: string; etags: string[] } | null = null;
    let single: Uint8Array | null = null;
    const parts: Uint8Array[] = [];
    // A block is sent as a part once the next one shows it is not the last: a blob of one
    // block goes in one PUT after its hash is checked.
    const sendHeld = async () => {
      const block = parts.shift();
      if (!block) return;
      upload ??= { id: await this.createMultipart(key), etags: [] };
      upload.etags.push(await this.sendPart(key, upload.id, upload.etags.length + 1, block));
    };
    try {
      const size = await gatherBlocks(stream, this.#partSize, async (block) => {
        parts.push(block);
        if (parts.length > 1) await sendHeld();
      }, { hash: hasher, fresh: true });
      const actual = hasher.digest("hex");
      if (actual !== hash) throw new HashMismatchError(hash, actual);
      if (upload === null) {
        single = parts.shift() ?? new Uint8Array(0);
        await (await this.#send("PUT object", "PUT", key, { body: single })).body?.cancel();
      } else {
        await sendHeld();
        const u = upload as { id: string; etags: string[] };
        await this.completeMultipart(key, u.id, u.etags);
      }
      return { size };
    } catch (e) {
      if (upload !== null) await this.abortMultipart(key, (upload as { id: string }).id);
      throw e;
    }
  }

  /** Deletes a blob; returns whether it existed. */
  async delete(hash: string): Promise<boolean> {
    const existed = await this.has(hash);
    const res = await this.#send("DELETE object", "DELETE", this.keyOf(hash), {}, [404]);
    await res.body?.cancel();
    return existed;
  }

  /** Starts an S3 multipart upload at `key`; returns S3's UploadId. */
  async createMultipart(key: string): Promise<string> {
    const res = await this.#send("CreateMultipartUpload", "POST", key, { query: { uploads: "" } });
    const id = xmlText(await res.text(), "UploadId");
    if (!id) throw new BlobStorageError("CreateMultipartUpload", res.status, "", "no UploadId");
    return id;
  }

  /** Sends part `n` of the multipart upload `s3Id`; returns its ETag. */
  async sendPart(key: string, s3Id: string, n: number, bytes: Uint8Array): Promise<string> {
    const res = await this.#send("UploadPart", "PUT", key, {
      query: { partNumber: String(n), uploadId: s3Id },
      body: bytes,
    });
    await res.body?.cancel();
    const etag = res.headers.get("etag");
    if (!etag) throw new BlobStorageError("UploadPart", res.status, "", "no ETag");
    return etag;
  }

  /** Completes the multipart upload `s3Id` from the ETags of its parts, in order. */
  async completeMultipart(key: string, s3Id: string, etags: string[]): Promise<void> {
    const xml = `<CompleteMultipartUpload>${
      etags.map((e, i) =>
        `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(e)}</ETag></Part>`
      )
        .join("")
    }</CompleteMultipartUpload>`;
    const res = await this.#send("CompleteMultipartUpload", "POST", key, {
      query: { uploadId: s3Id },
      headers: { "content-type": "application/xml" },
      body: new TextEncoder().encode(xml),
    });
    // S3 may answer 200 and still fail, with an <Error> body.
    const text = await res.text();
    if (/<Error>/.test(text)) {
      throw new BlobStorageError(
        "CompleteMultipartUpload",
        res.status,
        xmlText(text, "Code"),
        xmlText(text, "Message"),
      );
    }
  }

  /** Aborts the multipart upload `s3Id` (a service without abort keeps its parts). */
  async abortMultipart(key: string, s3Id: string): Promise<void> {
    const res = await this.#send("AbortMultipartUpload", "DELETE", key, {
      query: { uploadId: s3Id },
    }, [404, 405, 501]); // s3rver has no AbortMultipartUpload (405): its parts stay there
    await res.body?.cancel();
  }

  /** The part size of streamed puts and of resumable uploads' parts. */
  get partSize(): number {
    return this.#partSize;
  }

  /** The key of a staging object `name` (bytes of uploads in progress), under the prefix. */
  stagingKey(name: string): string {
    const k = `partial/${name}`;
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  /** Writes the object `key` (raw: no hash check; for staging objects). */
  async putObject(key: string, bytes: Uint8Array): Promise<void> {
    await (await this.#send("PUT object", "PUT", key, { body: bytes })).body?.cancel();
  }

  /**
   * Reads the whole object `key` into memory (raw; for small staging objects).
   * @throws {BlobStorageError} when it is absent (404) or unreadable
   */
  async getObject(key: string): Promise<Uint8Array> {
    const res = await this.#send("GET object", "GET", key);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Deletes the object `key` (raw); an absent one is no error. */
  async deleteObject(key: string): Promise<void> {
    await (await this.#send("DELETE object", "DELETE", key, {}, [404])).body?.cancel();
  }

  async #state(uploadId: string): Promise<UploadState> {
    if (typeof uploadId !== "string" || uploadId === "") {
      throw new InvalidArgumentError("uploadId", uploadId, "must be a non-empty string");
    }
    const s = await this.uploadStates.get(uploadId);
    if (!s) throw new UploadNotFoundError(uploadId);
    return s;
  }

  /**
   * Begins a resumable upload of `length` bytes that must hash to `hash`.
   * @returns the upload's id, valid on every instance sharing {@link uploadStates}
   */
  async begin(hash: string, length: number): Promise<string> {
    const key = this.keyOf(hash);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new InvalidArgumentError("length", length, "must be a non-negative integer");
    }
    const storageUploadId = await this.createMultipart(key);
    const uploadId = crypto.randomUUID();
    await this.uploadStates.create({
      uploadId,
      hash,
      length,
      key,
      storageUploadId,
      parts: [],
      sha256: (await Sha256.create()).save(),
      version: 0,
    });
    return uploadId;
  }

  /**
   * Adds part `partNumber` of an upload. Every part but the last must be at least
   * {@link MIN_PART_SIZE}. The part received last may be sent again with the same bytes.
   * @throws {InvalidArgumentError} for a part out of order, too small or past the length
   * @throws {UploadNotFoundError} when no such upload is in progress
   */
  async uploadPart(
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
  ): Promise<UploadProgress> {
    const state = await this.#state(uploadId);
    if (!(bytes instanceof Uint8Array)) {
      throw new InvalidArgumentError("bytes", bytes, "must be a Uint8Array");
    }
    const received = state.parts.reduce((n, p) => n + p.size, 0);
    const progress = (s: UploadState, r: number): UploadProgress => ({
      uploadId,
      nextPart: s.parts.length + 1,
      received: r,
      length: s.length,
    });
    const last = state.parts[state.parts.length - 1];
    if (last && partNumber === last.number) {
      const sha = createHash("sha256").update(bytes).digest("hex");
      if (sha === last.sha256) return progress(state, received);
      throw new InvalidArgumentError(
        "partNumber",
        partNumber,
        "was already received with other bytes",
      );
    }
    const next = state.parts.length + 1;
    if (partNumber !== next) {
      throw new InvalidArgumentError("partNumber", partNumber, `must be ${next}, the next part`);
    }
    const after = received + bytes.byteLength;
    if (after > state.length) {
      throw new InvalidArgumentError(
        "bytes",
        `${bytes.byteLength} bytes`,
        `go past the upload's length ${state.length} (received ${received})`,
      );
    }
    if (after < state.length && bytes.byteLength < MIN_PART_SIZE) {
      throw new InvalidArgumentError(
        "bytes",
        `${bytes.byteLength} bytes`,
        `are too few: every part but the last must have at least ${MIN_PART_SIZE} bytes`,
      );
    }
    const etag = await this.sendPart(state.key, state.storageUploadId, partNumber, bytes);
    const running = (await Sha256.restore(state.sha256)).update(bytes);
    const updated: UploadState = {
      ...state,
      parts: [...state.parts, {
        number: partNumber,
        size: bytes.byteLength,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        etag,
      }],
      sha256: running.save(),
      version: state.version + 1,
    };
    if (!(await this.uploadStates.replace(state.version, updated))) {
      throw new InvalidArgumentError(
        "partNumber",
        partNumber,
        "was received at the same time by another request; ask the upload's progress again",
      );
    }
    return progress(updated, after);
  }

  /**
   * Finishes an upload: verifies the SHA-256 of all its bytes, then makes the blob visible.
   * @throws {InvalidArgumentError} when bytes are still missing
   * @throws {HashMismatchError} when they differ; the upload is dropped and nothing is left
   */
  async complete(uploadId: string): Promise<BlobStat> {
    const state = await this.#state(uploadId);
    const received = state.parts.reduce((n, p) => n + p.size, 0);
    if (received !== state.length) {
      throw new InvalidArgumentError(
        "uploadId",
        uploadId,
        `has ${received} of its ${state.length} bytes`,
      );
    }
    const actual = (await Sha256.restore(state.sha256)).digestHex();
    if (actual !== state.hash) {
      await this.abortMultipart(state.key, state.storageUploadId);
      await this.uploadStates.delete(uploadId);
      throw new HashMismatchError(state.hash, actual);
    }
    if (state.parts.length === 0) {
      await this.abortMultipart(state.key, state.storageUploadId);
      await (await this.#send("PUT object", "PUT", state.key, { body: new Uint8Array(0) })).body
        ?.cancel();
    } else {
      await this.completeMultipart(
        state.key,
        state.storageUploadId,
        state.parts.map((p) => p.etag),
      );
    }
    await this.uploadStates.delete(uploadId);
    return { size: state.length };
  }

  /** Drops an upload and its parts; returns whether it existed. */
  async abort(uploadId: string): Promise<boolean> {
    const state = await this.uploadStates.get(uploadId);
    if (!state) return false;
    await this.abortMultipart(state.key, state.storageUploadId);
    return await this.uploadStates.delete(uploadId);
  }
}
