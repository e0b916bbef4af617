/**
 * Who may see a blob and how much room an upload may take: a blob is readable by a token that
 * may read a model naming it; a project-limited token that uploaded a blob's bytes itself is
 * recorded as holding it (so a HEAD or a push naming it need not upload again); uploads in
 * progress are per uploader, bounded by a largest blob size, a quota per token and the free
 * space of the blob folder; stale partials expire; unreferenced blobs can be collected.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Store } from "../store/store.ts";
import { HttpError } from "./http.ts";
import { mayTouch, type Principal } from "./auth.ts";
import { projectsOfBlob } from "../projections/read.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import { quarantined } from "../store/blob_quarantine.ts";

/** Limits on uploads in progress. */
export interface UploadLimits {
  /** Largest blob accepted (`Upload-Length`), in bytes. */
  maxBlobSize: number;
  /** Most bytes of uploads in progress one token may hold at once. */
  quotaPerToken: number;
  /** Free bytes the blob folder keeps after an upload's declared remainder. */
  minFreeBytes: number;
  /** Partials untouched for this long are deleted, in ms. */
  partialTtlMs: number;
}

/** The default {@link UploadLimits}, with any given overrides. */
export function uploadLimits(o: Partial<UploadLimits> = {}): UploadLimits {
  return {
    maxBlobSize: o.maxBlobSize ?? 256 * 2 ** 30,
    quotaPerToken: o.quotaPerToken ?? 512 * 2 ** 30,
    minFreeBytes: o.minFreeBytes ?? 2 ** 30,
    partialTtlMs: o.partialTtlMs ?? 24 * 3600 * 1000,
  };
}

const holderKey = (who: Principal, hash: string) => `blob-holder:${who.id}:${hash}`;

/** Whether a token may read the bytes of a blob: a model it may read names it. */
export async function mayReadBlob(store: Store, who: Principal, hash: string): Promise<boolean> {
  if (!who.projects) return true;
  return (await projectsOfBlob(store, hash)).some((p) => mayTouch(who, p));
}

/** Whether a token uploaded a blob's bytes itself (so it holds them). */
export async function holdsBlob(store: Store, who: Principal, hash: string): Promise<boolean> {
  if (!who.projects) return true;
  return (await store.getState(holderKey(who, hash))) !== undefined;
}

/** Records that a token uploaded a blob's bytes. */
export async function recordHolder(store: Store, who: Principal, hash: string): Promise<void> {
  if (who.projects) await store.setState(holderKey(who, hash), "1");
}

/** Files under a folder (recursively) with size and modification time; none if it is absent. */
async function filesUnder(dir: string): Promise<{ path: string; size: number; mtime: number }[]> {
  const out: { path: string; size: number; mtime: number }[] = [];
  const walk = async (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        const st = await Deno.stat(p).catch(() => null);
        if (st) out.push({ path: p, size: st.size, mtime: st.mtime?.getTime() ?? 0 });
      }
    }
  };
  await walk(dir);
  return out;
}

/**
 * Refuses an upload that does not fit: a declared length over the largest blob, an owner's
 * partials over its quota, or a remainder that would leave the disk with less than the
 * reserve (507). With no local folder (`blobsDir` undefined) only the largest blob applies.
 */
export async function checkUploadRoom(
  blobsDir: string | undefined,
  owner: string | undefined,
  hash: string,
  current: number,
  total: number,
  limits: UploadLimits,
): Promise<void> {
  if (total > limits.maxBlobSize) {
    throw new HttpError(
      413,
      "PAYLOAD_TOO_LARGE",
      `Upload-Length ${total} exceeds the largest blob of ${limits.maxBlobSize} bytes`,
    );
  }
  // A store with no local folder (S3) has no disk to fill; its quotas are the service's.
  if (blobsDir === undefined) return;
  if (owner !== undefined) {
    const mine = await filesUnder(join(blobsDir, "partial", owner));
    // This blob's own partials (offset `<hash>`, parts `<hash>.parts` and its list) don't count.
    const others = mine.filter((f) => !basename(f.path).startsWith(hash))
      .reduce((n, f) => n + f.size, 0);
    if (others + total > limits.quotaPerToken) {
      throw new HttpError(
        413,
        "PAYLOAD_TOO_LARGE",
        `This token's uploads in progress would hold ${others + total} bytes, more than its ` +
          `quota of ${limits.quotaPerToken}`,
      );
    }
  }
  // The blob folder may not exist yet: ask about the nearest folder that does.
  let fs: Awaited<ReturnType<typeof statfs>> | undefined;
  for (let d = blobsDir; !fs; d = dirname(d)) {
    fs = await statfs(d).catch(() => undefined);
    if (dirname(d) === d) break;
  }
  if (fs) {
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free - (total - current) < limits.minFreeBytes) {
      throw new HttpError(
        507,
        "PAYLOAD_TOO_LARGE",
        `Not enough free space for ${total - current} more bytes (${free} free, ` +
          `${limits.minFreeBytes} kept in reserve)`,
      );
    }
  }
}

/** Deletes uploads in progress untouched for `ttlMs`; returns how many. */
export async function expireStalePartials(blobsDir: string, ttlMs: number): Promise<number> {
  const cutoff = Date.now() - ttlMs;
  let n = 0;
  for (const f of await filesUnder(join(blobsDir, "partial"))) {
    if (f.mtime < cutoff) {
      await Deno.remove(f.path).then(() => n++, () => {});
    }
  }
  return n;
}

/** Sizes of the blob folder: stored blobs and uploads in progress. */
export async function blobStats(blobsDir: string) {
  const blobs = await filesUnder(join(blobsDir, "sha256"));
  const partials = await filesUnder(join(blobsDir, "partial"));
  const sum = (l: { size: number }[]) => l.reduce((n, f) => n + f.size, 0);
  return {
    blobs: blobs.length,
    blobBytes: sum(blobs),
    partials: partials.length,
    partialBytes: sum(partials),
  };
}

/**
 * Deletes stored blobs no model names, older than `graceMs` (a blob goes up before the event
 * naming it, so a fresh one is kept); a quarantined blob is kept. Returns the hashes deleted.
 */
export async function collectBlobs(store: Store, graceMs: number): Promise<string[]> {
  const cutoff = Date.now() - graceMs;
  const gone: string[] = [];
  for (const f of await filesUnder(join(store.blobs.dir, "sha256"))) {
    const hash = f.path.slice(f.path.lastIndexOf("/") + 1);
    if (!isSha256Hex(hash) || f.mtime >= cutoff) continue;
    if ((await projectsOfBlob(store, hash)).length > 0) continue;
    if (await quarantined(store, hash)) continue;
    if (await store.blobs.delete(hash)) gone.push(hash);
  }
  return gone;
}
