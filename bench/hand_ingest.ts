/**
 * The sync benchmark's baseline for ingest: the same work as the store's ingest of the benchmark's
 * events (a `model.created`, then `metric.plot` events), written by hand at the layer the store
 * runs on (the native `libsql` driver, statements prepared once, the store's pragmas). Per batch:
 * each event's `data` text and checksum, checked against the one it carries; one read of the ids
 * already held; then in one `BEGIN IMMEDIATE` transaction the clock mark, the event rows, the
 * `plots` rows (newest wins, as the fold's upsert) and the model's `last_update`, a prepared
 * one-row statement per row. (The rows as one JSON text per table unpacked by `json_each`, as the
 * store writes them, cost the same here: 100,000 pushed events took 1.71 s of SQLite and 0.28 s
 * of driver calls one row at a time, 1.86 s of SQLite and no driver time the other way.)
 *
 * It knows only those two event types and validates nothing else: it is the limit of the work,
 * not a store. The file must be a store's (made by `openStore`), so the tables are the store's.
 *
 * @module
 */
import type { NativeConnection } from "../lib/deps.ts";
import { eventChecksum } from "../lib/store/log.ts";
import { nativeOn, prepared } from "./native.ts";

/** An event as pushed or pulled (what the baseline reads of it). */
interface WireEvent {
  id: string;
  stream: string;
  type: string;
  at: string;
  origin: string;
  v: number;
  actor: string;
  checksum?: string;
  data: Record<string, unknown>;
}

const INSERT_EVENT =
  `INSERT INTO events (id, stream, type, at, origin, v, actor, data, remote, checksum)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const UPSERT_PLOT = `INSERT INTO plots (model_id, title, series, iteration, kind, event_id, at)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (model_id, title, series, iteration) DO UPDATE
  SET kind = excluded.kind, event_id = excluded.event_id, at = excluded.at
  WHERE excluded.at > plots.at`;
const INSERT_MODEL =
  `INSERT OR IGNORE INTO models (id, created, created_at, name, project, last_update)
  VALUES (?, 1, ?, ?, ?, ?)`;
const MOVE_LAST_UPDATE = `UPDATE models SET last_update = ? WHERE id = ? AND last_update < ?`;
const MAX_AT = `INSERT INTO meta (key, value) VALUES ('max_at', ?)
  ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`;
const HELD = `SELECT id, checksum FROM events WHERE id IN (SELECT value FROM json_each(?))`;
const HEAD = `SELECT coalesce(max(seq), 0) AS seq FROM events`;

/** A hand-written ingest into the store file at `path`. */
export class HandIngest {
  readonly #db: NativeConnection;
  readonly #st: ReturnType<typeof prepared>;

  constructor(path: string) {
    this.#db = nativeOn(path);
    this.#st = prepared(this.#db);
  }

  /** Ingests a batch; returns how many events were new and the log's last seq. */
  ingest(batch: readonly object[], remote: boolean): { accepted: number; seq: number } {
    const events = batch as readonly WireEvent[];
    const texts: string[] = new Array(events.length);
    const sums: string[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      texts[i] = JSON.stringify(e.data);
      sums[i] = eventChecksum(e, texts[i]!);
      if (e.checksum && e.checksum !== sums[i]) throw new Error(`event ${e.id}: bad checksum`);
    }
    const st = this.#st;
    let accepted = 0;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const held = new Map<string, string>();
      for (const r of st(HELD).all(JSON.stringify(events.map((e) => e.id))) as Row[]) {
        held.set(r.id, r.checksum);
      }
      let newest = "";
      for (const e of events) if (e.at > newest) newest = e.at;
      st(MAX_AT).run(newest);
      const lastUpdate = new Map<string, string>();
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        const had = held.get(e.id);
        if (had !== undefined) {
          if (had !== sums[i]) throw new Error(`event ${e.id}: conflicting copy`);
          continue;
        }
        held.set(e.id, sums[i]!);
        accepted++;
        st(INSERT_EVENT).run(
          e.id,
          e.stream,
          e.type,
          e.at,
          e.origin,
          e.v,
          e.actor,
          texts[i]!,
          remote ? 1 : 0,
          sums[i]!,
        );
        const model = e.stream.slice("model:".length);
        const d = e.data;
        if (e.type === "model.created") {
          st(INSERT_MODEL).run(model, e.at, d.name, d.project, e.at);
        } else if (e.type === "metric.plot") {
          st(UPSERT_PLOT).run(model, d.title, d.series, d.iteration, d.kind, e.id, e.at);
        } else throw new Error(`the baseline does not know event type ${e.type}`);
        if (e.at > (lastUpdate.get(model) ?? "")) lastUpdate.set(model, e.at);
      }
      for (const [model, at] of lastUpdate) st(MOVE_LAST_UPDATE).run(at, model, at);
      this.#db.exec("COMMIT");
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
    return { accepted, seq: Number((st(HEAD).get() as Row).seq) };
  }

  /** Closes the connection. */
  close(): void {
    this.#db.close();
  }
}

type Row = Record<string, string>;
