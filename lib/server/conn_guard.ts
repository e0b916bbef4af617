/**
 * The connection guard in front of the server's HTTP listener. `Deno.serve` has no header-read
 * or idle timeout, so a client that sends half a request holds a connection (and a file
 * descriptor) for ever; about a thousand of them exhaust the open-file limit and nobody else is
 * answered. The guard owns the public TCP listener and, for every accepted connection:
 *
 * - refuses it at once (a raw `503`) when its address already holds
 *   `maxConnectionsPerAddress` connections or the process holds `maxConnections`, except that a
 *   connection still waiting for its request head is closed instead to make room (oldest first):
 *   a client that has not sent a head yet is the cheapest to drop, and a real client sends its
 *   head in one go;
 * - closes it when the first request head (up to `\r\n\r\n`) has not arrived within
 *   `headerTimeoutMs`, or is larger than 64 KiB;
 * - then connects to the real server on a private 127.0.0.1 port and copies bytes both ways,
 *   closing both sides after `idleTimeoutMs` with no byte in either direction (a long upload or
 *   download keeps moving bytes, so it lives).
 *
 * The real server learns the client's address from {@link ConnGuard.peerOf}: the guard records
 * the local port of each connection it makes to the private port, so every request on it, the
 * first and every later keep-alive one, is attributed to the right client without the guard
 * parsing anything after the first head. (A unix socket would keep other local users off the
 * private listener, but `Deno.serve` reports one and the same address for every unix
 * connection, and a header added to the first head would be missing, or forgeable, on the
 * requests that follow it on the same connection.) A request that reaches the private port
 * other than through the guard has no recorded peer; the server refuses it.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";

/** Limits of a {@link ConnGuard}; see the `ServerOptions` of the same names. */
export interface GuardLimits {
  /** How long a new connection may take to send its first request head, in ms. */
  headerTimeoutMs: number;
  /** How long a connection may move no byte in either direction, in ms. */
  idleTimeoutMs: number;
  /** Most connections open at once from one address. */
  maxConnectionsPerAddress: number;
  /** Most connections open at once in total. */
  maxConnections: number;
}

/** Default header timeout: 10 s. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/** Default idle timeout: 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Default connections per address: 64. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;
/** Largest request head accepted, in bytes. */
const MAX_HEAD_BYTES = 64 * 1024;
/** File descriptors one guarded connection can use in this process: client, out, private. */
const FDS_PER_CONNECTION = 3;
/** File descriptors kept for everything else (database, blobs, logs). */
const FD_RESERVE = 64;

/** Checks one limit: a whole number of at least 1 (timeouts: at most about 24 days). */
function checkLimit(field: string, value: unknown, timer: boolean): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(field, value, "must be a whole number of at least 1");
  }
  if (timer && value > 2 ** 31 - 1) {
    throw new InvalidArgumentError(field, value, "must be at most 2147483647 ms");
  }
  return value;
}

/**
 * The soft open-file limit of this process, when it can be read cheaply (Linux
 * `/proc/self/limits`; elsewhere `ulimit -n` in a shell, when running programs is allowed).
 */
export async function openFileLimit(): Promise<number | undefined> {
  if (Deno.build.os === "windows") return undefined;
  try {
    const text = await Deno.readTextFile("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m) return m[1] === "unlimited" ? Infinity : Number(m[1]);
  } catch { /* not Linux, or no read permission */ }
  try {
    const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stderr: "null" })
      .output();
    const t = new TextDecoder().decode(out.stdout).trim();
    if (t === "unlimited") return Infinity;
    const n = Number(t);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default total connection cap: what the open-file limit leaves after a reserve, with three
 * descriptors per connection, between 16 and 4096; 256 when the limit cannot be read.
 */
export async function defaultMaxConnections(): Promise<number> {
  const limit = await openFileLimit();
  if (limit === undefined) return 256;
  return Math.max(16, Math.min(4096, Math.floor((limit - FD_RESERVE) / FDS_PER_CONNECTION)));
}

/**
 * The guard's limits from options, defaults filled in; a bad value is an
 * {@link InvalidArgumentError} naming the option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { guardLimits } from "./conn_guard.ts";
 * const limits = await guardLimits({ headerTimeoutMs: 500 });
 * assert.equal(limits.headerTimeoutMs, 500);
 * assert.equal(limits.idleTimeoutMs, 60_000);
 * await assert.rejects(guardLimits({ maxConnections: 0 }), /maxConnections/);
 * ```
 */
export async function guardLimits(options: Partial<GuardLimits>): Promise<GuardLimits> {
  const pick = (field: keyof GuardLimits, fallback: number, timer: boolean) =>
    options[field] === undefined ? fallback : checkLimit(field, options[field], timer);
  const headerTimeoutMs = pick("headerTimeoutMs", DEFAULT_HEADER_TIMEOUT_MS, true);
  const idleTimeoutMs = pick("idleTimeoutMs", DEFAULT_IDLE_TIMEOUT_MS, true);
  const maxConnectionsPerAddress = pick(
    "maxConnectionsPerAddress",
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    false,
  );
  const maxConnections = options.maxConnections === undefined
    ? await defaultMaxConnections()
    : checkLimit("maxConnections", options.maxConnections, false);
  return { headerTimeoutMs, idleTimeoutMs, maxConnectionsPerAddress, maxConnections };
}

const REFUSAL_BODY = JSON.stringify({
  error: { code: "UNAVAILABLE", message: "Too many connections: retry shortly" },
});
/** The answer to a connection over the caps, written raw before closing it. */
const REFUSAL = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n" +
    `connection: close\r\ncontent-length: ${REFUSAL_BODY.length}\r\n\r\n${REFUSAL_BODY}`,
);
const HEAD_TOO_LARGE = new TextEncoder().encode(
  "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
);

