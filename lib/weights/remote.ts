/**
 * Local copies of remote weights: `file://` URIs and an HTTP(S) download cache.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { HashMismatchError, InvalidArgumentError, WeightsNotFoundError } from "../errors.ts";
import { isSha256Hex, sha256File } from "./blobs.ts";

/** The file name of a path or URI, without folders. */
export function baseName(p: string): string {
  const clean = p.replace(/[?#].*$/, "").replace(/\/+$/, "");
  const i = Math.max(clean.lastIndexOf("/"), clean.lastIndexOf("\\"));
  let name = clean.slice(i + 1);
  try {
    name = decodeURIComponent(name);
  } catch { /* not %-encoded: keep as is */ }
  // Decoding can bring back separators (`..%2F..%2Fx`): only the last segment is a file name.
  name = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  return name === "." || name === ".." || name.includes("\0") ? "" : name;
}

/**
 * Turns a `file://` URI into a local path (percent escapes decoded). Anything that is not a
 * `file:` URI is returned as is.
 *
 * @example
 * ```ts
 * import { fileUriToPath } from "./remote.ts";
 * fileUriToPath("file:///a/my%20model.pt"); // "/a/my model.pt"
 * ```
 * @throws {InvalidArgumentError} for a malformed `file:` URI (e.g. with a remote host)
 */
export function fileUriToPath(uri: string): string {
  if (!/^file:/i.test(uri)) return uri;
  try {
    return fileURLToPath(uri);
  } catch (e) {
    throw new InvalidArgumentError("uri", uri, `is not a local file URI (${(e as Error).message})`);
  }
}

/**
 * Turns a local path into an absolute `file://` URI, resolving relative paths against the
 * current folder and percent-encoding as needed.
 *
 * @example
 * ```ts
 * import { pathToFileUri } from "./remote.ts";
 * pathToFileUri("/a/my model.pt"); // "file:///a/my%20model.pt"
 * ```
 */
export function pathToFileUri(path: string): string {
  return pathToFileURL(resolve(path)).href;
}

/** A safe local file name for the last segment of a URL path. */
function fileNameOf(url: URL): string {
  const segments = url.pathname.split("/");
  let last = segments[segments.length - 1] ?? "";
  try {
    last = decodeURIComponent(last);
  } catch {
    // keep the raw segment
  }
  last = last.replace(/[/\\\0]/g, "_");
  if (last === "" || last === "." || last === "..") return "download";
  return last;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Downloads an http(s) URL into a cache folder, streamed, at
 * `<cacheDir>/<first 16 hex of sha256(url)>/<basename of the url path>`, and returns that path.
 * A file already there is reused unless `force` is set (or it fails `expectedHash`, in which
 * case it is downloaded again). The download goes to a temp file renamed into place when done.
 *
 * @param url an `http:` or `https:` URL
 * @param cacheDir the cache root
 * @param opts `force` to download again; `expectedHash` the sha256 the bytes must have
 * @returns the local path
 * @throws {InvalidArgumentError} for a URL that is not http(s), or a bad `expectedHash`
 * @throws {WeightsNotFoundError} for a 404, any other non-2xx status or a network error (cause kept)
 * @throws {HashMismatchError} when the bytes differ from `expectedHash`; the file is removed
 */
export async function downloadToCache(
  url: string,
  cacheDir: string,
  opts: { force?: boolean; expectedHash?: string } = {},
): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new InvalidArgumentError("url", url, `is not a valid URL (${(e as Error).message})`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidArgumentError("url", url, "must be an http or https URL");
  }
  const expected = opts.expectedHash;
  if (expected !== undefined && !isSha256Hex(expected)) {
    throw new InvalidArgumentError("expectedHash", expected, "must be 64 lowercase hex digits");
  }
  const key = createHash("sha256").update(url).digest("hex").slice(0, 16);
  const dir = join(cacheDir, key);
  const dest = join(dir, fileNameOf(parsed));

  if (!opts.force && await exists(dest)) {
    if (expected === undefined || (await sha256File(dest)).hash === expected) return dest;
  }

  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new WeightsNotFoundError(url, `download failed (${(e as Error).message})`, { cause: e });
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new WeightsNotFoundError(
      url,
      res.status === 404 ? "the server answered 404" : `the server answered HTTP ${res.status}`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${crypto.randomUUID()}.part`);
  const hash = createHash("sha256");
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    const hashing = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    });
    await res.body.pipeThrough(hashing).pipeTo(file.writable);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof TypeError || e instanceof Deno.errors.Http) {
      throw new WeightsNotFoundError(url, `download failed (${e.message})`, { cause: e });
    }
    throw e;
  }
  const actual = hash.digest("hex");
  if (expected !== undefined && actual !== expected) {
    await Deno.remove(tmp).catch(() => {});
    await Deno.remove(dest).catch(() => {});
    throw new HashMismatchError(expected, actual);
  }
  await Deno.rename(tmp, dest);
  return dest;
}
