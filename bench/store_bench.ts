/**
 * The store benchmark (`npx -y deno@2.9.6 run -A bench/store_bench.ts`; `deno task bench` runs
 * it with the others), measured in one run on one store:
 *
 * - (a) durable model operations per second on the big store: creating output models and
 *   importing models, then `setMetadata`, `addTags` and `updateWeights({ registerUri })` on
 *   existing models (each resolves after its transaction commits). The three on existing models
 *   are each compared with the raw limit of the layer the store runs on: a hand-written
 *   transaction through a second connection of the native driver (`libsql`, each statement
 *   prepared once) to the same file that inserts the one event row (with its checksum) and
 *   updates the projection rows that event implies (the metadata or tag row, and the model
 *   row's `last_update`, plus `uri`/`iteration` for weights). The operation and its raw append
 *   take turns in blocks of 20 (so both meet the same load on a shared machine); after each
 *   block the WAL it wrote is checkpointed and that time is charged to the block's side (left
 *   to SQLite's automatic checkpoint it fell on one side by chance); each side's rate is its
 *   calls over its own time. Target >= 0.5x. Each of those edits a model once (its rows are
 *   read in the operation's transaction); as context, `updateWeights` on one model again and
 *   again (a training loop: the store keeps the rows of its own last edit and reads none);
 * - (b) `Model.queryModels` with a tag filter (`["demo", "-TF"]`) plus a metadata filter
 *   (`{ dataset: "ds-N" }`, first page of 50) over 100,000 models: p50/p95 in ms, and the ratio
 *   to the same query written by hand in SQL on the projection tables, run through a separate
 *   native connection (statements prepared once) to the same file and returning the same rows (with their tags
 *   and metadata). The hand query is written two ways (driven by the metadata index, or walking
 *   the `models_order` index newest first); the faster is the baseline. `queryModels`' own SQL is
 *   also run through the raw client, to split the plan's cost from the API's. Target ≤ 1.5x;
 * - (c) the same at 10,000 models (measured first, on the same store before it grows), and
 *   the ratio of the 100k to the 10k p50. Target ≤ 3x;
 * - (d) `store.rebuild()` of the whole log (1,000,000 events by default) in events/s.
 *   Target >= 100k events/s.
 *
 * Seeding builds the events in memory and ingests them in large batches (`store.ingest`).
 *
 * Environment: `BENCH_SCALE` (default 1, or 0.1 with `BENCH_QUICK=1`: 10,000 / 1,000 models),
 * `BENCH_REBUILD_EVENTS` (events in the log before the durable operations, default
 * 1,000,000 × scale), `BENCH_QUERY_RUNS` (default 300 per side), `BENCH_OPS` (default 1000 per
 * operation, 200 quick), `BENCH_KEEP=1` to keep the temporary store.
 *
 * Prints a table and one `VERDICT {json}` line per target (bench/stats.ts).
 *
 * @module
 */
import { InputModel, Model, openStore, OutputModel, Task } from "../mod.ts";
import type { Store } from "../mod.ts";
import type { NativeConnection } from "../lib/deps.ts";
import { eventChecksum } from "../lib/store/log.ts";
import { nativeOn, prepared } from "./native.ts";
import { compileModelQuery } from "../lib/query.ts";
import { PAGE_JSON_SQL } from "../lib/store/log_pages.ts";
import { PROJECTION_TABLES } from "../lib/projections/schema.ts";
import { choosePlan } from "../lib/models/model.ts";
import { DATASETS, Seeder } from "./seed.ts";
import { formatHlc, uuidv7 } from "../lib/clock.ts";
import {
  envSize,
  fmt,
  percentile,
  table,
  type Target,
  tick,
  verdict,
  verdictTable,
} from "./stats.ts";

