/**
 * Blobs an admin has quarantined, kept in the server database as rows of `sync_state` under the
 * `blobq:` prefix (one row per hash, its value the JSON {@link QuarantineEntry}), so the state
 * survives restarts and is shared by every server on the database, libSQL or PostgreSQL alike.
 *
 * @module
 */
import { readAll } from "./raw.ts";
import type { Store } from "./store.ts";

const PREFIX = "blobq:";
const KEY = (hash: string) => `${PREFIX}${hash}`;

/** Why and since when a blob is quarantined, and by which admin token. */
export interface QuarantineEntry {
  /** The blob's SHA-256 hex digest. */
  hash: string;
  /** The admin's reason (empty when none was given). */
  reason: string;
  /** When it was quarantined (ms since the epoch). */
  since: number;
  /** The name of the admin token that quarantined it. */
  by: string;
}

/**
 * Quarantines a blob (replacing an earlier entry for the same hash).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "../../mod.ts";
 * import { listQuarantine, quarantineBlob, quarantined, releaseBlob } from "./blob_quarantine.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ home: dir });
 * const hash = "a".repeat(64);
 * await quarantineBlob(store, { hash, reason: "leaked", since: 1, by: "ops" });
 * assert.equal((await quarantined(store, hash))?.reason, "leaked");
 * assert.deepEqual((await listQuarantine(store)).map((e) => e.hash), [hash]);
 * assert.equal(await releaseBlob(store, hash), true);
 * assert.equal(await quarantined(store, hash), undefined);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function quarantineBlob(store: Store, entry: QuarantineEntry): Promise<void> {
  await store.setState(KEY(entry.hash), JSON.stringify(entry));
}

/** The quarantine entry of a blob, or undefined when it is not quarantined. */
export async function quarantined(
  store: Store,
  hash: string,
): Promise<QuarantineEntry | undefined> {
  const v = await store.getState(KEY(hash));
  return v === undefined ? undefined : JSON.parse(v) as QuarantineEntry;
}

/** Releases a blob; false when it was not quarantined. */
export async function releaseBlob(store: Store, hash: string): Promise<boolean> {
  return await store.writeRow("DELETE FROM sync_state WHERE key = ?", [KEY(hash)]) > 0;
}

/** Every quarantined blob, oldest first. */
export async function listQuarantine(store: Store): Promise<QuarantineEntry[]> {
  // A key range rather than LIKE: the same on both dialects and served by the primary key.
  const rows = await readAll<{ value: string }>(
    store,
    "SELECT value FROM sync_state WHERE key >= ? AND key < ? ORDER BY key",
    [PREFIX, "blobq;"],
  );
  return rows.map((r) => JSON.parse(r.value) as QuarantineEntry)
    .sort((a, b) => a.since - b.since || (a.hash < b.hash ? -1 : 1));
}
