/**
 * A SHA-256 whose running state can be saved and restored. `node:crypto` hashes as fast but its
 * state cannot leave the process; a resumable upload whose parts arrive at different server
 * instances needs the running hash of the bytes so far written down between requests, so that
 * whichever instance receives the next bytes continues it. The hashing is hash-wasm's
 * (`createSHA256`, whose `save()` / `load()` give the state as bytes); the state is kept as
 * base64 text, to store in any database.
 *
 * @module
 */

import { createSHA256, type IHasher } from "../deps.ts";
import { InvalidArgumentError } from "../errors.ts";

/** The saved state of a {@link Sha256}: base64 text, to store anywhere. */
export type Sha256State = string;

const toBase64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * An incremental SHA-256 whose state can be saved with {@link Sha256.save} and restored with
 * {@link Sha256.restore}.
 *
 * @example Continuing a hash elsewhere
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHash } from "node:crypto";
 * import { Sha256 } from "./sha256.ts";
 * const a = (await Sha256.create()).update(new TextEncoder().encode("hello "));
 * const b = await Sha256.restore(JSON.parse(JSON.stringify(a.save())));
 * b.update(new TextEncoder().encode("world"));
 * assert.equal(b.digestHex(), createHash("sha256").update("hello world").digest("hex"));
 * ```
 */
export class Sha256 {
  #h: IHasher;
  #done = false;

  private constructor(h: IHasher) {
    this.#h = h;
  }

  /** A fresh hash. */
  static async create(): Promise<Sha256> {
    const h = await createSHA256();
    h.init();
    return new Sha256(h);
  }

  /**
   * Restores a hash from a state written by {@link Sha256.save}.
   * @throws {InvalidArgumentError} (field `state`) for anything else
   */
  static async restore(state: Sha256State): Promise<Sha256> {
    const bad = () => new InvalidArgumentError("state", state, "is not a saved SHA-256 state");
    if (typeof state !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(state)) throw bad();
    const h = await createSHA256();
    try {
      h.load(fromBase64(state));
    } catch {
      throw bad();
    }
    return new Sha256(h);
  }

  /** Feeds bytes; returns this hash. */
  update(data: Uint8Array): this {
    if (this.#done) throw new Error("Sha256.update after digest");
    this.#h.update(data);
    return this;
  }

  /** The state so far, as base64 text. */
  save(): Sha256State {
    if (this.#done) throw new Error("Sha256.save after digest");
    return toBase64(this.#h.save());
  }

  /** Finishes the hash; returns the digest as 64 lowercase hex digits. */
  digestHex(): string {
    this.#done = true;
    return this.#h.digest("hex");
  }
}