const SCALE = envSize("BENCH_SCALE", 1);
const BIG = Math.round(100_000 * SCALE);
const SMALL = Math.round(10_000 * SCALE);
const REBUILD_EVENTS = Math.round(
  envSize("BENCH_REBUILD_EVENTS", 1_000_000 * SCALE, 1_000_000 * SCALE),
);
const EVENTS_PER_MODEL = Math.max(3, Math.round(REBUILD_EVENTS / BIG));
const QUERY_RUNS = Math.round(envSize("BENCH_QUERY_RUNS", 300, 100));
const OPS = Math.round(envSize("BENCH_OPS", 1000, 200));
const PAGE = 50;
const INGEST_BATCH = 20_000;

const log = (...a: unknown[]) => console.error("[bench]", ...a);

// ---------------------------------------------------------------- seeding

const seeder = new Seeder({ eventsPerModel: EVENTS_PER_MODEL });
let seeded = 0;
let ingestMs = 0;
let ingested = 0;

async function seedTo(store: Store, models: number): Promise<void> {
  const perBatch = Math.max(1, Math.floor(INGEST_BATCH / EVENTS_PER_MODEL));
  while (seeded < models) {
    const to = Math.min(models, seeded + perBatch);
    const events = seeder.events(seeded, to);
    const t0 = performance.now();
    await store.ingest(events, { remote: false });
    ingestMs += performance.now() - t0;
    ingested += events.length;
    seeded = to;
    if (seeded % (perBatch * 10) === 0 || seeded === models) {
      log(`seeded ${fmt(seeded)} models (${fmt(ingested)} events)`);
    }
    await tick();
  }
}

// ---------------------------------------------------------------- (b)/(c) query

/** The selected columns: the model row with its tags and metadata, as `queryModels` returns. */
const HAND_COLUMNS = `m.*,
  (SELECT json_group_array(tag) FROM (SELECT tag FROM model_tags
     WHERE model_id = m.id AND present = 1 ORDER BY tag)) AS tags,
  (SELECT json_group_object(key, json_array(type, value)) FROM model_metadata
     WHERE model_id = m.id AND present = 1) AS metadata`;

/**
 * The query by hand, two ways; the faster one is the baseline. "index": driven by the metadata
 * index (cost grows with the number of matches). "walk": walks `models_order` newest first and
 * stops at the page size (cost grows with 1 / selectivity, not with the store).
 */
const HAND_SQL: Record<"index" | "walk", string> = {
  index: `SELECT ${HAND_COLUMNS}
FROM model_metadata d JOIN models m ON m.id = d.model_id
WHERE d.key = 'dataset' AND d.value = ? AND d.present = 1
  AND m.created = 1 AND m.removed = 0 AND m.archived = 0
  AND EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.tag = 'demo' AND t.present = 1)
  AND NOT EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.tag = 'TF' AND t.present = 1)
ORDER BY m.last_update DESC, m.id LIMIT ${PAGE}`,
  walk: `SELECT ${HAND_COLUMNS}
FROM models m INDEXED BY models_order
WHERE m.created = 1 AND m.removed = 0 AND m.archived = 0
  AND EXISTS (SELECT 1 FROM model_metadata d
              WHERE d.model_id = m.id AND d.key = 'dataset' AND d.value = ? AND d.present = 1)
  AND EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.tag = 'demo' AND t.present = 1)
  AND NOT EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.tag = 'TF' AND t.present = 1)
ORDER BY m.last_update DESC, m.id LIMIT ${PAGE}`,
};

interface QueryResult {
  models: number;
  p50: number;
  p95: number;
  /** queryModels' own SQL, run through the raw client (to split plan cost from API cost). */
  own: { p50: number; p95: number };
  hand: Record<"index" | "walk", { p50: number; p95: number }>;
  /** The faster hand plan (by p50). */
  best: "index" | "walk";
  rows: number;
}

