/**
 * SHA-256 whose running state can be saved and restored (FIPS 180-4). `node:crypto` hashes
 * faster but its state cannot leave the process; a multipart upload whose parts arrive at
 * different server instances needs the running hash of the parts so far written down between
 * parts, so that whichever instance receives the next part continues it.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const INIT = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];

/** The saved state of a {@link Sha256}: plain JSON, to store anywhere. */
export interface Sha256State {
  /** The eight working words, as unsigned integers. */
  h: number[];
  /** The bytes hashed so far. */
  length: number;
  /** The bytes of the incomplete last block (under 64), as hex. */
  tail: string;
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
 * const a = new Sha256().update(new TextEncoder().encode("hello "));
 * const b = Sha256.restore(JSON.parse(JSON.stringify(a.save())));
 * b.update(new TextEncoder().encode("world"));
 * assert.equal(b.digestHex(), createHash("sha256").update("hello world").digest("hex"));
 * ```
 */
export class Sha256 {
  #h = new Int32Array(INIT);
  #w = new Int32Array(64);
  #block = new Uint8Array(64);
  #fill = 0;
  #length = 0;
  #done = false;

  /** Restores a hash from a state written by {@link Sha256.save}. */
  static restore(state: Sha256State): Sha256 {
    const ok = state && Array.isArray(state.h) && state.h.length === 8 &&
      state.h.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff) &&
      Number.isSafeInteger(state.length) && state.length >= 0 &&
      typeof state.tail === "string" && /^(?:[0-9a-f]{2})*$/.test(state.tail) &&
      state.tail.length / 2 === state.length % 64;
    if (!ok) throw new InvalidArgumentError("state", state, "is not a saved SHA-256 state");
    const s = new Sha256();
    s.#h.set(state.h.map((x) => x | 0));
    s.#length = state.length;
    s.#fill = state.tail.length / 2;
    for (let i = 0; i < s.#fill; i++) {
      s.#block[i] = parseInt(state.tail.slice(2 * i, 2 * i + 2), 16);
    }
    return s;
  }

  /** The number of bytes hashed so far. */
  get length(): number {
    return this.#length;
  }

  /** Feeds bytes; returns this hash. */
  update(data: Uint8Array): this {
    if (this.#done) throw new Error("Sha256.update after digest");
    let off = 0;
    const n = data.byteLength;
    this.#length += n;
    if (this.#fill > 0) {
      const take = Math.min(64 - this.#fill, n);
      this.#block.set(data.subarray(0, take), this.#fill);
      this.#fill += take;
      off = take;
      if (this.#fill < 64) return this;
      this.#compress(this.#block, 0);
      this.#fill = 0;
    }
    for (; off + 64 <= n; off += 64) this.#compress(data, off);
    if (off < n) {
      this.#block.set(data.subarray(off), 0);
      this.#fill = n - off;
    }
    return this;
  }

  /** The state so far, as plain JSON. */
  save(): Sha256State {
    let tail = "";
    for (let i = 0; i < this.#fill; i++) tail += this.#block[i]!.toString(16).padStart(2, "0");
    return { h: Array.from(this.#h, (x) => x >>> 0), length: this.#length, tail };
  }

  /** Finishes the hash; returns the digest as 64 lowercase hex digits. */
  digestHex(): string {
    if (!this.#done) {
      this.#done = true;
      const bits = this.#length * 8;
      const pad = new Uint8Array(((this.#fill + 8) >> 6 << 6) + 64 - this.#fill);
      pad[0] = 0x80;
      const dv = new DataView(pad.buffer);
      dv.setUint32(pad.length - 8, Math.floor(bits / 0x100000000));
      dv.setUint32(pad.length - 4, bits >>> 0);
      const fill = this.#fill;
      const block = this.#block;
      let i = 0;
      for (let p = fill; p < 64; p++) block[p] = pad[i++]!;
      this.#compress(block, 0);
      if (i < pad.length) {
        block.set(pad.subarray(i));
        this.#compress(block, 0);
      }
    }
    return Array.from(this.#h, (x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
  }

  #compress(d: Uint8Array, off: number): void {
    const w = this.#w;
    for (let i = 0; i < 16; i++) {
      const j = off + 4 * i;
      w[i] = (d[j]! << 24) | (d[j + 1]! << 16) | (d[j + 2]! << 8) | d[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const h = this.#h;
    let a = h[0]!, b = h[1]!, c = h[2]!, e = h[4]!, f = h[5]!, g = h[6]!, dd = h[3]!, hh = h[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (dd + t1) | 0;
      dd = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = h[0]! + a;
    h[1] = h[1]! + b;
    h[2] = h[2]! + c;
    h[3] = h[3]! + dd;
    h[4] = h[4]! + e;
    h[5] = h[5]! + f;
    h[6] = h[6]! + g;
    h[7] = h[7]! + hh;
  }
}
