/**
 * Streaming file helpers of the blob stores: SHA-256 of a file or stream while it is copied,
 * opening only regular files, and quiet removal.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { WeightsNotFoundError } from "../errors.ts";

export function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** What is fed every chunk of a stream, in order (a hash, or anything with `update`). */
export interface ChunkSink {
  update(chunk: Uint8Array): unknown;
}

/**
 * Reads `stream` to its end, feeding every chunk to `hash` when given, and gathers the bytes
 * into blocks of `blockSize` handed to `flush` (the last block may be shorter; none for an
 * empty stream). Network streams arrive in small chunks: one write or one part per block
 * instead of one per chunk. When `fresh`, every block is a new buffer (a consumer may keep
 * it); else one buffer is reused. On a failure, what was gathered is flushed first (a
 * resumable upload keeps it) when `flushOnError`. Returns the number of bytes read.
 */
export async function gatherBlocks(
  stream: ReadableStream<Uint8Array>,
  blockSize: number,
  flush: (block: Uint8Array) => Promise<void>,
  o: { hash?: ChunkSink; fresh?: boolean; flushOnError?: boolean } = {},
): Promise<number> {
  let buf = new Uint8Array(blockSize);
  let fill = 0;
  let size = 0;
  const emit = async () => {
    if (fill === 0) return;
    const block = buf.subarray(0, fill);
    fill = 0;
    await flush(block);
    if (o.fresh) buf = new Uint8Array(blockSize);
  };
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!value || value.byteLength === 0) continue;
      o.hash?.update(value);
      size += value.byteLength;
      let off = 0;
      while (off < value.byteLength) {
        const n = Math.min(buf.length - fill, value.byteLength - off);
        buf.set(value.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === buf.length) await emit();
      }
    }
    await emit();
  } catch (e) {
    if (o.flushOnError) await emit().catch(() => {});
    await reader.cancel(e).catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
  return size;
}

/**
 * Pipes `stream` into `file` in blocks of {@link WRITE_BUFFER_SIZE}, feeding every chunk to
 * `hash` when given (one file write per megabyte instead of one per chunk: each async write is
 * a thread-pool round trip). Closes the file in every case; what arrived before a failure is
 * kept. Returns the number of bytes written.
 */
export async function writeHashed(
  stream: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  hash?: ChunkSink,
): Promise<number> {
  try {
    return await gatherBlocks(stream, WRITE_BUFFER_SIZE, async (block) => {
      let written = 0;
      while (written < block.length) written += await file.write(block.subarray(written));
    }, { ...(hash ? { hash } : {}), flushOnError: true });
  } finally {
    file.close();
  }
}

export const WRITE_BUFFER_SIZE = 1024 * 1024;

export const COPY_BUFFER_SIZE = 256 * 1024;

/**
 * Reads a file to its end through one reused buffer, feeding every chunk to `hash` and, when
 * given, writing it to `out`. Reusing the buffer keeps memory flat however big the file is.
 * Closes both files. Returns the number of bytes read.
 */
export async function drainFile(src: Deno.FsFile, hash: Hash, out?: Deno.FsFile): Promise<number> {
  const buf = new Uint8Array(COPY_BUFFER_SIZE);
  let size = 0;
  try {
    while (true) {
      const n = await src.read(buf);
      if (n === null) break;
      if (n === 0) continue;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      if (out) {
        let written = 0;
        while (written < n) written += await out.write(chunk.subarray(written));
      }
      size += n;
    }
  } finally {
    src.close();
    out?.close();
  }
  return size;
}

/** Hashes a whole file (already opened) in a streamed way; closes it. */
export async function hashFile(file: Deno.FsFile): Promise<{ hash: string; size: number }> {
  const h = createHash("sha256");
  const size = await drainFile(file, h);
  return { hash: h.digest("hex"), size };
}

/**
 * Computes the SHA-256 of a file by streaming it.
 *
 * @param path the file
 * @returns the hex digest and the size in bytes
 * @throws {WeightsNotFoundError} when the path is missing or not a regular file
 */
export async function sha256File(path: string): Promise<{ hash: string; size: number }> {
  return await hashFile(await openRegularFile(path));
}

export async function openRegularFile(path: string): Promise<Deno.FsFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new WeightsNotFoundError(path, isNotFound(e) ? "it does not exist" : String(e), {
      cause: e,
    });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new WeightsNotFoundError(path, "it is not a regular file");
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}