async function measureQuery(store: Store, models: number): Promise<QueryResult> {
  // One connection per side (the store's connections' pragmas), as queryModels has its own: a
  // connection's page cache then holds only what its own side read.
  const conns = {
    index: nativeOn(store.path),
    walk: nativeOn(store.path),
    own: nativeOn(store.path),
  };
  const sqlOn = {
    index: prepared(conns.index),
    walk: prepared(conns.walk),
    own: prepared(conns.own),
  };
  try {
    const api = (ds: string) =>
      Model.queryModels({
        store,
        tags: ["demo", "-TF"],
        metadata: { dataset: ds },
        maxResults: PAGE,
      });
    const byHand = async (plan: "index" | "walk", ds: string) => {
      await Promise.resolve();
      return sqlOn[plan](HAND_SQL[plan]).all([ds]) as Record<string, unknown>[];
    };
    // Same rows, same order, for every dataset value.
    let rows = 0;
    for (let k = 0; k < DATASETS; k++) {
      const ds = `ds-${k}`;
      const a = (await api(ds)).map((m) => m.id).join();
      for (const plan of ["index", "walk"] as const) {
        const b = (await byHand(plan, ds)).map((r) => String(r.id)).join();
        if (a !== b) throw new Error(`queryModels and the ${plan} hand SQL disagree for ${ds}`);
      }
      rows += a === "" ? 0 : a.split(",").length;
    }
    const own = async (ds: string) => {
      // The SQL queryModels runs, with the plan it picks, on the raw client.
      const filter = { tags: ["demo", "-TF"], metadata: { dataset: ds }, maxResults: PAGE };
      const plan = await choosePlan(store, filter);
      const q = compileModelQuery(filter, { columns: HAND_COLUMNS, ...plan });
      return sqlOn.own(q.sql).all(q.args);
    };
    const times: number[][] = [[], [], [], []];
    const run = [
      (ds: string) => api(ds),
      (ds: string) => byHand("index", ds),
      (ds: string) => byHand("walk", ds),
      (ds: string) => own(ds),
    ];
    for (let i = 0; i < QUERY_RUNS; i++) {
      const ds = `ds-${i % DATASETS}`;
      // Rotate which side goes first so that none always gets the warmer cache.
      for (let j = 0; j < run.length; j++) {
        const side = (i + j) % run.length;
        const t0 = performance.now();
        await run[side]!(ds);
        times[side]!.push(performance.now() - t0);
      }
      if (i % 100 === 99) await tick();
    }
    const pp = (t: number[]) => ({ p50: percentile(t, 50), p95: percentile(t, 95) });
    const h = { index: pp(times[1]!), walk: pp(times[2]!) };
    return {
      models,
      ...pp(times[0]!),
      own: pp(times[3]!),
      hand: h,
      best: h.index.p50 <= h.walk.p50 ? "index" : "walk",
      rows: rows / DATASETS,
    };
  } finally {
    for (const c of Object.values(conns)) c.close();
  }
}

// ---------------------------------------------------------------- (a) durable operations

interface OpResult {
  name: string;
  n: number;
  ms: number;
  /** The raw one-event append it is compared with (operations on existing models). */
  raw?: { n: number; ms: number; bareMs: number };
  /** A short name for the verdict table. */
  short?: string;
  /** The time without the WAL checkpoints of its own writes (`ms` includes them). */
  bareMs?: number;
  /** Shown beside its raw append, not a target. */
  context?: boolean;
}

async function timeOps(name: string, n: number, fn: (i: number) => Promise<unknown>) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await fn(i);
    if (i % 500 === 499) await tick();
  }
  return { name, n, ms: performance.now() - t0 };
}

/** The shape of a raw append: the event's type and data, and the projection rows it implies. */
type RawOp = (
  i: number,
  modelId: string,
  at: string,
) => { type: string; data: unknown; projection: { sql: string; args: (string | number)[] }[] };

const RAW_ORIGIN = "benchraw0000000";

/**
 * The raw limit of a durable operation at the layer the store runs on (the native driver,
 * each statement prepared once): one `BEGIN IMMEDIATE` transaction on a separate connection
 * to the same file that inserts one event row with its checksum (a valid event, so `rebuild()`
 * and `doctor` take it like the others) and updates the projection rows it implies.
 */
