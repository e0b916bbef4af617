/**
 * Parts uploads into the local blob folder: numbered parts of a blob arrive in any order and
 * several at once, each written at its place in one partial file
 * (`<dir>/partial[/<owner>]/<hash>.parts`), with the list of parts received beside it
 * (`<hash>.parts.json`, replaced whole after each part's bytes are written). The SHA-256 cannot
 * run as bytes arrive out of order; instead a running hash follows the received prefix, reading
 * back from the file (the page cache) each part once the parts before it are in, so the hash is
 * mostly done when the last part lands. After a restart the hash starts again from the file.
 * The blob is renamed into place only when the hash of the whole matches.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { dirname, join } from "node:path";
import { HashMismatchError, InvalidArgumentError } from "../errors.ts";
import type { BlobStat, PartsProgress, PartUploads } from "./blob_backend.ts";
import type { BlobStore } from "./blobs.ts";
import { isNotFound, removeQuietly, statOrNull, writeHashed } from "./file_hash.ts";

/**
 * The part size a device is asked for (8 MiB): with 4 in flight, big enough that a part's
 * round trip is small beside its bytes, small enough to keep a device's memory
 * (4 x 8 MiB of buffers) and the server's kept bytes bounded.
 */
export const LOCAL_PART_SIZE = 8 * 1024 * 1024;

interface Record {
  length: number;
  partSize: number;
  received: number[];
}

interface Live {
  rec: Record;
  have: Set<number>;
  /** The running hash of bytes `[0, through)`, when this process followed them. */
  hasher?: Hash;
  through: number;
  /** The pump reading parts back into the hash, when one runs. */
  pumping?: Promise<void>;
  /** Parts being received, or received and not yet hashed, with the bytes kept for the hash. */
  open: Map<number, OpenPart>;
  /** Bytes kept in `open`. */
  kept: number;
}

interface OpenPart {
  chunks: Uint8Array[];
  /** Bytes not kept (over the budget): the hash reads this part back from the file. */
  dropped: boolean;
  /** All its bytes arrived and were recorded. */
  done: boolean;
}

const isHttp = (e: unknown) => e instanceof Deno.errors.Http;

const partCount = (r: { length: number; partSize: number }) =>
  Math.max(1, Math.ceil(r.length / r.partSize));

/** Serializes async work per key. */
class KeyedLock {
  #tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/**
 * {@link PartUploads} into a {@link BlobStore}'s folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BlobStore } from "./blobs.ts";
 * import { LocalPartUploads } from "./part_uploads.ts";
 * const dir = await Deno.makeTempDir();
 * const parts = new LocalPartUploads(new BlobStore(dir), { partSizeRange: [1, 64] });
 * const bytes = new TextEncoder().encode("weights!");
 * const hash = Array.from(
 *   new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
 *   (b) => b.toString(16).padStart(2, "0"),
 * ).join("");
 * const part = (n: number) => new Blob([bytes.slice((n - 1) * 5, n * 5)]).stream();
 * await parts.putPart(hash, undefined, 8, 5, 2, part(2)); // the last part first
 * const p = await parts.putPart(hash, undefined, 8, 5, 1, part(1));
 * assert.deepEqual([p.received, p.complete], [[1, 2], true]);
 * assert.equal((await parts.commit(hash)).size, 8);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class LocalPartUploads implements PartUploads {
  /** The part size a device is asked to use. */
  readonly partSize: number;
  /** The smallest and largest part size accepted. */
  readonly partSizeRange: readonly [number, number];
  /** How many parts of one blob a device may send at once. */
  readonly inFlight: number;
  readonly #blobs: BlobStore;
  readonly #lock = new KeyedLock();
  readonly #live = new Map<string, Live>();

  /** Parts uploads into `blobs`' folder. */
  constructor(
    blobs: BlobStore,
    o: { partSize?: number; partSizeRange?: [number, number]; inFlight?: number } = {},
  ) {
    this.#blobs = blobs;
    this.partSize = o.partSize ?? LOCAL_PART_SIZE;
    this.partSizeRange = o.partSizeRange ?? [1024 * 1024, 64 * 1024 * 1024];
    this.inFlight = o.inFlight ?? 4;
  }

  #paths(hash: string, owner?: string): { data: string; rec: string; key: string } {
    const base = this.#blobs.pathOf(hash); // validates the hash
    void base;
    if (owner !== undefined && !/^[A-Za-z0-9]{1,64}$/.test(owner)) {
      throw new InvalidArgumentError("owner", owner, "must be 1 to 64 letters or digits");
    }
    const dir = owner === undefined
      ? join(this.#blobs.dir, "partial")
      : join(this.#blobs.dir, "partial", owner);
    const data = join(dir, `${hash}.parts`);
    return { data, rec: `${data}.json`, key: `${owner ?? ""}/${hash}` };
  }

  async #load(hash: string, owner?: string): Promise<Live | null> {
    const p = this.#paths(hash, owner);
    const live = this.#live.get(p.key);
    if (live) return live;
    let rec: Record;
    try {
      rec = JSON.parse(await Deno.readTextFile(p.rec));
    } catch (e) {
      if (isNotFound(e) || e instanceof SyntaxError) return null;
      throw e;
    }
    if (!(await statOrNull(p.data))) {
      await removeQuietly(p.rec);
      return null;
    }
    const l: Live = {
      rec,
      have: new Set(rec.received),
      through: 0,
      open: new Map(),
      kept: 0,
    };
    this.#live.set(p.key, l);
    return l;
  }

  #progress(l: Live): PartsProgress {
    return {
      length: l.rec.length,
      partSize: l.rec.partSize,
      received: [...l.have].sort((a, b) => a - b),
      complete: l.have.size === partCount(l.rec),
    };
  }

