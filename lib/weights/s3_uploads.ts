/**
 * The server's offset-addressed uploads (`PUT` with `Upload-Offset`, resumable from any byte)
 * mapped onto S3 multipart uploads, whose parts are numbered and, but for the last, at least
 * 5 MiB. Bytes arrive in requests of any size (the sync worker sends 2 MiB); they are gathered
 * into parts of the store's part size. What a request leaves over, too few for a part, is
 * staged as an object of its own (`<prefix>/partial/<upload>/<version>`), so that the upload's
 * offset is every byte acknowledged and the next request may reach any instance.
 *
 * The state of each upload (S3's UploadId, the parts' ETags, the staged tail, the running
 * SHA-256 saved by `Sha256.save()`) lives in an {@link UploadStateStore}: the server's
 * database, shared by its instances. Every change is a compare-and-set on the state's version,
 * so two instances never both advance one upload. The SHA-256 is verified before the multipart
 * upload is completed: a blob key appears only with the right bytes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { HashMismatchError, ModelogError, WeightsNotFoundError } from "../errors.ts";
import type { BlobStat, ServerBlobs, UploadState, UploadStateStore } from "./blob_backend.ts";
import type { S3BlobStore } from "./s3_blobs.ts";
import { Sha256 } from "./sha256.ts";

/** Another request advanced the same upload at the same time (on this or another instance). */
export class UploadRaceError extends ModelogError {
  /** Creates the error for the upload of `hash`. */
  constructor(hash: string) {
    super(
      "INVALID_ARGUMENT",
      `The upload of ${hash} was advanced by another request at the same time: ask its offset again`,
    );
    this.name = "UploadRaceError";
  }
}

const idOf = (hash: string, owner?: string) => `${owner ?? "-"}.${hash}`;
const heldOf = (s: UploadState) => s.parts.reduce((n, p) => n + p.size, 0) + (s.tail?.size ?? 0);

/**
 * {@link ServerBlobs} over an {@link S3BlobStore}, with the upload states in `states`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryUploadStateStore } from "./blob_backend.ts";
 * import { S3BlobStore } from "./s3_blobs.ts";
 * import { S3OffsetUploads } from "./s3_uploads.ts";
 * const states = new MemoryUploadStateStore();
 * const s3 = new S3BlobStore({
 *   url: "s3://team-weights/modelog",
 *   endpoint: "http://127.0.0.1:9000",
 *   accessKeyId: "key",
 *   secretAccessKey: "secret",
 *   uploadStates: states,
 * });
 * const blobs = new S3OffsetUploads(s3, states);
 * assert.equal(blobs.dir, undefined); // no local folder: no free-space check
 * ```
 */
export class S3OffsetUploads implements ServerBlobs {
  /** No local folder. */
  readonly dir: undefined = undefined;
  /** The S3 store. */
  readonly s3: S3BlobStore;
  /** The upload states. */
  readonly states: UploadStateStore;
  /** One S3 part per offset request: nothing is left over to stage between requests. */
  get requestSize(): number {
    return this.s3.partSize;
  }
  /** Tails this instance staged last, by upload id (saves reading them back). */
  #tails = new Map<string, { version: number; bytes: Uint8Array }>();

  /** Creates the adapter. */
  constructor(s3: S3BlobStore, states: UploadStateStore) {
    this.s3 = s3;
    this.states = states;
  }

  /** Whether a blob is stored. */
  async has(hash: string): Promise<boolean> {
    return await this.s3.has(hash);
  }

  /** The size of a stored blob, or null. */
  async stat(hash: string): Promise<BlobStat | null> {
    return await this.s3.stat(hash);
  }

  /** The bytes of a stored blob, or of `[start, end)`. */
  async open(hash: string, start = 0, end?: number): Promise<ReadableStream<Uint8Array>> {
    return await this.s3.get(hash, end === undefined ? { start } : { start, end });
  }

  /** The bytes the upload of `hash` by `owner` holds (0 when none). */
  async partialSize(hash: string, owner?: string): Promise<number> {
    this.s3.keyOf(hash);
    const s = await this.states.get(idOf(hash, owner));
    return s ? heldOf(s) : 0;
  }

