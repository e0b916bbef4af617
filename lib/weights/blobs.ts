/**
 * A content-addressed store of weights files: every blob is kept once, under the SHA-256 of its
 * bytes, at `<dir>/sha256/<aa>/<hex>`. Files are always streamed, never read whole into memory.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { dirname, join } from "node:path";
import {
  COPY_BUFFER_SIZE,
  drainFile,
  hashFile,
  isNotFound,
  openRegularFile,
  removeQuietly,
  statOrNull,
  writeHashed,
} from "./file_hash.ts";
export { sha256File } from "./file_hash.ts";
import { HashMismatchError, InvalidArgumentError, WeightsNotFoundError } from "../errors.ts";
import {
  type BlobBackend,
  type BlobStat,
  type ByteRange,
  checkRange,
  UploadNotFoundError,
  type UploadProgress,
} from "./blob_backend.ts";

/** A blob kept in a {@link BlobStore}. */
export interface BlobInfo {
  /** The SHA-256 of the bytes, 64 lowercase hex digits. */
  hash: string;
  /** The size in bytes. */
  size: number;
  /** The absolute or store-relative path of the stored blob. */
  path: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Returns true when `s` is a SHA-256 digest written as 64 lowercase hex digits. */
export function isSha256Hex(s: string): boolean {
  return typeof s === "string" && SHA256_HEX.test(s);
}

function checkHash(hash: string, field = "hash"): string {
  if (!isSha256Hex(hash)) {
    throw new InvalidArgumentError(
      field,
      hash,
      "must be a sha256 digest of 64 lowercase hex digits",
    );
  }
  return hash;
}

/**
 * A content-addressed blob store rooted at a folder.
 *
 * Layout: `<dir>/sha256/<first 2 hex>/<hex>` for blobs, `<dir>/tmp` for files being written and
 * `<dir>/partial/<hex>` for resumable uploads.
 *
 * @example Storing a file once
 * ```ts
 * import assert from "node:assert/strict";
 * import { BlobStore } from "./blobs.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/model.onnx`, "weights");
 * const store = new BlobStore(`${dir}/blobs`);
 * const info = await store.putFile(`${dir}/model.onnx`);
 * assert.equal(info.size, 7);
 * assert.equal((await store.putFile(`${dir}/model.onnx`)).hash, info.hash); // stored once
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class BlobStore implements BlobBackend {
  /** The root folder of the store. */
  readonly dir: string;
  #locks = new Map<string, Promise<unknown>>();
  #uploads = new Map<string, { hash: string; length: number; parts: string[]; size: number }>();
  #running = new Map<string, { size: number; hasher: Hash }>();

  /**
   * Creates a store over a folder; nothing is touched until the first write.
   * @param dir the root folder
   */
  constructor(dir: string) {
    if (typeof dir !== "string" || dir === "") {
      throw new InvalidArgumentError("dir", dir, "must be a non-empty path");
    }
    this.dir = dir;
  }

  /** The path where the blob with `hash` is (or would be) stored. Validates the hash. */
  pathOf(hash: string): string {
    checkHash(hash);
    return join(this.dir, "sha256", hash.slice(0, 2), hash);
  }

