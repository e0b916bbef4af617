/**
 * `doctor`: checks a store without changing it. The schema version; that every event matches
 * the checksum kept beside it; that the projections equal
 * a replay of the event log (done on a copy of the database); and that every weights blob a
 * live model references is present and hashes to its name. The one thing it changes: stale
 * temp files of the blob folder are removed (and reported).
 *
 * @module
 */
import { join } from "node:path";
import { SCHEMA_VERSION } from "../projections/schema.ts";
import { sha256File } from "../weights/blobs.ts";
import { sweepStaleTemp, type SweptFile } from "../weights/blob_sweep.ts";
import { readAll, readOne } from "./raw.ts";
import { eventChecksum } from "./log.ts";
import { openStore, type Store } from "./store.ts";

/** What `doctor` found. */
export interface DoctorReport {
  /** Whether every check passed (missing blobs are warnings). */
  ok: boolean;
  /** The schema version found and the one this code writes. */
  schema: { version: number; expected: number; ok: boolean };
  /** Events, live models and tasks in the store. */
  counts: { events: number; models: number; tasks: number };
  /**
   * Every event's content against the checksum kept beside it: a changed byte in an event
   * (its data or its identity) is listed, up to 100 of them.
   */
  events: { checked: number; mismatched: { seq: number; id: string }[] };
  /** The projections compared with a replay of the log, table by table. */
  projections: {
    checked: boolean;
    ok: boolean;
    events?: number;
    note?: string;
    tables: { table: string; rows: number; stale: number; missing: number; examples: string[] }[];
  };
  /** Weights blobs referenced by live models. */
  blobs: {
    referenced: number;
    ok: number;
    mismatched: { hash: string; actual: string; models: string[] }[];
    missing: { hash: string; models: string[]; uri: string }[];
  };
  /**
   * Stale temp files of the blob folder (a killed writer's `tmp/*.tmp`, abandoned partial
   * uploads), removed by this check; a store also sweeps them when it opens.
   */
  tempFiles: { removed: SweptFile[]; bytes: number };
}

/** A progress reporter (the CLI's bar on a terminal). */
export type Progress = (label: string) => {
  update(done: number, total?: number): void;
  end(): void;
};

/** Cuts a text to `n` characters. */
function cut(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/**
 * Compares two dumps (as `Store.dump()` gives them) table by table.
 *
 * @param before The projections as they were.
 * @param after The projections after a replay.
 * @returns Per table: rows, rows only in `before` (stale), rows only in `after` (missing).
 */
export function compareDumps(
  before: Record<string, unknown[][]>,
  after: Record<string, unknown[][]>,
): DoctorReport["projections"]["tables"] {
  const out: DoctorReport["projections"]["tables"] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = (before[table] ?? []).map((r) => JSON.stringify(r));
    const b = (after[table] ?? []).map((r) => JSON.stringify(r));
    const inB = new Map<string, number>();
    for (const r of b) inB.set(r, (inB.get(r) ?? 0) + 1);
    const stale: string[] = [];
    for (const r of a) {
      const n = inB.get(r) ?? 0;
      if (n > 0) inB.set(r, n - 1);
      else stale.push(r);
    }
    const missing: string[] = [];
    for (const [r, n] of inB) for (let i = 0; i < n; i++) missing.push(r);
    out.push({
      table,
      rows: a.length,
      stale: stale.length,
      missing: missing.length,
      examples: [
        ...stale.slice(0, 3).map((r) => `projection has ${cut(r, 200)}`),
        ...missing.slice(0, 3).map((r) => `replay has ${cut(r, 200)}`),
      ],
    });
  }
  return out;
}

/**
 * Checks a store without changing it: schema, projections against a replay of a copy, blobs.
 *
 * @param store The store to check.
 * @param progress Makes a progress reporter per phase (default: silent).
 * @returns What was found.
 */
