/**
 * Zipping and unzipping folders of weights, streamed: file contents never sit whole in memory.
 * Entries are STORED (no compression); zip64 is used automatically for big files.
 *
 * @module
 */

import { type FileHandle, open as fsOpen } from "node:fs/promises";
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from "node:path";
import { zipjs } from "../deps.ts";
import { InvalidArgumentError, WeightsNotFoundError } from "../errors.ts";

/** A random-access zip.js reader over a local file, using positional reads. */
class FileRangeReader extends zipjs.Reader<string> {
  #path: string;
  #handle: FileHandle | undefined;

  constructor(path: string) {
    super(path);
    this.#path = path;
  }

  override async init(): Promise<void> {
    this.#handle = await fsOpen(this.#path, "r");
    this.size = (await this.#handle.stat()).size;
    (this as unknown as { initialized: boolean }).initialized = true;
  }

  override async readUint8Array(index: number, length: number): Promise<Uint8Array> {
    const handle = this.#handle;
    if (!handle) throw new Error(`Reader of ${this.#path} is not initialized`);
    const want = Math.max(0, Math.min(length, this.size - index));
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(buf, got, want - got, index + got);
      if (!bytesRead) break;
      got += bytesRead;
    }
    return got === want ? buf : buf.subarray(0, got);
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = undefined;
    await h?.close();
  }
}

/** Turns a zip entry name into posix segments, or throws when it is absolute or escapes. */
function safeSegments(name: string, field: string): string[] {
  const posix = name.replaceAll("\\", "/");
  if (posix === "" || posix.startsWith("/") || /^[a-zA-Z]:/.test(posix)) {
    throw new InvalidArgumentError(field, name, "must be a relative path inside the archive");
  }
  const segments = posix.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length === 0 || segments.includes("..")) {
    throw new InvalidArgumentError(
      field,
      name,
      "must not be empty nor contain '..' (it would escape the destination folder)",
    );
  }
  return segments;
}

/**
 * Writes a zip archive of local files, streaming each one (STORED, zip64 when needed).
 *
 * @param entries the files: `path` on disk, `name` inside the zip (posix separators)
 * @param outFile the zip file to create (overwritten)
 * @throws {WeightsNotFoundError} when a file is missing
 * @throws {InvalidArgumentError} for an empty, absolute, escaping or duplicate name
 */
export async function zipFiles(
  entries: { path: string; name: string }[],
  outFile: string,
): Promise<void> {
  const seen = new Set<string>();
  const planned: { path: string; name: string }[] = [];
  for (const e of entries) {
    const name = safeSegments(e.name, "name").join("/");
    if (seen.has(name)) throw new InvalidArgumentError("name", e.name, "is a duplicate zip entry");
    seen.add(name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(e.path);
    } catch (err) {
      throw new WeightsNotFoundError(e.path, "it does not exist", { cause: err });
    }
    if (!info.isFile) throw new WeightsNotFoundError(e.path, "it is not a regular file");
    planned.push({ path: e.path, name });
  }
  const out = await Deno.open(outFile, { write: true, create: true, truncate: true });
  const writer = new zipjs.ZipWriter(out.writable, { level: 0, useWebWorkers: false });
  try {
    for (const e of planned) {
      const reader = new FileRangeReader(e.path);
      try {
        await reader.init();
        await writer.add(e.name, reader, { level: 0, useWebWorkers: false });
      } finally {
        await reader.close();
      }
    }
    await writer.close();
  } catch (err) {
    try {
      out.close();
    } catch { /* already closed by the writer */ }
    await Deno.remove(outFile).catch(() => {});
    throw err;
  }
}

/**
 * Lists the files under a folder, recursively, with names relative to it (posix separators),
 * sorted by name. Symbolic links to files are included; linked folders are not followed.
 *
 * @throws {WeightsNotFoundError} when `dir` is not a folder
 */