  /**
   * Where the upload in progress of `hash` is; an `owner` (a server's uploader id, letters and
   * digits) gets a folder of its own, so uploaders never write into each other's partials.
   */
  #partialPath(hash: string, owner?: string): string {
    checkHash(hash);
    if (owner === undefined) return join(this.dir, "partial", hash);
    if (!/^[A-Za-z0-9]{1,64}$/.test(owner)) {
      throw new InvalidArgumentError("owner", owner, "must be 1 to 64 letters or digits");
    }
    return join(this.dir, "partial", owner, hash);
  }

  async #tempFile(): Promise<{ path: string; file: Deno.FsFile }> {
    const tmpDir = join(this.dir, "tmp");
    await Deno.mkdir(tmpDir, { recursive: true });
    const path = join(tmpDir, `${crypto.randomUUID()}.tmp`);
    const file = await Deno.open(path, { write: true, createNew: true });
    return { path, file };
  }

  /** Serializes operations on the same key within this process. */
  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  /** Moves a fully written file whose hash is known into its place (or drops it if present). */
  async #place(tmpPath: string, hash: string, size: number): Promise<BlobInfo> {
    const dest = this.pathOf(hash);
    try {
      if (await statOrNull(dest)) {
        await removeQuietly(tmpPath);
      } else {
        await Deno.mkdir(join(this.dir, "sha256", hash.slice(0, 2)), { recursive: true });
        await Deno.rename(tmpPath, dest);
      }
    } catch (e) {
      await removeQuietly(tmpPath);
      throw e;
    }
    return { hash, size, path: dest };
  }

  /**
   * Stores a file: streams it through SHA-256 into a temp file, then renames it into place.
   * The same bytes are stored once.
   *
   * @throws {WeightsNotFoundError} when the path is missing or not a regular file
   */
  async putFile(path: string): Promise<BlobInfo> {
    const src = await openRegularFile(path);
    let tmp: { path: string; file: Deno.FsFile };
    try {
      tmp = await this.#tempFile();
    } catch (e) {
      src.close();
      throw e;
    }
    const h = createHash("sha256");
    let size: number;
    try {
      size = await drainFile(src, h, tmp.file);
    } catch (e) {
      await removeQuietly(tmp.path);
      throw e;
    }
    return await this.#place(tmp.path, h.digest("hex"), size);
  }

  /**
   * Stores the bytes of a stream.
   *
   * @param stream the bytes
   * @param expectedHash when given, the bytes must hash to it
   * @throws {HashMismatchError} when `expectedHash` differs; nothing is stored then
   */
  async putStream(
    stream: ReadableStream<Uint8Array>,
    expectedHash?: string,
  ): Promise<BlobInfo> {
    let tmp: { path: string; file: Deno.FsFile };
    try {
      if (expectedHash !== undefined) checkHash(expectedHash, "expectedHash");
      tmp = await this.#tempFile();
    } catch (e) {
      await stream.cancel(e).catch(() => {});
      throw e;
    }
    const h = createHash("sha256");
    let size: number;
    try {
      size = await writeHashed(stream, tmp.file, h);
    } catch (e) {
      await removeQuietly(tmp.path);
      throw e;
    }
    const hash = h.digest("hex");
    if (expectedHash !== undefined && hash !== expectedHash) {
      await removeQuietly(tmp.path);
      throw new HashMismatchError(expectedHash, hash);
    }
    return await this.#place(tmp.path, hash, size);
  }

  /** Whether a blob with this hash is stored. */
  async has(hash: string): Promise<boolean> {
    return (await this.stat(hash)) !== null;
  }

  /** The size of a stored blob, or null when absent. */
  async stat(hash: string): Promise<{ size: number } | null> {
    const info = await statOrNull(this.pathOf(hash));
    return info && info.isFile ? { size: info.size } : null;
  }

  /**
   * Opens a stored blob for reading, optionally the byte range `[start, end)`.
   * `end` is clamped to the blob size. The result is a byte stream, so it can also be read
   * with a BYOB reader (`getReader({ mode: "byob" })`) into a reused buffer.
   *
   * @throws {WeightsNotFoundError} when the blob is absent
   * @throws {InvalidArgumentError} for a bad range
   */
  async open(hash: string, start = 0, end?: number): Promise<ReadableStream<Uint8Array>> {
    const path = this.pathOf(hash);
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new InvalidArgumentError("start", start, "must be a non-negative integer");
    }
    if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
      throw new InvalidArgumentError("end", end, `must be an integer >= start (${start})`);
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      if (isNotFound(e)) throw new WeightsNotFoundError(hash, "no blob with this hash is stored");
      throw e;
    }
    let remaining: number;
    try {
      const { size } = await file.stat();
      if (start > size) {
        throw new InvalidArgumentError("start", start, `is past the blob size ${size}`);
      }
      remaining = Math.min(end ?? size, size) - start;
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    } catch (e) {
      file.close();
      throw e;
    }
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        file.close();
      }
    };
    // A byte stream: a BYOB reader can read with one reused buffer, so no garbage per chunk.
    return new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: COPY_BUFFER_SIZE,
      async pull(controller) {
        const req = controller.byobRequest;
        try {
          if (!req?.view) throw new Error("byte stream pulled without a byobRequest");
          const view = req.view;
          const max = Math.min(view.byteLength, remaining);
          const n = max <= 0
            ? null
            : await file.read(new Uint8Array(view.buffer, view.byteOffset, max));
          if (n === null || n === 0) {
            close();
            controller.close();
            req.respond(0);
            return;
          }
          remaining -= n;
          req.respond(n);
        } catch (e) {
          close();
          controller.error(e);
        }
      },
      cancel() {
        close();
      },
    });
  }

  /** Deletes a stored blob. Returns whether it existed. */
  async delete(hash: string): Promise<boolean> {
    const path = this.pathOf(hash);
    try {
      await Deno.remove(path);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** The number of bytes received so far for a resumable upload of `hash` (0 if none). */
  async partialSize(hash: string, owner?: string): Promise<number> {
    const info = await statOrNull(this.#partialPath(hash, owner));
    return info?.size ?? 0;
  }

  /**
   * Appends bytes to the resumable upload of `hash`.
   *
   * @param hash the hash the finished blob must have
   * @param offset where the bytes go; must equal the current partial size
   * @param stream the bytes
   * @param owner whose upload it is (each owner has its own partial)
   * @returns the new partial size
   * @throws {InvalidArgumentError} (code `INVALID_ARGUMENT`, field `offset`) when `offset` is
   *   not the current partial size
   */
  appendPartial(
    hash: string,
    offset: number,
    stream: ReadableStream<Uint8Array>,
    owner?: string,
  ): Promise<number> {
    const path = this.#partialPath(hash, owner);
    const key = owner === undefined ? hash : `${owner}/${hash}`;
    return this.#withLock(key, async () => {
      try {
        const current = await this.partialSize(hash, owner);
        if (offset !== current) {
          throw new InvalidArgumentError(
            "offset",
            offset,
            `must equal the current partial size ${current} of ${hash}`,
          );
        }
        await Deno.mkdir(dirname(path), { recursive: true });
      } catch (e) {
        await stream.cancel(e).catch(() => {});
        throw e;
      }
      // Keep hashing as parts arrive, so committing need not read the file again. The running
      // hash lives in memory only: after a restart, commit falls back to hashing the file.
      let running = this.#running.get(key);
      if (running && running.size !== offset) running = undefined;
      if (!running && offset === 0) running = { size: 0, hasher: createHash("sha256") };
      this.#running.delete(key);
      const file = await Deno.open(path, { append: true, create: true });
      // On a failure the bytes written so far stay, and the running hash is dropped.
      const added = await writeHashed(stream, file, running?.hasher);
      const size = await this.partialSize(hash, owner);
      if (running && running.size + added === size) {
        this.#running.set(key, { size, hasher: running.hasher });
      }
      return size;
    });
  }

  /**
   * Finishes a resumable upload: hashes the partial file (streamed) and, when it matches, moves
   * it into place.
   *
   * @throws {WeightsNotFoundError} when there is no partial upload for `hash`
   * @throws {HashMismatchError} when the bytes differ; the partial data is deleted
   */
  commitPartial(hash: string, owner?: string): Promise<BlobInfo> {
    const path = this.#partialPath(hash, owner);
    const key = owner === undefined ? hash : `${owner}/${hash}`;
    return this.#withLock(key, async () => {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch (e) {
        if (isNotFound(e)) throw new WeightsNotFoundError(hash, "no partial upload for this hash");
        throw e;
      }
      const running = this.#running.get(key);
      this.#running.delete(key);
      const size = (await file.stat()).size;
      let actual: { hash: string; size: number };
      if (running && running.size === size) {
        file.close();
        actual = { hash: running.hasher.digest("hex"), size };
      } else {
        actual = await hashFile(file);
      }
      if (actual.hash !== hash) {
        await removeQuietly(path);
        throw new HashMismatchError(hash, actual.hash);
      }
      return await this.#place(path, hash, actual.size);
    });
  }

  // The BlobBackend interface, over the methods above. Numbered uploads are kept in this
  // process's memory (one folder store serves one process); their bytes go to the partial file.

  /** The bytes of a stored blob, optionally a range; see {@link BlobStore.open}. */
  get(hash: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const { start, end } = checkRange(range);
    return this.open(hash, start, end);
  }

  /** Stores a stream whose bytes must hash to `hash`; see {@link BlobStore.putStream}. */
  async putFromStream(hash: string, stream: ReadableStream<Uint8Array>): Promise<BlobStat> {
    return { size: (await this.putStream(stream, checkHash(hash))).size };
  }

  /** Begins a numbered upload of `hash`, dropping any partial bytes it had. */
  async begin(hash: string, length: number): Promise<string> {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new InvalidArgumentError("length", length, "must be a non-negative integer");
    }
    await this.#withLock(hash, () => removeQuietly(this.#partialPath(hash)));
    const id = crypto.randomUUID();
    this.#uploads.set(id, { hash, length, parts: [], size: 0 });
    return id;
  }

  /** Adds part `partNumber` (in order; the last one may be sent again with the same bytes). */
  async uploadPart(
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
  ): Promise<UploadProgress> {
    const u = this.#uploads.get(uploadId);
    if (!u) throw new UploadNotFoundError(uploadId);
    const sha = createHash("sha256").update(bytes).digest("hex");
    const progress = () => ({
      uploadId,
      nextPart: u.parts.length + 1,
      received: u.size,
      length: u.length,
    });
    if (partNumber === u.parts.length && u.parts[partNumber - 1] === sha) return progress();
    if (partNumber !== u.parts.length + 1) {
      throw new InvalidArgumentError("partNumber", partNumber, `must be ${u.parts.length + 1}`);
    }
    if (u.size + bytes.byteLength > u.length) {
      throw new InvalidArgumentError("bytes", `${bytes.byteLength} bytes`, `go past ${u.length}`);
    }
    u.size = await this.appendPartial(u.hash, u.size, new Blob([bytes as BlobPart]).stream());
    u.parts.push(sha);
    return progress();
  }

  /** Verifies and places a finished numbered upload; see {@link BlobStore.commitPartial}. */
  async complete(uploadId: string): Promise<BlobStat> {
    const u = this.#uploads.get(uploadId);
    if (!u) throw new UploadNotFoundError(uploadId);
    if (u.size !== u.length) {
      throw new InvalidArgumentError("uploadId", uploadId, `has ${u.size} of ${u.length} bytes`);
    }
    this.#uploads.delete(uploadId);
    if (u.length === 0) await Deno.mkdir(join(this.dir, "partial"), { recursive: true });
    if (u.length === 0) await Deno.writeFile(this.#partialPath(u.hash), new Uint8Array(0));
    return { size: (await this.commitPartial(u.hash)).size };
  }

  /** Drops a numbered upload and its partial bytes; returns whether it existed. */
  async abort(uploadId: string): Promise<boolean> {
    const u = this.#uploads.get(uploadId);
    if (!u) return false;
    this.#uploads.delete(uploadId);
    await this.#withLock(u.hash, () => removeQuietly(this.#partialPath(u.hash)));
    return true;
  }
}