function rawAppend(raw: NativeConnection, ids: string[], op: RawOp): (i: number) => Promise<void> {
  let wall = Date.now();
  const sql = prepared(raw);
  return async (i) => {
    const modelId = ids[i % ids.length]!;
    const at = formatHlc({ wall: wall++, counter: 0, origin: RAW_ORIGIN });
    const o = op(i, modelId, at);
    const e = {
      id: uuidv7(),
      stream: `model:${modelId}`,
      type: o.type,
      at,
      origin: RAW_ORIGIN,
      v: 1,
    };
    const data = JSON.stringify(o.data);
    sql("BEGIN IMMEDIATE").run();
    sql(
      `INSERT INTO events (id, stream, type, at, origin, v, actor, data, remote, checksum)
            VALUES (?, ?, ?, ?, ?, 1, 'bench', ?, 0, ?)`,
    ).run([e.id, e.stream, e.type, at, RAW_ORIGIN, data, eventChecksum(e, data)]);
    for (const st of o.projection) sql(st.sql).run(st.args);
    sql("COMMIT").run();
    await Promise.resolve();
  };
}

/** Operations per block when an operation and its raw baseline take turns. */
const BLOCK = 20;

/**
 * Times `n` calls of `op` against `n` of `base`, taking turns in blocks of {@link BLOCK} (the
 * side that goes first alternates), so that both meet the same load on a shared machine.
 *
 * After each block, `checkpoint` copies the WAL that block wrote back into the database, and
 * its time is charged to that side: each side pays for the checkpoint of the pages it wrote.
 * Left to SQLite's automatic checkpoint (every 1,000 WAL pages, a few ms each on a big store),
 * that work fell on whichever commit crossed the threshold: about ten times per thousand
 * operations, so a handful landing on one side or the other swung the ratio between 0.24x and
 * 0.95x from run to run. The time without checkpoints is kept too (`bareMs`).
 */
async function interleaved(
  name: string,
  n: number,
  op: (i: number) => Promise<unknown>,
  base: (i: number) => Promise<unknown>,
  checkpoint: () => void,
): Promise<OpResult> {
  const bare = [0, 0], ckpt = [0, 0];
  const sides = [op, base];
  for (let from = 0, turn = 0; from < n; from += BLOCK, turn++) {
    const to = Math.min(n, from + BLOCK);
    for (const side of turn % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      for (let i = from; i < to; i++) await sides[side]!(i);
      const t1 = performance.now();
      checkpoint();
      bare[side]! += t1 - t0;
      ckpt[side]! += performance.now() - t1;
    }
    await tick();
  }
  return {
    name,
    n,
    ms: bare[0]! + ckpt[0]!,
    bareMs: bare[0]!,
    raw: { n, ms: bare[1]! + ckpt[1]!, bareMs: bare[1]! },
  };
}

const touch = (modelId: string, at: string) => ({
  sql: "UPDATE models SET last_update = max(last_update, ?) WHERE id = ?",
  args: [at, modelId],
});

const RAW: Record<"metadata" | "tags" | "weights", RawOp> = {
  metadata: (i, modelId, at) => ({
    type: "model.metadata_changed",
    data: { set: { bench: { value: String(i), type: "int" } } },
    projection: [{
      sql: `INSERT INTO model_metadata (model_id, key, type, value, present, at)
            VALUES (?, 'bench', 'int', ?, 1, ?)
            ON CONFLICT (model_id, key) DO UPDATE SET type = excluded.type,
              value = excluded.value, present = 1, at = excluded.at`,
      args: [modelId, String(i), at],
    }, touch(modelId, at)],
  }),
  tags: (i, modelId, at) => ({
    type: "model.tags_changed",
    data: { add: [`r${i % 7}`] },
    projection: [{
      sql: `INSERT INTO model_tags (model_id, tag, present, at) VALUES (?, ?, 1, ?)
            ON CONFLICT (model_id, tag) DO UPDATE SET present = 1, at = excluded.at`,
      args: [modelId, `r${i % 7}`, at],
    }, touch(modelId, at)],
  }),
  weights: (i, modelId, at) => {
    const uri = `https://models.example.com/raw/${i}/final.pt`;
    return {
      type: "model.weights_updated",
      data: { uri, iteration: i },
      projection: [{
        sql: `UPDATE models SET uri = ?, iteration = ?, last_update = max(last_update, ?),
                clock = json_set(clock, '$.uri', ?, '$.iteration', ?) WHERE id = ?`,
        args: [uri, i, at, at, at, modelId],
      }],
    };
  },
};

