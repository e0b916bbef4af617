/**
 * One push round with quarantine. Events go in requests bounded by count and by bytes (below
 * the limits the server advertises); an event the server refuses, one larger than the limit,
 * or a weights event whose blob the server refuses (a blob that fails its hash) is set aside
 * with its reason, and every later event of the same stream waits behind it (a stream's events
 * only make sense in order). Everything else goes on. A refused request is split in halves
 * (or, when the server names the bad event, without it) until the refused events are alone.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { QuarantineRow } from "../store/quarantine.ts";
import { encodeData, type StoredEvent } from "../events.ts";
import { quarantineEntries } from "../projections/read.ts";
import type { PushResponse, SyncLimits } from "./protocol.ts";
import { refusalOf, refusesContent, type Transport } from "./transport.ts";
import { SyncError } from "../errors.ts";

/** What a push round needs of its worker. */
export interface PushDeps {
  /** The store pushed from. */
  store: Store;
  /** Requests to the server. */
  transport: Transport;
  /** The key the quarantine is kept under (the server's URL). */
  key: string;
  /** Most events per request (the worker's `batchSize`). */
  batch: number;
  /** The server's limits. */
  limits: SyncLimits;
  /** Uploads a blob, resuming; returns the bytes sent. */
  uploadBlob(hash: string): Promise<number>;
  /**
   * Looks at an acknowledgement; true when the server's database was replaced (the round
   * stops with {@link ServerReset}: the worker starts again from 0).
   */
  onAck(ack: PushResponse): Promise<boolean>;
}

/** Thrown when an acknowledgement showed a replaced server database. */
export class ServerReset extends Error {
  /** The reset. */
  constructor() {
    super("the server's database was replaced");
  }
}

/** What a round did. */
export interface PushTally {
  /** Events the server acknowledged. */
  events: number;
  /** Blobs uploaded (or found complete on the server). */
  blobs: number;
  /** Blob bytes sent. */
  bytes: number;
  /** Events set aside in this round. */
  held: number;
}

/** Bytes of a push body besides its events: `{"events":[` … `]}`. */
const ENVELOPE = 16;
const utf8 = new TextEncoder();

interface Wire {
  e: StoredEvent;
  text: string;
  size: number;
}

/** A push round (see the module doc). */
export class PushRound {
  readonly #d: PushDeps;
  /** Stream -> the held event its later events wait behind, and the first held seq. */
  readonly #held = new Map<string, { id: string; seq: number }>();
  /** Events already set aside (held or dropped): never sent by a plain push. */
  readonly #skip = new Set<string>();
  #rows: QuarantineRow[] = [];
  /** What this round did. */
  readonly tally: PushTally = { events: 0, blobs: 0, bytes: 0, held: 0 };

  /** A round for `d`; call {@link load} before the first page. */
  constructor(d: PushDeps) {
    this.#d = d;
  }

