/**
 * Where a store lives: checks the `home`, `path` and `url` options before anything touches the
 * disk, makes the folders, and refuses a database file that cannot be a store.
 *
 * @module
 */
import { InvalidArgumentError, ModelogError } from "../errors.ts";

/** The location options of `openStore` (a subset of `StoreOptions`). */
export interface LocationOptions {
  /** The database file. */
  path?: string;
  /** The store's folder. */
  home?: string;
  /** A libSQL URL. */
  url?: string;
  /** Auth token for a remote URL. */
  authToken?: string;
  /** Where weights blobs live. */
  blobsDir?: string;
}

/** Refuses a store location that is not a usable string (before anything touches the disk). */
export function checkLocation(o: LocationOptions): void {
  for (const k of ["home", "path", "url", "blobsDir", "authToken"] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length === 0) {
      throw new InvalidArgumentError(k, v, "must be a non-empty string");
    }
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f]/.test(v)) {
      throw new InvalidArgumentError(k, v, "must not contain control characters");
    }
  }
  if (o.url !== undefined && !/^(file|libsql|https?|wss?|postgres(ql)?):/i.test(o.url)) {
    throw new InvalidArgumentError(
      "url",
      o.url,
      "must be a libsql:, http(s):, ws(s):, file: or postgres(ql): URL",
    );
  }
}

/** Makes a store folder, naming the option when it cannot be made. */
export async function makeDir(dir: string, field: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new InvalidArgumentError(field, dir, `cannot be used as a folder: ${e}`);
  }
}

/**
 * Refuses a 0-byte database file that has sat there for a while: SQLite would open it as a new,
 * empty store and hide that the data is gone. A fresh 0-byte file (under 10 s old) may be
 * another process creating the store right now, so it is opened as usual.
 */
export async function refuseEmptyFile(path: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch {
    return; // not there yet: a new store
  }
  if (!st.isFile) {
    throw new InvalidArgumentError("path", path, "is not a file");
  }
  const age = Date.now() - (st.mtime?.getTime() ?? Date.now());
  if (st.size === 0 && age > 10_000) {
    let wal = 0;
    try {
      wal = (await Deno.stat(path + "-wal")).size;
    } catch { /* no WAL */ }
    if (wal === 0) {
      throw new ModelogError(
        "STORE_CORRUPT",
        `Store ${
          JSON.stringify(path)
        } is an empty (0-byte) file, not a modelog database: restore it from a backup or remove it to start a new store`,
      );
    }
  }
}