export async function doctor(
  store: Store,
  progress: Progress = () => ({ update() {}, end() {} }),
): Promise<DoctorReport> {
  const version = await store.schemaVersion();
  const count = async (sql: string) => Number((await readOne<{ n: number }>(store, sql))?.n ?? 0);
  const counts = {
    events: await count("SELECT count(*) AS n FROM events"),
    models: await count("SELECT count(*) AS n FROM models WHERE created = 1 AND removed = 0"),
    tasks: await count("SELECT count(*) AS n FROM tasks WHERE created = 1"),
  };

  // Events: each one's content against its checksum, in pages.
  const events: DoctorReport["events"] = { checked: 0, mismatched: [] };
  let mismatches = 0;
  const evBar = progress("checking events");
  for (let after = 0;;) {
    const page = await readAll<
      Record<"id" | "stream" | "type" | "at" | "origin" | "data" | "checksum", string> & {
        seq: number;
        v: number;
      }
    >(
      store,
      `SELECT seq, id, stream, type, at, origin, v, data, checksum FROM events
       WHERE seq > ? ORDER BY seq LIMIT 2000`,
      [after],
    );
    if (page.length === 0) break;
    for (const r of page) {
      const e = { ...r, v: Number(r.v) };
      if (eventChecksum(e, String(r.data)) !== r.checksum) {
        if (mismatches++ < 100) events.mismatched.push({ seq: Number(r.seq), id: String(r.id) });
      }
      after = Number(r.seq);
    }
    events.checked += page.length;
    evBar.update(events.checked, counts.events);
  }
  evBar.end();

  // Projections: copy the database (a consistent snapshot), replay the copy, compare.
  const projections: DoctorReport["projections"] = { checked: false, ok: true, tables: [] };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(store.path)) {
    projections.note = "skipped: the database is remote";
  } else {
    const tmp = await Deno.makeTempDir({ prefix: "modelog-doctor-" });
    try {
      const copyPath = join(tmp, "modelog.db");
      await readAll(store, "VACUUM INTO ?", [copyPath]);
      const copy = await openStore({ home: tmp, path: copyPath, blobsDir: join(tmp, "blobs") });
      try {
        const before = await copy.dump();
        const bar = progress("replaying events");
        const r = await copy.rebuild({ onProgress: (n) => bar.update(n, counts.events) });
        bar.end();
        const after = await copy.dump();
        projections.checked = true;
        projections.events = r.events;
        projections.tables = compareDumps(before, after);
        projections.ok = projections.tables.every((t) => t.stale === 0 && t.missing === 0);
      } finally {
        await copy.close();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }

  // Blobs referenced by live models: present, and hashing to their name.
  const refs = await readAll<{ hash: string; ids: string; uri: string }>(
    store,
    `SELECT hash, group_concat(id) AS ids, max(uri) AS uri FROM models
     WHERE hash != '' AND created = 1 AND removed = 0 GROUP BY hash ORDER BY hash`,
  );
  const blobs: DoctorReport["blobs"] = {
    referenced: refs.length,
    ok: 0,
    mismatched: [],
    missing: [],
  };
  const bar = progress("checking blobs");
  let done = 0;
  for (const r of refs) {
    const models = r.ids.split(",");
    if (!(await store.blobs.has(r.hash))) {
      blobs.missing.push({ hash: r.hash, models, uri: r.uri });
    } else {
      const { hash } = await sha256File(store.blobs.pathOf(r.hash));
      if (hash === r.hash) blobs.ok++;
      else blobs.mismatched.push({ hash: r.hash, actual: hash, models });
    }
    bar.update(++done, refs.length);
  }
  bar.end();

  const removed = await sweepStaleTemp(store.blobs.dir);
  const tempFiles = { removed, bytes: removed.reduce((n, f) => n + f.size, 0) };

  const schemaOk = version === SCHEMA_VERSION;
  return {
    ok: schemaOk && mismatches === 0 && projections.ok && blobs.mismatched.length === 0,
    schema: { version, expected: SCHEMA_VERSION, ok: schemaOk },
    counts,
    events,
    projections,
    blobs,
    tempFiles,
  };
}