async function measureOps(store: Store): Promise<OpResult[]> {
  const task = await Task.init({ projectName: "bench", taskName: "durable ops", store });
  const out: OpResult[] = [];
  const created: OutputModel[] = [];
  out.push(
    await timeOps("create: new OutputModel + first write (addTags)", OPS, async (i) => {
      const m = new OutputModel({ task, name: `bench-out-${i}` });
      await m.addTags("bench");
      created.push(m);
    }),
  );
  const stamp = Date.now();
  out.push(
    await timeOps("create: InputModel.importModel (new URL)", OPS, (i) =>
      InputModel.importModel({
        weightsUrl: `https://models.example.com/import/${stamp}/${i}.pt`,
        name: `bench-import-${i}`,
        store,
      })),
  );
  // Existing seeded models, spread over the whole store (loading them is not timed).
  const existing: Model[] = [];
  for (let i = 0; i < OPS; i++) {
    existing.push(await Model.get(Seeder.modelId(Math.floor((i * seeded) / OPS)), { store }));
  }
  const raw = nativeOn(store.path); // the store's connections' pragmas
  try {
    const checkpoint = () => void raw.exec("PRAGMA wal_checkpoint(PASSIVE)");
    const existingIds = existing.map((m) => m.id);
    const createdIds = created.map((m) => m.id);
    // Each operation and its raw append take turns, on the same models, same count.
    out.push({
      ...await interleaved(
        "setMetadata on an existing model",
        OPS,
        (i) => existing[i]!.setMetadata("bench", i),
        rawAppend(raw, existingIds, RAW.metadata),
        checkpoint,
      ),
      short: "setMetadata",
    });
    out.push({
      ...await interleaved(
        "addTags on an existing model",
        OPS,
        (i) => existing[i]!.addTags(`b${i % 7}`),
        rawAppend(raw, existingIds, RAW.tags),
        checkpoint,
      ),
      short: "addTags",
    });
    out.push({
      ...await interleaved(
        "updateWeights({ registerUri }) on an existing model",
        OPS,
        (i) =>
          created[i]!.updateWeights({
            registerUri: `https://models.example.com/bench/${i}/final.pt`,
            iteration: i,
          }),
        rawAppend(raw, createdIds, RAW.weights),
        checkpoint,
      ),
      short: "updateWeights(registerUri)",
    });
    // A training loop's pattern: the same model again and again, whose rows the store keeps
    // from its own last edit (no read). Context, not a target: the target's rows edit each
    // model once.
    const one = created[0]!;
    out.push({
      ...await interleaved(
        "updateWeights({ registerUri }) on one model, again and again",
        OPS,
        (i) =>
          one.updateWeights({
            registerUri: `https://models.example.com/loop/${i}/final.pt`,
            iteration: i,
          }),
        rawAppend(raw, [one.id], RAW.weights),
        checkpoint,
      ),
      short: "updateWeights, one model",
      context: true,
    });
  } finally {
    raw.close();
  }
  await task.close();
  return out;
}

// ---------------------------------------------------------------- main

