/**
 * The server's resumable-upload states in its database, so that any instance continues an
 * upload another began: on PostgreSQL the `upload_states` table (see `pg_sql.ts`); on libSQL
 * (a single-box server with S3 blobs) rows of `sync_state` under the `upload:` prefix, whose
 * whole value is compared on replace. Every replace is a compare-and-set on the version.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { UploadState, UploadStateStore } from "../weights/blob_backend.ts";
import { dialectOfStore, readOne } from "./raw.ts";
import type { Store } from "./store.ts";

const KEY = (id: string) => `upload:${id}`;

/**
 * An {@link UploadStateStore} in a store's database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "../../mod.ts";
 * import { DbUploadStateStore } from "./upload_states.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ home: dir });
 * const states = new DbUploadStateStore(store);
 * const s = {
 *   uploadId: "u1", hash: "0".repeat(64), length: 3, key: "k", storageUploadId: "x",
 *   parts: [], sha256: "", version: 0,
 * };
 * await states.create(s);
 * assert.equal(await states.replace(0, { ...s, version: 1 }), true);
 * assert.equal(await states.replace(0, { ...s, version: 2 }), false); // stale version
 * assert.equal((await states.get("u1"))?.version, 1);
 * assert.equal(await states.delete("u1"), true);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DbUploadStateStore implements UploadStateStore {
  readonly #store: Store;
  readonly #pg: boolean;

  /** Keeps the states in `store`'s database. */
  constructor(store: Store) {
    this.#store = store;
    this.#pg = dialectOfStore(store) === "postgres";
  }

  /** Records a new upload. */
  async create(state: UploadState): Promise<void> {
    const text = JSON.stringify(state);
    const n = this.#pg
      ? await this.#store.writeRow(
        "INSERT INTO upload_states(upload_id, version, state) VALUES (?, ?, ?) " +
          "ON CONFLICT (upload_id) DO NOTHING",
        [state.uploadId, state.version, text],
      )
      : await this.#store.writeRow(
        "INSERT INTO sync_state(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        [KEY(state.uploadId), text],
      );
    if (n === 0) throw new InvalidArgumentError("uploadId", state.uploadId, "is already in use");
  }

  /** The state of an upload, or null. */
  async get(uploadId: string): Promise<UploadState | null> {
    const r = this.#pg
      ? await readOne<{ state: string }>(
        this.#store,
        "SELECT state FROM upload_states WHERE upload_id = ?",
        [uploadId],
      )
      : await readOne<{ state: string }>(
        this.#store,
        "SELECT value AS state FROM sync_state WHERE key = ?",
        [KEY(uploadId)],
      );
    return r ? JSON.parse(r.state) as UploadState : null;
  }

  /** Replaces the state when its stored version is `expectedVersion`. */
  async replace(expectedVersion: number, state: UploadState): Promise<boolean> {
    const text = JSON.stringify(state);
    if (this.#pg) {
      return await this.#store.writeRow(
        "UPDATE upload_states SET version = ?, state = ?, updated_at = now() " +
          "WHERE upload_id = ? AND version = ?",
        [state.version, text, state.uploadId, expectedVersion],
      ) === 1;
    }
    const old = await this.get(state.uploadId);
    if (!old || old.version !== expectedVersion) return false;
    return await this.#store.writeRow(
      "UPDATE sync_state SET value = ? WHERE key = ? AND value = ?",
      [text, KEY(state.uploadId), JSON.stringify(old)],
    ) === 1;
  }

  /** Forgets an upload. */
  async delete(uploadId: string): Promise<boolean> {
    return this.#pg
      ? await this.#store.writeRow("DELETE FROM upload_states WHERE upload_id = ?", [uploadId]) >
        0
      : await this.#store.writeRow("DELETE FROM sync_state WHERE key = ?", [KEY(uploadId)]) > 0;
  }
}
