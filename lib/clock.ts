/**
 * Identifiers and time: 32-hex entity ids, UUIDv7 event ids and the hybrid logical clock (HLC)
 * that orders events across devices.
 *
 * An HLC timestamp is a string that sorts lexicographically in causal order:
 * `<wall ms, 15 digits>:<counter, 6 digits>:<origin>`.
 *
 * Clock skew. The clock never adopts a wall time more than {@link DEFAULT_MAX_SKEW_MS} (one
 * day; `maxSkewMs`) ahead of this machine's wall clock: `observe()` ignores such a timestamp,
 * whether it comes from the stored `max_at` at open or from a pulled or ingested event (the
 * store refuses those events on ingest, as the server refuses them on push). So a store whose
 * log already holds a far-future event (a device clock that was two years ahead for one write)
 * recovers by itself: new events are stamped at the local wall time again, not after the
 * future one. The rule keeps per-field last-writer-wins convergent: every device orders events
 * by the same `at` strings, so every replica picks the same winner; the cost is that a field
 * last written by the far-future event keeps that value (it sorts last) until the wall clock
 * passes it or the field is written with a later stamp on purpose. Such an event cannot reach
 * the server anyway (its push check refuses it), so it stays on the device that made it.
 *
 * @module
 */

/** Two hex digits of each byte value. */
const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).padStart(2, "0"),
);

/** Lowercase hex of `bytes[from, to)`. */
function hex(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let s = "";
  for (let i = from; i < to; i++) s += HEX[bytes[i]!];
  return s;
}

/** Random bytes drawn from a pool refilled 4 KiB at a time (one system call per 256 ids). */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/** The offset in {@link pool} of `n` fresh random bytes (valid until the next call). */
function randomAt(n: number): number {
  if (poolAt + n > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

/** The 16 bytes a UUIDv7 is formatted from. */
const v7 = new Uint8Array(16);

/** A new random entity id: 32 lowercase hex characters, like ClearML's ids. */
export function newId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

/** A new random device (origin) id: 16 lowercase hex characters. */
export function newOrigin(): string {
  return hex(crypto.getRandomValues(new Uint8Array(8)));
}

let lastV7Ms = 0;
let v7Seq = 0;

/** A new UUIDv7 (time-ordered, RFC 9562), monotonic within this process. */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs <= lastV7Ms) {
    v7Seq++;
    if (v7Seq > 0xfff) {
      lastV7Ms++;
      v7Seq = 0;
    }
  } else {
    lastV7Ms = nowMs;
    v7Seq = 0;
  }
  const b = v7;
  b.set(pool.subarray(randomAt(10), poolAt), 6);
  const ms = lastV7Ms;
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | ((v7Seq >>> 8) & 0x0f);
  b[7] = v7Seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return `${hex(b, 0, 4)}-${hex(b, 4, 6)}-${hex(b, 6, 8)}-${hex(b, 8, 10)}-${hex(b, 10, 16)}`;
}

/** The parts of an HLC timestamp. */
export interface HlcParts {
  /** Wall-clock milliseconds. */
  wall: number;
  /** Logical counter within the same millisecond. */
  counter: number;
  /** The device that issued it. */
  origin: string;
}

/** Formats HLC parts as a sortable string. */
export function formatHlc(p: HlcParts): string {
  return `${String(p.wall).padStart(15, "0")}:${String(p.counter).padStart(6, "0")}:${p.origin}`;
}

/**
 * The latest wall time (ms) an event may carry, about year 30000. A clock that observed it moves
 * its wall on by one per million events, so it stays far from a 16th digit, which would sort
 * before every other timestamp and fail validation everywhere.
 */
export const MAX_HLC_WALL = 900_000_000_000_000;

/** The default skew limit: one day, as the server's push check (`maxClockSkewMs`). */
export const DEFAULT_MAX_SKEW_MS = 24 * 3600 * 1000;

const HLC_RE = /^(\d{15}):(\d{6}):([0-9a-z_-]{1,64})$/;

/** Parses an HLC string, or returns undefined when it is malformed. */
export function parseHlc(s: string): HlcParts | undefined {
  const m = HLC_RE.exec(s);
  if (!m) return undefined;
  return { wall: Number(m[1]), counter: Number(m[2]), origin: m[3]! };
}

/** The wall-clock milliseconds of an HLC string. */
export function hlcWall(s: string): number {
  return Number(s.slice(0, 15));
}

/**
 * A hybrid logical clock for one device: `now()` issues strictly increasing timestamps, and
 * `observe()` moves the clock past a remote timestamp so later local events sort after it.
 */
export class Hlc {
  #wall = 0;
  #counter = 0;
  readonly origin: string;
  readonly #now: () => number;
  /** How far ahead of the wall clock an observed timestamp may be and still be adopted. */
  readonly maxSkewMs: number;

  /**
   * @param origin this device's id
   * @param now the wall clock (milliseconds); injectable for tests
   * @param maxSkewMs the skew limit (default {@link DEFAULT_MAX_SKEW_MS})
   */
  constructor(origin: string, now: () => number = Date.now, maxSkewMs = DEFAULT_MAX_SKEW_MS) {
    this.origin = origin;
    this.#now = now;
    this.maxSkewMs = maxSkewMs;
  }

  /** Whether a timestamp's wall time is beyond the skew limit of this clock's wall clock. */
  tooFarAhead(ts: string): boolean {
    return hlcWall(ts) > this.#now() + this.maxSkewMs;
  }

  /** Issues a new timestamp, later than every one issued or observed before. */
  now(): string {
    const pt = this.#now();
    if (pt > this.#wall) {
      this.#wall = pt;
      this.#counter = 0;
    } else {
      this.#counter++;
      if (this.#counter > 999_999) {
        this.#wall++;
        this.#counter = 0;
      }
    }
    return formatHlc({ wall: this.#wall, counter: this.#counter, origin: this.origin });
  }

  /**
   * Moves the clock past a timestamp seen from elsewhere (another device or the log), unless
   * it is malformed or beyond the skew limit. Returns whether it was within the limit.
   */
  observe(ts: string): boolean {
    const p = parseHlc(ts);
    if (!p) return false;
    if (p.wall > this.#now() + this.maxSkewMs) return false;
    if (p.wall > this.#wall || (p.wall === this.#wall && p.counter > this.#counter)) {
      this.#wall = p.wall;
      this.#counter = p.counter;
    }
    return true;
  }
}