const home = await Deno.makeTempDir({ prefix: "modelog-bench-" });
log(
  `scale ${SCALE}: ${fmt(SMALL)} then ${fmt(BIG)} models, ${EVENTS_PER_MODEL} events per model, ` +
    `${QUERY_RUNS} query runs per side, ${OPS} ops each; store in ${home}`,
);
const store = await openStore({ home });
let failed = false;
try {
  await seedTo(store, SMALL);
  log("querying at", fmt(SMALL));
  const q10 = await measureQuery(store, SMALL);
  await seedTo(store, BIG);
  log("querying at", fmt(BIG));
  const q100 = await measureQuery(store, BIG);
  log("durable operations");
  const ops = await measureOps(store);
  for (const o of ops) {
    const per = (x: { n: number; ms: number }) => `${fmt(x.n / (x.ms / 1000))} ops/s`;
    log(`${o.name}: ${per(o)}${o.raw ? `, raw ${per(o.raw)}, ${fmt(o.raw.ms / o.ms, 2)}x` : ""}`);
  }
  log("rebuild");
  const rb = await store.rebuild();
  log("the floor under it: the log read once, the final rows written once");
  const floorMs = rebuildFloor(store.path);
  const dbSize = (await Deno.stat(store.path)).size;

  const growth = q100.p50 / q10.p50;
  const rebuildRate = rb.events / (rb.ms / 1000);
  const targets: Target[] = [];
  const target = (t: Omit<Target, "bench">) => {
    const full = verdict({ bench: "store", ...t });
    targets.push(full);
    if (!full.pass) failed = true;
  };
  const rows: string[][] = [];
  for (const o of ops) {
    const rate = o.n / (o.ms / 1000);
    rows.push([`(a) ${o.name}`, `${fmt(rate)} ops/s (${fmt(o.ms / o.n, 3)} ms each)`, "-", "info"]);
    if (!o.raw) continue;
    const rawRate = o.raw.n / (o.raw.ms / 1000);
    rows.push([
      `(a) raw one-event append by hand, native driver (for ${o.short})`,
      `${fmt(rawRate)} ops/s (${fmt(o.raw.ms / o.raw.n, 3)} ms each)`,
      "-",
      "info",
    ]);
    const us = (ms: number) => fmt((ms * 1000) / o.n, 1);
    rows.push([
      `(a) of which WAL checkpoint of its own writes (for ${o.short})`,
      `modelog ${us(o.ms - o.bareMs!)} µs, raw ${us(o.raw.ms - o.raw.bareMs)} µs per operation; ` +
      `without them ${fmt(o.raw.bareMs / o.bareMs!, 2)}x`,
      "-",
      "info",
    ]);
    if (o.context) {
      rows.push([
        `(a) durable ${o.short} / raw one-event append (context)`,
        `${fmt(rate / rawRate, 2)}x`,
        "-",
        "info",
      ]);
      continue;
    }
    target({
      name: `durable ${o.short} / raw one-event append`,
      figure: `${fmt(rate)} ops/s`,
      baseline: `${fmt(rawRate)} ops/s`,
      ratio: `${fmt(rate / rawRate, 2)}x`,
      goal: ">= 0.5x",
      pass: rate / rawRate >= 0.5,
    });
  }
  for (const q of [q100, q10]) {
    const tag = q === q100 ? "(b)" : "(c)";
    const base = q.hand[q.best];
    rows.push([
      `${tag} queryModels tags+metadata, ${fmt(q.models)} models (page ${PAGE}, ~${
        fmt(q.rows, 1)
      } rows)`,
      `p50 ${fmt(q.p50, 3)} ms, p95 ${fmt(q.p95, 3)} ms`,
      "-",
      "info",
    ]);
    rows.push([
      `${tag} queryModels' own SQL on the raw client, ${fmt(q.models)} models`,
      `p50 ${fmt(q.own.p50, 3)} ms, p95 ${fmt(q.own.p95, 3)} ms`,
      "-",
      "info",
    ]);
    for (const plan of ["index", "walk"] as const) {
      rows.push([
        `${tag} hand SQL (${plan} plan${plan === q.best ? ", baseline" : ""}), ${
          fmt(q.models)
        } models`,
        `p50 ${fmt(q.hand[plan].p50, 3)} ms, p95 ${fmt(q.hand[plan].p95, 3)} ms`,
        "-",
        "info",
      ]);
    }
    const ratio = q.p50 / base.p50;
    target({
      name: `queryModels / hand SQL (p50), ${fmt(q.models)} models`,
      figure: `${fmt(q.p50, 3)} ms`,
      baseline: `${fmt(base.p50, 3)} ms`,
      ratio: `${fmt(ratio, 2)}x`,
      goal: "<= 1.5x",
      pass: ratio <= 1.5,
    });
  }
  target({
    name: `queryModels p50 ${fmt(BIG)} / ${fmt(SMALL)} models`,
    figure: `${fmt(q100.p50, 3)} ms`,
    baseline: `${fmt(q10.p50, 3)} ms`,
    ratio: `${fmt(growth, 2)}x`,
    goal: "<= 3x",
    pass: growth <= 3,
  });
  target({
    name: `rebuild() of ${fmt(rb.events)} events`,
    figure: `${fmt(rebuildRate)} events/s (${fmt(rb.ms / 1000, 1)} s)`,
    baseline: `${fmt(rb.events / (floorMs / 1000))} events/s floor (${fmt(floorMs / 1000, 1)} s)`,
    ratio: `${fmt(floorMs / rb.ms, 2)}x`,
    goal: ">= 100,000 events/s",
    pass: rebuildRate >= 100_000,
  });
  rows.push([
    `seeding: store.ingest() in batches of ${fmt(INGEST_BATCH)} events`,
    `${fmt(ingested / (ingestMs / 1000))} events/s (${fmt(ingested)} events)`,
    "-",
    "info",
  ]);
  rows.push(["database file", `${fmt(dbSize / 1e6, 1)} MB`, "-", "info"]);
  console.log(
    `\nmodelog store bench (scale ${SCALE}, Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})\n`,
  );
  console.log(table(["measure", "result", "target", "verdict"], rows));
  console.log("");
  console.log(verdictTable(targets));
} finally {
  await store.close();
  if (Deno.env.get("BENCH_KEEP") === "1") log("kept", home);
  else await Deno.remove(home, { recursive: true });
}
if (failed) console.log("\nsome targets were missed (see MISS above)");