  /** Reads the quarantine, leaving out the events in `except` (being retried). */
  async load(except: ReadonlySet<string> = new Set()): Promise<void> {
    for (const q of await quarantineEntries(this.#d.store, this.#d.key, { includeDropped: true })) {
      if (except.has(q.id)) continue;
      this.#skip.add(q.id);
      if (q.status !== "held") continue;
      const was = this.#held.get(q.stream);
      this.#held.set(q.stream, {
        id: q.heldBy ?? was?.id ?? q.id,
        seq: Math.min(was?.seq ?? Infinity, q.seq),
      });
    }
  }

  #hold(e: StoredEvent, reason: string): void {
    const was = this.#held.get(e.stream);
    if (!was || (e.seq ?? 0) < was.seq) this.#held.set(e.stream, { id: e.id, seq: e.seq ?? 0 });
    this.#skip.add(e.id);
    this.#rows.push({
      eventId: e.id,
      seq: e.seq ?? 0,
      stream: e.stream,
      type: e.type,
      reason,
      heldBy: "",
    });
    this.tally.held++;
  }

  /** Holds `e` when it comes after a held event of its stream; returns whether it did. */
  #waits(e: StoredEvent): boolean {
    const h = this.#held.get(e.stream);
    if (h === undefined || (e.seq ?? Infinity) <= h.seq) return false;
    const root = h.id;
    this.#skip.add(e.id);
    this.#rows.push({
      eventId: e.id,
      seq: e.seq ?? 0,
      stream: e.stream,
      type: e.type,
      reason: `waits behind ${root}, held earlier in ${e.stream}`,
      heldBy: root,
    });
    this.tally.held++;
    return true;
  }

  /**
   * Pushes `events` (in local order): blobs first, then the events in bounded requests.
   * `release` lists quarantined events being retried: those not held again leave the
   * quarantine in the same transaction that records the new holds.
   */
  async page(events: StoredEvent[], release: readonly string[] = []): Promise<void> {
    const { store, limits } = this.#d;
    const room = limits.eventsBody - ENVELOPE;
    const send: Wire[] = [];
    for (const e of events) {
      if (this.#skip.has(e.id) || this.#waits(e)) continue;
      const { seq: _seq, ...wire } = e;
      const text = encodeData(wire);
      const size = utf8.encode(text).length;
      if (size > room) {
        this.#hold(
          e,
          `the event is ${size} bytes, more than the ${limits.eventsBody} bytes the server ` +
            "takes in one push",
        );
        continue;
      }
      if (
        e.type === "model.weights_updated" && e.data.hash && (await store.blobs.has(e.data.hash))
      ) {
        try {
          this.tally.bytes += await this.#d.uploadBlob(e.data.hash);
          this.tally.blobs++;
        } catch (err) {
          const r = refusalOf(err);
          if (!r || !refusesContent(r)) throw err;
          this.#hold(e, `the server refused its weights blob ${e.data.hash}: ${r.message}`);
          continue;
        }
      }
      send.push({ e, text, size });
    }
    const perPush = Math.min(this.#d.batch, limits.eventsPerPush);
    let chunk: Wire[] = [];
    let bytes = 0;
    for (const w of send) {
      if (chunk.length && (chunk.length >= perPush || bytes + w.size + 1 > room)) {
        await this.#send(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(w);
      bytes += w.size + 1;
    }
    if (chunk.length) await this.#send(chunk);
    const rows = this.#rows;
    const again = new Set(rows.map((r) => r.eventId));
    const released = release.filter((id) => !again.has(id));
    if (rows.length || released.length) {
      await store.changeQuarantine({ server: this.#d.key, hold: rows, release: released });
    }
    this.#rows = [];
  }

  /** Sends one request; on a refusal, sets aside the refused events and sends the rest. */
  async #send(chunk: Wire[]): Promise<void> {
    chunk = chunk.filter((w) => !this.#waits(w.e));
    if (chunk.length === 0) return;
    let res: Response;
    try {
      res = await this.#d.transport.request("/v1/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"events":[${chunk.map((w) => w.text).join(",")}]}`,
      }, `pushing ${chunk.length} events`);
    } catch (err) {
      const r = refusalOf(err);
      if (!r || !refusesContent(r)) throw err;
      if (chunk.length === 1) {
        this.#hold(chunk[0]!.e, `refused by the server (HTTP ${r.status}): ${r.message}`);
        return;
      }
      // The validator names the first bad event: set it aside, send the others.
      const i = Number(/events\[(\d+)\]/.exec(r.message)?.[1] ?? NaN);
      if (Number.isInteger(i) && i < chunk.length) {
        this.#hold(chunk[i]!.e, `refused by the server (HTTP ${r.status}): ${r.message}`);
        await this.#send(chunk.filter((_, j) => j !== i));
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await this.#send(chunk.slice(0, half));
      await this.#send(chunk.slice(half));
      return;
    }
    const text = await res.text();
    if (!res.ok) {
      throw new SyncError(
        "SYNC_FAILED",
        `pushing events to ${this.#d.transport.server}/v1/events: HTTP ${res.status} ${text}`,
        res.status,
      );
    }
    let ack: PushResponse;
    try {
      ack = JSON.parse(text);
    } catch (e) {
      throw new SyncError(
        "SYNC_FAILED",
        `pushing events to ${this.#d.transport.server}/v1/events: the answer is not JSON`,
        res.status,
        { cause: e },
      );
    }
    if (await this.#d.onAck(ack)) throw new ServerReset();
    this.tally.events += chunk.length;
  }
}
