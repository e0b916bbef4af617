/**
 * Local copies of a model's weights: the local blob (by hash, fetched from the sync server
 * when missing), else the URI (a `file://` path used directly, http(s) downloaded to the cache
 * and checked against the hash), extracted to a folder when it is a package.
 *
 * @module
 */
import { join } from "node:path";
import { WeightsNotFoundError } from "../errors.ts";
import type { BlobStore } from "./blobs.ts";
import { sha256File } from "./blobs.ts";
import { baseName, downloadToCache, fileUriToPath } from "./remote.ts";
import { extractZip } from "./zip.ts";
import type { Store } from "../store/store.ts";
import { uriOnlyFromOtherDevices } from "../projections/read.ts";

/** Options of `getLocalCopy`. */
export interface LocalCopyOptions {
  /** Extract a package (zip) and return the folder. Default: true for packages. */
  extractArchive?: boolean;
  /** Download again even when a cached copy exists. */
  forceDownload?: boolean;
  /** Copy into this folder instead of the cache. */
  targetDir?: string;
  /** Throw instead of returning undefined when the weights cannot be found. */
  raiseOnError?: boolean;
}

/** Where weights can come from: what a local copy needs of a store. */
export interface WeightsSource {
  /** The content-addressed blobs. */
  readonly blobs: BlobStore;
  /** The cache folder (downloads, extracted packages, copies by hash). */
  readonly cacheDir: string;
  /** Fetches a missing blob (from a sync server), when one is configured. */
  readonly blobFetcher?: ((hash: string) => Promise<void>) | undefined;
}

/** Finds a blob fetcher for a source that has none (see {@link setFallbackBlobFetcher}). */
export type FallbackBlobFetcher = (
  source: WeightsSource,
) => Promise<((hash: string) => Promise<void>) | undefined>;

let fallbackFetcher: FallbackBlobFetcher | undefined;

/**
 * Sets how a source without a `blobFetcher` finds one (the sync module sets it: the server the
 * store last synced with, or `MODELOG_SERVER`).
 */
export function setFallbackBlobFetcher(f: FallbackBlobFetcher | undefined): void {
  fallbackFetcher = f;
}

/** The weights of one model: what a local copy needs of its row. */
export interface WeightsRef {
  /** The model id (names the extraction folder when the hash is unknown). */
  id: string;
  /** The weights URI. */
  uri: string;
  /** SHA-256 of the weights, or "". */
  hash: string;
  /** Whether the weights are a zip package. */
  isPackage: boolean;
  /**
   * The URI arrived by pull (set on another device): a `file://` path then names a file on
   * another machine and is never read here.
   */
  foreignUri?: boolean;
}

/**
 * Whether a model's weights URI was set only on other devices (see `WeightsRef.foreignUri`);
 * false for a URI that is not `file://` or a local path.
 */
export async function uriArrivedByPull(
  store: Store,
  modelId: string,
  uri: string,
): Promise<boolean> {
  if (!uri || /^https?:\/\//i.test(uri)) return false;
  return await uriOnlyFromOtherDevices(store, modelId, uri);
}

/**
 * A local path to the weights (see the module doc). A package is extracted to a folder unless
 * `extractArchive` is false. Returns undefined on failure when `raiseOnError` is false.
 */
export async function getLocalCopy(
  source: WeightsSource,
  w: WeightsRef,
  options: LocalCopyOptions = {},
): Promise<string | undefined> {
  const extract = options.extractArchive ?? w.isPackage;
  try {
    // A package goes to the cache and only its contents to targetDir.
    const { targetDir: _target, ...rest } = options;
    const file = await fetchWeights(source, w, extract ? rest : options);
    if (!extract) return file;
    const dest = options.targetDir ?? join(source.cacheDir, "extracted", w.hash || w.id);
    if (options.forceDownload) await Deno.remove(dest, { recursive: true }).catch(() => {});
    await extractZip(file, dest);
    return dest;
  } catch (e) {
    if (options.raiseOnError ?? true) throw e;
    return undefined;
  }
}

/** Copies `file` into `dir` (created if needed) and returns the copy's path. */
async function copyInto(file: string, dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const dest = join(dir, baseName(file));
  await Deno.copyFile(file, dest);
  return dest;
}

/** Resolves the weights to a local file (never extracted). */
async function fetchWeights(
  source: WeightsSource,
  w: WeightsRef,
  options: LocalCopyOptions,
): Promise<string> {
  const name = baseName(w.uri) || "weights";
  let fetchError: unknown;
  if (w.hash && !(await source.blobs.has(w.hash))) {
    const fetcher = source.blobFetcher ?? await fallbackFetcher?.(source);
    if (fetcher) await fetcher(w.hash).catch((e) => (fetchError = e));
  }
  if (w.hash && (await source.blobs.has(w.hash))) {
    const dir = options.targetDir ?? join(source.cacheDir, "models", w.hash);
    const dest = join(dir, name);
    await Deno.mkdir(dir, { recursive: true });
    let exists = await Deno.stat(dest).then(() => true, () => false);
    // The cache folder is keyed by hash; a file of that name in a user's folder may be
    // anything: keep it only when it holds these very bytes.
    if (exists && options.targetDir !== undefined && !options.forceDownload) {
      exists = (await sha256File(dest).catch(() => undefined))?.hash === w.hash;
      if (!exists) await Deno.remove(dest);
    }
    if (exists && options.forceDownload) await Deno.remove(dest);
    if (!exists || options.forceDownload) {
      // A copy, not a hard link: writing to the returned file must never change the
      // content-addressed blob (copy_file_range makes this cheap on one filesystem).
      await Deno.copyFile(source.blobs.pathOf(w.hash), dest);
    }
    return dest;
  }
  if (!w.uri) {
    throw new WeightsNotFoundError(
      w.id,
      fetchError
        ? `fetching it failed: ${(fetchError as Error).message}`
        : "the model has no weights",
    );
  }
  if (w.uri.startsWith("file://") || !/^[a-z][a-z0-9+.-]*:\/\//i.test(w.uri)) {
    if (w.foreignUri) {
      throw new WeightsNotFoundError(
        w.uri,
        "this local path was set on another device and is never read here; sync the weights " +
          "blob from the server instead",
      );
    }
    const p = fileUriToPath(w.uri);
    const ok = await Deno.stat(p).then((s) => s.isFile, () => false);
    if (!ok) {
      const why = fetchError ? `fetching it failed: ${(fetchError as Error).message}` : undefined;
      throw new WeightsNotFoundError(w.uri, why);
    }
    return options.targetDir ? await copyInto(p, options.targetDir) : p;
  }
  if (/^https?:\/\//i.test(w.uri)) {
    const path = await downloadToCache(w.uri, join(source.cacheDir, "downloads"), {
      force: options.forceDownload,
      expectedHash: w.hash || undefined,
    });
    return options.targetDir ? await copyInto(path, options.targetDir) : path;
  }
  throw new WeightsNotFoundError(w.uri, "unsupported URI scheme");
}

/** The top-level entries of an extracted package folder, as full paths, sorted. */
export async function packageEntries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(join(dir, e.name));
  return names.sort();
}