/**
 * The floor under `rebuild()` at the layer the store runs on, in ms: on one native connection,
 * the log read once in the rebuild's pages (its page query, each page parsed), then the final
 * projection rows written once, row by row, into empty copies of their tables with their
 * indexes (one `INSERT … SELECT` per table, in one transaction), which are dropped again. No fold, no
 * scratch file, no pauses for other writers: what any rebuild of this store must at least do.
 */
function rebuildFloor(path: string): number {
  const db = nativeOn(path);
  const sql = prepared(db);
  try {
    const t0 = performance.now();
    const page = sql(PAGE_JSON_SQL);
    for (let after = 0;;) {
      const rows = JSON.parse(String((page.get(after, 10_000) as { page: string }).page)) as [
        number,
      ][];
      if (rows.length === 0) break;
      after = rows[rows.length - 1]![0];
    }
    db.exec("BEGIN IMMEDIATE");
    for (const t of PROJECTION_TABLES) {
      const defs = db.prepare(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL",
      ).all(t.name) as { type: string; sql: string }[];
      const named = (text: string) =>
        text.replace(
          /^(CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?)("?)(\w+)\2/i,
          "$1floor_$3",
        );
      for (const d of defs.filter((d) => d.type === "table")) db.exec(named(d.sql));
      for (const d of defs.filter((d) => d.type === "index")) {
        db.exec(named(d.sql).replace(/\bON\s+("?)(\w+)\1/i, "ON floor_$2"));
      }
      // `WHERE true`: without it SQLite copies the table's records and its built indexes as
      // they are (its transfer optimisation), which no rebuild, writing rows it folded, can do.
      db.exec(`INSERT INTO floor_${t.name} SELECT * FROM ${t.name} WHERE true`);
    }
    db.exec("COMMIT");
    const ms = performance.now() - t0;
    db.exec("BEGIN IMMEDIATE");
    for (const t of PROJECTION_TABLES) db.exec(`DROP TABLE floor_${t.name}`);
    db.exec("COMMIT");
    return ms;
  } finally {
    db.close();
  }
}