/** Where `\r\n\r\n` ends in `buf[0, len)`, searching from `from`; -1 when absent. */
function headEnd(buf: Uint8Array, from: number, len: number): number {
  for (let i = Math.max(3, from); i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

async function writeAll(to: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await to.write(bytes.subarray(off));
}

/** One accepted connection. */
class Guarded {
  backend: Deno.TcpConn | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0;
  closed = false;
  pending = true;

  constructor(
    readonly guard: ConnGuard,
    readonly conn: Deno.TcpConn,
    readonly key: string,
  ) {}

  /** Reads the first head, connects to the private port and copies until either side ends. */
  async run(): Promise<void> {
    const limits = this.guard.limits;
    this.#timer = setTimeout(() => this.close(), limits.headerTimeoutMs);
    try {
      let buf = new Uint8Array(16 * 1024);
      let len = 0;
      let end = -1;
      while (end < 0) {
        if (len === buf.length) {
          if (len >= MAX_HEAD_BYTES) {
            await writeAll(this.conn, HEAD_TOO_LARGE);
            return;
          }
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const n = await this.conn.read(buf.subarray(len));
        if (n === null || this.closed) return;
        end = headEnd(buf, len, len + n);
        len += n;
      }
      clearTimeout(this.#timer);
      this.guard.headSeen(this);
      const backend = await Deno.connect(this.guard.target);
      if (this.closed) {
        backend.close();
        return;
      }
      this.backend = backend;
      this.guard.peers.set(backend.localAddr.port, this.conn.remoteAddr);
      this.#last = Date.now();
      this.#timer = setTimeout(() => this.#checkIdle(), limits.idleTimeoutMs);
      await writeAll(backend, buf.subarray(0, len));
      await Promise.all([
        this.#pump(this.conn, backend).then(() => backend.closeWrite()),
        this.#pump(backend, this.conn).then(() => this.close()),
      ]);
    } catch {
      // A reset, or a side closed by a timeout or by close(): both sides go.
    } finally {
      this.close();
    }
  }

  #checkIdle(): void {
    const idle = Date.now() - this.#last;
    const limit = this.guard.limits.idleTimeoutMs;
    if (idle >= limit) this.close();
    else this.#timer = setTimeout(() => this.#checkIdle(), limit - idle);
  }

  /** Copies `from` into `to` until `from` ends; every chunk counts as activity. */
  async #pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await from.read(buf);
      if (n === null) return;
      this.#last = Date.now();
      await writeAll(to, buf.subarray(0, n));
      this.#last = Date.now();
    }
  }

  /** Closes both sides (once) and gives back its place under the caps. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#timer);
    this.guard.forget(this);
    try {
      this.conn.close();
    } catch { /* already closed */ }
    if (this.backend) {
      this.guard.peers.delete(this.backend.localAddr.port);
      try {
        this.backend.close();
      } catch { /* already closed */ }
    }
  }
}

/** Connections from one address. */
interface AddressSlots {
  open: number;
  pending: Set<Guarded>;
}

