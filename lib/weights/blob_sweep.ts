/**
 * Stale temp files of a folder blob store: what a writer killed mid-copy (`<dir>/tmp/*.tmp`)
 * or an upload abandoned long ago (`<dir>/partial/…`) leaves behind. A store sweeps them when
 * it opens and `doctor` reports and removes them.
 *
 * Only files untouched for a while go: a writer in another process appends to its temp file
 * all the time (its modification time stays fresh), so it is never hurt. A partial upload is
 * resumable and is kept far longer than a temp file.
 *
 * @module
 */
import { join } from "node:path";

/** A temp file untouched this long (ms) is stale: 10 minutes. */
export const TEMP_STALE_MS = 10 * 60_000;
/** A partial (resumable) upload untouched this long (ms) is stale: one day. */
export const PARTIAL_STALE_MS = 24 * 60 * 60_000;

/** One stale file removed. */
export interface SweptFile {
  /** Its path. */
  path: string;
  /** Its size in bytes. */
  size: number;
  /** When it was last written (ISO time). */
  modified: string;
}

/** The ages past which files are swept, in ms. */
export interface SweepAges {
  /** For `<dir>/tmp` (default {@link TEMP_STALE_MS}). */
  tempMs?: number;
  /** For `<dir>/partial` (default {@link PARTIAL_STALE_MS}). */
  partialMs?: number;
}

/** The files of a folder tree (missing folder: none). */
async function* filesUnder(dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* filesUnder(p);
    else if (e.isFile) yield p;
  }
}

/**
 * Removes the stale temp and partial files of a blob folder.
 *
 * @param blobsDir The blob store's root folder.
 * @param ages How old a file must be to go.
 * @param now The current time in ms (for tests).
 * @returns The files removed.
 */
export async function sweepStaleTemp(
  blobsDir: string,
  ages: SweepAges = {},
  now = Date.now(),
): Promise<SweptFile[]> {
  const out: SweptFile[] = [];
  const plan: [string, number][] = [
    [join(blobsDir, "tmp"), ages.tempMs ?? TEMP_STALE_MS],
    [join(blobsDir, "partial"), ages.partialMs ?? PARTIAL_STALE_MS],
  ];
  for (const [dir, age] of plan) {
    for await (const path of filesUnder(dir)) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(path);
      } catch {
        continue; // gone meanwhile (its writer finished)
      }
      const mtime = info.mtime?.getTime() ?? now;
      if (now - mtime < age) continue;
      try {
        await Deno.remove(path);
        out.push({ path, size: info.size, modified: new Date(mtime).toISOString() });
      } catch { /* removed by someone else, or not ours to remove */ }
    }
  }
  return out;
}