  async #tailBytes(s: UploadState): Promise<Uint8Array> {
    if (!s.tail || s.tail.size === 0) return new Uint8Array(0);
    const mine = this.#tails.get(s.uploadId);
    if (mine && mine.version === s.version) return mine.bytes;
    return await this.s3.getObject(s.tail.key);
  }

  /**
   * Appends `body` at `offset` of the upload of `total` bytes; returns the bytes now held.
   * A body that breaks keeps what arrived (staged as the tail).
   * @throws {UploadRaceError} when `offset` is not the upload's, or another request advanced it
   */
  async appendPartial(
    hash: string,
    offset: number,
    body: ReadableStream<Uint8Array>,
    owner?: string,
    total?: number,
  ): Promise<number> {
    const key = this.s3.keyOf(hash);
    const id = idOf(hash, owner);
    let state = await this.states.get(id);
    if (!state && offset === 0) {
      const fresh: UploadState = {
        uploadId: id,
        hash,
        length: total ?? 0,
        key,
        storageUploadId: await this.s3.createMultipart(key),
        parts: [],
        sha256: (await Sha256.create()).save(),
        version: 0,
        updatedAt: Date.now(),
      };
      try {
        await this.states.create(fresh);
        state = fresh;
      } catch {
        await this.s3.abortMultipart(key, fresh.storageUploadId);
        state = await this.states.get(id);
      }
    }
    if (!state || heldOf(state) !== offset) {
      await body.cancel().catch(() => {});
      throw new UploadRaceError(hash);
    }
    if (total !== undefined) state = { ...state, length: total };
    const partSize = this.s3.partSize;
    const hasher = await Sha256.restore(state.sha256);
    const tail = await this.#tailBytes(state);
    let chunks: Uint8Array[] = tail.byteLength ? [tail] : [];
    let buffered = tail.byteLength;
    let cur: UploadState = state;
    let dirty = false;
    const save = async (next: UploadState) => {
      next = { ...next, version: cur.version + 1, updatedAt: Date.now() };
      if (!(await this.states.replace(cur.version, next))) throw new UploadRaceError(hash);
      cur = next;
    };
    const join = () => {
      if (chunks.length === 1) return chunks[0]!;
      const out = new Uint8Array(buffered);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.byteLength;
      }
      return out;
    };
    const flushPart = async () => {
      const bytes = join();
      const n = cur.parts.length + 1;
      const etag = await this.s3.sendPart(key, cur.storageUploadId, n, bytes);
      const sha = createHash("sha256").update(bytes).digest("hex");
      const oldTail = cur.tail;
      const next: UploadState = {
        ...cur,
        parts: [...cur.parts, { number: n, size: bytes.byteLength, sha256: sha, etag }],
        sha256: hasher.save(),
      };
      delete next.tail;
      await save(next);
      chunks = [];
      buffered = 0;
      dirty = false;
      if (oldTail) await this.s3.deleteObject(oldTail.key).catch(() => {});
    };
    const reader = body.getReader();
    let broken = false;
    try {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch {
          broken = true; // keep what arrived
          break;
        }
        if (r.done) break;
        const v = r.value;
        if (v.byteLength === 0) continue;
        hasher.update(v);
        dirty = true;
        chunks.push(v);
        buffered += v.byteLength;
        const inParts = cur.parts.reduce((n, p) => n + p.size, 0);
        if (buffered >= partSize && inParts + buffered < cur.length) {
          await flushPart();
        }
      }
    } finally {
      reader.releaseLock();
    }
    const partsBytes = cur.parts.reduce((n, p) => n + p.size, 0);
    if (!broken && partsBytes + buffered === cur.length) {
      // Every byte: the rest is the last part (any size); a blob with no part yet stays a
      // staged tail, which `commitPartial` writes as one object.
      if (cur.parts.length > 0 && buffered > 0) await flushPart();
      else if (dirty) await this.#stageTail(cur, join(), hasher, save);
      return cur.length;
    }
    if (dirty) await this.#stageTail(cur, join(), hasher, save);
    return heldOf(cur);
  }

  async #stageTail(
    cur: UploadState,
    bytes: Uint8Array,
    hasher: Sha256,
    save: (s: UploadState) => Promise<void>,
  ): Promise<void> {
    const version = cur.version + 1;
    const tailKey = this.s3.stagingKey(`${cur.uploadId}/${version}`);
    await this.s3.putObject(tailKey, bytes);
    const oldTail = cur.tail;
    try {
      await save({ ...cur, tail: { key: tailKey, size: bytes.byteLength }, sha256: hasher.save() });
    } catch (e) {
      await this.s3.deleteObject(tailKey).catch(() => {});
      throw e;
    }
    this.#tails.set(cur.uploadId, { version, bytes });
    if (oldTail && oldTail.key !== tailKey) await this.s3.deleteObject(oldTail.key).catch(() => {});
  }

  /**
   * Verifies the SHA-256 of the complete upload of `hash` and makes the blob visible.
   * @throws {HashMismatchError} when the bytes differ; the upload is dropped
   */
  async commitPartial(hash: string, owner?: string): Promise<BlobStat> {
    const id = idOf(hash, owner);
    const s = await this.states.get(id);
    if (!s) throw new WeightsNotFoundError(hash, "no partial upload for this hash");
    const actual = (await Sha256.restore(s.sha256)).digestHex();
    const drop = async () => {
      if (s.tail) await this.s3.deleteObject(s.tail.key).catch(() => {});
      await this.states.delete(id);
      this.#tails.delete(id);
    };
    if (actual !== hash || heldOf(s) !== s.length) {
      await this.s3.abortMultipart(s.key, s.storageUploadId);
      await drop();
      throw new HashMismatchError(hash, actual);
    }
    if (s.parts.length === 0) {
      await this.s3.putObject(s.key, await this.#tailBytes(s));
      await this.s3.abortMultipart(s.key, s.storageUploadId);
    } else {
      await this.s3.completeMultipart(s.key, s.storageUploadId, s.parts.map((p) => p.etag));
    }
    await drop();
    return { size: s.length };
  }
}