/**
 * The public listener with its timeouts and caps, in front of a private HTTP listener.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnGuard, guardLimits } from "./conn_guard.ts";
 * const inner = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("hi"),
 * );
 * const guard = ConnGuard.listen(
 *   { hostname: "127.0.0.1", port: 0 },
 *   { hostname: "127.0.0.1", port: inner.addr.port },
 *   await guardLimits({ maxConnections: 100 }),
 * );
 * const res = await fetch(`http://127.0.0.1:${guard.addr.port}/`);
 * assert.equal(await res.text(), "hi");
 * await guard.close();
 * await inner.shutdown();
 * ```
 */
export class ConnGuard {
  /** The private port's client side: local port of each connection made to it -> the client. */
  readonly peers = new Map<number, Deno.NetAddr>();
  readonly #listener: Deno.TcpListener;
  readonly #all = new Set<Guarded>();
  readonly #pending = new Set<Guarded>();
  readonly #byAddress = new Map<string, AddressSlots>();
  readonly #tasks = new Set<Promise<void>>();
  #closing = false;
  #backoff: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  readonly #accepting: Promise<void>;
  /** Connections refused or dropped to make room so far. */
  refused = 0;

  private constructor(
    listener: Deno.TcpListener,
    readonly target: Deno.ConnectOptions,
    readonly limits: GuardLimits,
  ) {
    this.#listener = listener;
    this.#accepting = this.#acceptLoop();
  }

  /** Listens on `at` and forwards to the HTTP listener at `target`. */
  static listen(
    at: { hostname: string; port: number },
    target: { hostname: string; port: number },
    limits: GuardLimits,
  ): ConnGuard {
    const listener = Deno.listen({ hostname: at.hostname, port: at.port, transport: "tcp" });
    return new ConnGuard(listener, { ...target, transport: "tcp" }, limits);
  }

  /** The public address. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections open now, and how many of them have not sent their head yet. */
  get stats(): { open: number; pending: number } {
    return { open: this.#all.size, pending: this.#pending.size };
  }

  /** The client behind a connection to the private port, if the guard made it. */
  peerOf(remote: Deno.Addr): Deno.NetAddr | undefined {
    return remote.transport === "tcp" ? this.peers.get(remote.port) : undefined;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        if (this.#closing) return;
        // Out of file descriptors, most likely: wait a little rather than spin.
        await new Promise<void>((wake) => {
          this.#backoff = { timer: setTimeout(wake, 50), wake };
        });
        this.#backoff = undefined;
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    const key = conn.remoteAddr.hostname;
    let slots = this.#byAddress.get(key);
    if (slots && slots.open >= this.limits.maxConnectionsPerAddress) {
      const oldest = slots.pending.values().next().value;
      if (!oldest) return this.#refuse(conn);
      this.refused++;
      oldest.close();
    }
    if (this.#all.size >= this.limits.maxConnections) {
      const oldest = this.#pending.values().next().value;
      if (!oldest) return this.#refuse(conn);
      this.refused++;
      oldest.close();
    }
    slots = this.#byAddress.get(key);
    if (!slots) this.#byAddress.set(key, slots = { open: 0, pending: new Set() });
    const g = new Guarded(this, conn, key);
    slots.open++;
    slots.pending.add(g);
    this.#pending.add(g);
    this.#all.add(g);
    this.#track(g.run());
  }

  #refuse(conn: Deno.TcpConn): void {
    this.refused++;
    this.#track(
      conn.write(REFUSAL).then(() => {}, () => {}).finally(() => {
        try {
          conn.close();
        } catch { /* already closed */ }
      }),
    );
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  /** A connection sent its head: it no longer makes room for others. */
  headSeen(g: Guarded): void {
    g.pending = false;
    this.#pending.delete(g);
    this.#byAddress.get(g.key)?.pending.delete(g);
  }

  /** A connection closed. */
  forget(g: Guarded): void {
    if (!this.#all.delete(g)) return;
    this.headSeen(g);
    const slots = this.#byAddress.get(g.key);
    if (slots && --slots.open <= 0) this.#byAddress.delete(g.key);
  }

  /** Stops accepting; connections already open carry on. */
  stopListening(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    if (this.#backoff) {
      clearTimeout(this.#backoff.timer);
      this.#backoff.wake();
    }
  }

  /** Connections that have not sent their head yet are closed (the others are not). */
  closePending(): void {
    for (const g of [...this.#pending]) g.close();
  }

  /** Stops accepting, closes every connection and waits for them to wind down. */
  async close(): Promise<void> {
    this.stopListening();
    await this.#accepting;
    for (const g of [...this.#all]) g.close();
    while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
  }
}
