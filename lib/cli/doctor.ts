/**
 * `doctor`: checks a store without changing it (schema, projections against a replay of a copy,
 * weights blobs). The check itself belongs with the store; it stays here only until it moves
 * there.
 *
 * @module
 */
import { join } from "node:path";
import { openStore, type Store } from "../store/store.ts";
import { SCHEMA_VERSION } from "../projections/schema.ts";
import { sha256File } from "../weights/blobs.ts";
import { cut, type ProgressFactory } from "./output.ts";

/** What `doctor` found. */
export interface DoctorReport {
  ok: boolean;
  schema: { version: number; expected: number; ok: boolean };
  counts: { events: number; models: number; tasks: number };
  projections: {
    checked: boolean;
    ok: boolean;
    events?: number;
    note?: string;
    tables: { table: string; rows: number; stale: number; missing: number; examples: string[] }[];
  };
  blobs: {
    referenced: number;
    ok: number;
    mismatched: { hash: string; actual: string; models: string[] }[];
    missing: { hash: string; models: string[]; uri: string }[];
  };
}

/** Compares two dumps table by table. */
function compareDumps(
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
 * @param store the store to check
 * @param progress makes a progress bar per phase (default: none)
 * @returns what was found; `ok` is false on a failed check
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "../store/store.ts";
 * import { doctor } from "./doctor.ts";
 *
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const report = await doctor(store);
 * assert.equal(report.ok, true);
 * assert.equal(report.projections.checked, true);
 * assert.deepEqual(report.counts, { events: 0, models: 0, tasks: 0 });
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function doctor(
  store: Store,
  progress: ProgressFactory = () => ({ update() {}, end() {} }),
): Promise<DoctorReport> {
  const version = await store.schemaVersion();
  const count = async (sql: string) => Number((await store.one<{ n: number }>(sql))?.n ?? 0);
  const counts = {
    events: await count("SELECT count(*) AS n FROM events"),
    models: await count("SELECT count(*) AS n FROM models WHERE created = 1 AND removed = 0"),
    tasks: await count("SELECT count(*) AS n FROM tasks WHERE created = 1"),
  };

  // Projections: copy the database (a consistent snapshot), replay the copy, compare.
  const projections: DoctorReport["projections"] = { checked: false, ok: true, tables: [] };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(store.path)) {
    projections.note = "skipped: the database is remote";
  } else {
    const tmp = await Deno.makeTempDir({ prefix: "modelog-doctor-" });
    try {
      const copyPath = join(tmp, "modelog.db");
      await store.all("VACUUM INTO ?", [copyPath]);
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
  const refs = await store.all<{ hash: string; ids: string; uri: string }>(
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

  const schemaOk = version === SCHEMA_VERSION;
  return {
    ok: schemaOk && projections.ok && blobs.mismatched.length === 0,
    schema: { version, expected: SCHEMA_VERSION, ok: schemaOk },
    counts,
    projections,
    blobs,
  };
}