export async function listFolderFiles(dir: string): Promise<{ path: string; name: string }[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    throw new WeightsNotFoundError(dir, "it does not exist", { cause: e });
  }
  if (!info.isDirectory) throw new WeightsNotFoundError(dir, "it is not a folder");
  const out: { path: string; name: string }[] = [];
  const walk = async (abs: string, rel: string[]) => {
    for await (const entry of Deno.readDir(abs)) {
      const path = join(abs, entry.name);
      const names = [...rel, entry.name];
      if (entry.isDirectory) {
        await walk(path, names);
      } else if (entry.isFile) {
        out.push({ path, name: names.join("/") });
      } else if (entry.isSymlink) {
        const target = await Deno.stat(path).catch(() => null);
        if (target?.isFile) out.push({ path, name: names.join("/") });
      }
    }
  };
  await walk(dir, []);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The deepest folder containing all the given files (paths resolved against the current
 * folder), so that `relative(commonBase(paths), p)` names each file.
 *
 * @example
 * ```ts
 * import { commonBase } from "./zip.ts";
 * commonBase(["/a/b/x.bin", "/a/b/c/y.bin"]); // "/a/b"
 * ```
 * @throws {InvalidArgumentError} when `paths` is empty or the files share no root
 */
export function commonBase(paths: string[]): string {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new InvalidArgumentError("paths", paths, "must be a non-empty list of files");
  }
  let common: string[] | undefined;
  let root = "";
  for (const p of paths) {
    const parent = dirname(resolve(p));
    const parentRoot = parse(parent).root;
    const parts = parent.slice(parentRoot.length).split(sep).filter((s) => s !== "");
    if (common === undefined) {
      common = parts;
      root = parentRoot;
      continue;
    }
    if (parentRoot !== root) {
      throw new InvalidArgumentError("paths", paths, "have no common folder (different roots)");
    }
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return root + (common ?? []).join(sep);
}

/**
 * Extracts a zip archive into a folder, streaming each entry. Every entry name is checked first:
 * an absolute name or one escaping `destDir` (zip-slip) rejects the whole archive before
 * anything is written.
 *
 * @param zipFile the archive
 * @param destDir the folder to extract into (created if needed)
 * @returns the sorted, unique top-level names of the entries (files and folders)
 * @throws {WeightsNotFoundError} when the archive is missing
 * @throws {InvalidArgumentError} for an entry escaping `destDir`
 */
export async function extractZip(zipFile: string, destDir: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(zipFile);
  } catch (e) {
    throw new WeightsNotFoundError(zipFile, "it does not exist", { cause: e });
  }
  if (!info.isFile) throw new WeightsNotFoundError(zipFile, "it is not a regular file");
  const base = resolve(destDir);
  const source = new FileRangeReader(zipFile);
  const reader = new zipjs.ZipReader(source, { useWebWorkers: false });
  const top = new Set<string>();
  try {
    const entries = await reader.getEntries();
    const planned = entries.map((entry) => {
      const segments = safeSegments(entry.filename, "zip entry");
      const target = join(base, ...segments);
      const rel = relative(base, target);
      if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
        throw new InvalidArgumentError("zip entry", entry.filename, "escapes the destination");
      }
      top.add(segments[0]);
      return { entry, target };
    });
    await Deno.mkdir(base, { recursive: true });
    for (const { entry, target } of planned) {
      if (entry.directory) {
        await Deno.mkdir(target, { recursive: true });
        continue;
      }
      await Deno.mkdir(dirname(target), { recursive: true });
      const file = await Deno.open(target, { write: true, create: true, truncate: true });
      try {
        await entry.getData(file.writable, { useWebWorkers: false });
      } catch (e) {
        try {
          file.close();
        } catch { /* closed by the stream */ }
        throw e;
      }
    }
  } finally {
    await reader.close().catch(() => {});
    await source.close();
  }
  return [...top].sort();
}