  /** The progress of the parts upload of `hash` by `owner`, or null when none. */
  async progress(hash: string, owner?: string): Promise<PartsProgress | null> {
    const p = this.#paths(hash, owner);
    return await this.#lock.run(p.key, async () => {
      const l = await this.#load(hash, owner);
      return l ? this.#progress(l) : null;
    });
  }

  /** Receives part `n`; see {@link PartUploads.putPart}. */
  async putPart(
    hash: string,
    owner: string | undefined,
    length: number,
    partSize: number,
    n: number,
    body: ReadableStream<Uint8Array>,
  ): Promise<PartsProgress> {
    const p = this.#paths(hash, owner);
    let l: Live;
    try {
      l = await this.#lock.run(p.key, async () => {
        const found = await this.#load(hash, owner);
        if (found) {
          if (found.rec.length !== length || found.rec.partSize !== partSize) {
            throw new InvalidArgumentError(
              "partSize",
              partSize,
              `does not match the upload in progress (${found.rec.length} bytes in parts of ` +
                `${found.rec.partSize})`,
            );
          }
          return found;
        }
        const [lo, hi] = this.partSizeRange;
        if (!Number.isSafeInteger(partSize) || partSize < lo || partSize > hi) {
          throw new InvalidArgumentError("partSize", partSize, `must be from ${lo} to ${hi}`);
        }
        const rec: Record = { length, partSize, received: [] };
        await Deno.mkdir(dirname(p.data), { recursive: true });
        await (await Deno.open(p.data, { write: true, create: true, truncate: true })).close();
        await this.#writeRecord(p.rec, rec);
        const fresh: Live = {
          rec,
          have: new Set(),
          through: 0,
          hasher: createHash("sha256"),
          open: new Map(),
          kept: 0,
        };
        this.#live.set(p.key, fresh);
        return fresh;
      });
      const count = partCount(l.rec);
      if (!Number.isSafeInteger(n) || n < 1 || n > count) {
        throw new InvalidArgumentError("part", n, `must be from 1 to ${count}`);
      }
    } catch (e) {
      await body.cancel().catch(() => {});
      throw e;
    }
    // A part received (or being received) is never written again: the hash may have read it.
    if (l.have.has(n) || l.open.has(n)) {
      await body.cancel().catch(() => {});
      return this.#progress(l);
    }
    const part: OpenPart = { chunks: [], dropped: false, done: false };
    l.open.set(n, part);
    const start = (n - 1) * partSize;
    // Bytes go to the file and, while the budget allows, stay in memory until the hash
    // reaches them (the part at the hashed prefix is hashed as it arrives).
    const budget = this.inFlight * partSize;
    const feed = {
      update: (c: Uint8Array) => {
        if (part.dropped) return;
        if (l.kept + c.byteLength > budget && l.through < start) {
          part.dropped = true;
          for (const k of part.chunks) l.kept -= k.byteLength;
          part.chunks = [];
          return;
        }
        part.chunks.push(c);
        l.kept += c.byteLength;
        this.#advance(p.data, l);
      },
    };
    const want = Math.min(partSize, length - start);
    let got = -1; // a broken body: the part is not recorded
    try {
      const file = await Deno.open(p.data, { write: true });
      try {
        await file.seek(start, Deno.SeekMode.Start);
      } catch (e) {
        file.close();
        throw e;
      }
      got = await writeHashed(body, file, feed); // closes the file
    } catch (e) {
      await body.cancel().catch(() => {});
      if (!(e instanceof Deno.errors.NotFound || e instanceof TypeError || isHttp(e))) {
        this.#forget(l, n, start);
        throw e;
      }
    }
    return await this.#lock.run(p.key, async () => {
      const now = await this.#load(hash, owner);
      if (now !== l) {
        this.#forget(l, n, start);
        return now ? this.#progress(now) : this.#progress(l); // dropped meanwhile
      }
      if (got !== want) {
        this.#forget(l, n, start);
        return this.#progress(l);
      }
      l.have.add(n);
      l.rec = { ...l.rec, received: [...l.have].sort((a, b) => a - b) };
      await this.#writeRecord(p.rec, l.rec);
      part.done = true;
      this.#advance(p.data, l);
      return this.#progress(l);
    });
  }

  /** Drops a part that broke off: a hash that read into it is void (the commit reads all). */
  #forget(l: Live, n: number, start: number): void {
    const part = l.open.get(n);
    if (!part) return;
    for (const k of part.chunks) l.kept -= k.byteLength;
    l.open.delete(n);
    if (l.through > start && l.through < start + l.rec.partSize) l.hasher = undefined;
  }

  /**
   * Moves the hash along the prefix: the part at it is hashed from the bytes kept in memory
   * (as far as they arrived); a recorded part not kept is read back from the file.
   */
  #advance(data: string, l: Live): void {
    while (l.hasher && !l.pumping && l.through < l.rec.length) {
      const n = Math.floor(l.through / l.rec.partSize) + 1;
      const part = l.open.get(n);
      if (part && !part.dropped) {
        for (const c of part.chunks) {
          l.hasher.update(c);
          l.through += c.byteLength;
          l.kept -= c.byteLength;
        }
        part.chunks = [];
        if (!part.done) return; // more bytes of it will come
        l.open.delete(n);
        continue;
      }
      if (l.have.has(n)) {
        if (part) l.open.delete(n);
        void this.#pump(data, l);
      }
      return;
    }
  }

  async #writeRecord(path: string, rec: Record): Promise<void> {
    const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(rec));
    await Deno.rename(tmp, path);
  }

  /** Starts (or lets run) reading received parts after the hashed prefix into the hash. */
  #pump(data: string, l: Live): Promise<void> {
    if (l.pumping) return l.pumping;
    if (!l.hasher) return Promise.resolve();
    const run = async () => {
      const buf = new Uint8Array(1024 * 1024);
      let file: Deno.FsFile | undefined;
      try {
        while (l.hasher && l.through < l.rec.length) {
          const n = Math.floor(l.through / l.rec.partSize) + 1;
          const kept = l.open.get(n);
          if (!l.have.has(n) || (kept && !kept.dropped)) break;
          l.open.delete(n);
          const end = Math.min(n * l.rec.partSize, l.rec.length);
          file ??= await Deno.open(data, { read: true });
          await file.seek(l.through, Deno.SeekMode.Start);
          while (l.through < end) {
            const r = await file.read(buf.subarray(0, Math.min(buf.length, end - l.through)));
            if (r === null) throw new Error(`${data} ends before ${end}`);
            l.hasher.update(buf.subarray(0, r));
            l.through += r;
          }
        }
      } catch {
        l.hasher = undefined; // the commit hashes the file whole instead
      } finally {
        file?.close();
      }
    };
    // Cleared only after it is set (a pump with nothing to read ends before the assignment).
    const p: Promise<void> = run().finally(() => {
      if (l.pumping === p) l.pumping = undefined;
      this.#advance(data, l);
    });
    l.pumping = p;
    return l.pumping;
  }

  /** Verifies and places a complete parts upload; see {@link PartUploads.commit}. */
  async commit(hash: string, owner?: string): Promise<BlobStat> {
    const p = this.#paths(hash, owner);
    return await this.#lock.run(p.key, async () => {
      const l = await this.#load(hash, owner);
      const dest = this.#blobs.pathOf(hash);
      if (!l) {
        const st = await statOrNull(dest);
        if (st) return { size: st.size };
        throw new InvalidArgumentError("hash", hash, "has no parts upload in progress");
      }
      const prog = this.#progress(l);
      if (!prog.complete) {
        throw new InvalidArgumentError(
          "hash",
          hash,
          `has ${prog.received.length} of its ${partCount(l.rec)} parts`,
        );
      }
      while (l.pumping) await l.pumping;
      if (!l.hasher) {
        l.hasher = createHash("sha256");
        l.through = 0;
      }
      // From memory where kept, from the file elsewhere, until the prefix is the whole blob.
      for (;;) {
        this.#advance(p.data, l);
        if (!l.pumping) break;
        while (l.pumping) await l.pumping;
      }
      const actual = l.hasher && l.through === l.rec.length ? l.hasher.digest("hex") : "";
      this.#live.delete(p.key);
      if (actual !== hash) {
        await removeQuietly(p.data);
        await removeQuietly(p.rec);
        throw new HashMismatchError(hash, actual || "(unreadable)");
      }
      // The file may be longer than the blob when a part was once sent too long: trim it.
      const f = await Deno.open(p.data, { write: true });
      try {
        await f.truncate(l.rec.length);
      } finally {
        f.close();
      }
      if (await statOrNull(dest)) await removeQuietly(p.data);
      else {
        await Deno.mkdir(dirname(dest), { recursive: true });
        await Deno.rename(p.data, dest);
      }
      await removeQuietly(p.rec);
      return { size: l.rec.length };
    });
  }
}
