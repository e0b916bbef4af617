/**
 * The report benchmark (`npx -y deno@2.9.6 run -A bench/reports_bench.ts`), one run, one table.
 *
 * The baseline is the honest limit of modelog's own design, not a different design: a
 * hand-packed writer of the same JSON (`metric.scalars` events of 5,000 points each, the store's
 * `pointsPerEvent`), into the same tables (the `events` row with the checksum every event row
 * carries, which `doctor` and sync verify, plus the `metric_chunks` row of every event and the
 * `scalar_series` upsert, the model row's `last_update` and the clock's `max_at` mark: what a
 * file needs to pass `doctor`), with the same transaction batching (one
 * `BEGIN IMMEDIATE` transaction per 20,000 points, the store's `reportBatchPoints`), written
 * directly at the layer the store runs on, on a file whose schema a store created: a connection
 * of the native driver (`libsql`) with the store's pragmas (`synchronous = NORMAL`, its page
 * cache), each statement prepared once (one per multi-row size); and a hand reader of the same
 * packed rows on such a connection (the chunk refs by series, the events' JSON, its statement
 * prepared once and its rows read as arrays, raw mode; parsed into sorted `x`/`y` arrays with
 * the last report of an iteration winning).
 *
 * - (a) writes: 1,000,000 scalars (4 series × 250,000 iterations) through `reportScalar` then
 *   `flush()`, in points/s, against the hand-packed writer; best of 5 rounds each (timings on a
 *   shared machine are noisy; both sides get the same rounds), alternating which side goes
 *   first, every round on fresh files. Target >= 0.8x.
 * - (b) peak memory (VmHWM) of a child process that reports 10,000,000 scalars, awaiting
 *   `reportScalar`'s return value when it is a promise (the back-pressure contract), then
 *   flushes. Target < 300 MB.
 * - (c) reads: 1,000,000 points of one series through `getReportedScalars({ title, series })`,
 *   and through `iterateReportedScalars` (pages of 10,000, counted), best of 5 each (a
 *   garbage collection of the 1M-point arrays falls in one round or another: with 3, a run
 *   read 0.78x where runs alone read 0.97-1.26x), against the hand reader (the whole series
 *   at once) on the same file. Target >= 0.8x each.
 * - (d) peak memory (VmHWM from `/proc/self/status`) of a child process that reads those
 *   1,000,000 points through the streaming reader `iterateReportedScalars` (pages of 10,000
 *   points, iterated with `for await`); the child's VmHWM before reading is the baseline.
 *   Target < 200 MB.
 *
 * Environment: `BENCH_SCALE` (multiplies every size; default 1, 0.1 with `BENCH_QUICK=1`),
 * `BENCH_WRITE_POINTS`, `BENCH_MEM_POINTS`, `BENCH_READ_POINTS` (override one size each),
 * `BENCH_KEEP=1` keeps the temp dir. Prints one `VERDICT {json}` line per target.
 *
 * @module
 */
import { Model, openStore, OutputModel, Task } from "../mod.ts";
import type { NativeConnection, NativeStatement } from "../lib/deps.ts";
import { formatHlc, uuidv7 } from "../lib/clock.ts";
import { eventChecksum } from "../lib/store/log.ts";
import { envSize, fmt, type Target, tick, verdict, verdictTable, vmHwmKb } from "./stats.ts";
import { nativeOn, prepared } from "./native.ts";
import { join } from "node:path";

const SCALE = envSize("BENCH_SCALE", 1);
const N_WRITE = Math.round(envSize("BENCH_WRITE_POINTS", 1_000_000 * SCALE, 1_000_000 * SCALE));
const N_MEM = Math.round(envSize("BENCH_MEM_POINTS", 10_000_000 * SCALE, 10_000_000 * SCALE));
const N_READ = Math.round(envSize("BENCH_READ_POINTS", 1_000_000 * SCALE, 1_000_000 * SCALE));
/** The store's defaults the hand writer mirrors. */
const POINTS_PER_EVENT = 5_000;
const POINTS_PER_TX = 20_000;
const SERIES: [string, string][] = [
  ["loss", "train"],
  ["loss", "val"],
  ["accuracy", "top1"],
  ["lr", "schedule"],
];

function value(i: number): number {
  return Math.sin(i / 1000) + i * 1e-6;
}

async function newModel(home: string, name: string) {
  const store = await openStore({ home });
  const task = await Task.init({ projectName: "bench", taskName: name, store });
  const model = new OutputModel({ task, name });
  await model.setComment("bench"); // create it, so reports go straight to the queue
  return { store, task, model };
}

/** Runs a child of this script and returns its `done …` line's numbers and its peak RSS. */
async function runChild(args: string[]): Promise<{ nums: number[]; peakKb: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, vmHwmKb(child.pid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const out = await child.output();
  running = false;
  await sampler;
  if (!out.success) throw new Error(`child ${args[0]} failed with code ${out.code}`);
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("done"));
  if (!line) throw new Error(`child ${args[0]} printed no result`);
  const nums = line.split(" ").slice(1).map(Number);
  return { nums, peakKb: Math.max(peak, nums[nums.length - 1]!) };
}

// ---------------------------------------------------------------- (b) memory while reporting

/** The child: reports N scalars with back-pressure, flushes, prints its own VmHWM. */
async function memChild(home: string, n: number): Promise<void> {
  const { store, task, model } = await newModel(home, "mem");
  const per = Math.ceil(n / SERIES.length);
  const t0 = performance.now();
  for (let it = 0; it < per; it++) {
    for (const [title, series] of SERIES) {
      const r = model.reportScalar(title, series, value(it), it);
      if (r) await r;
    }
  }
  await model.flush();
  const ms = performance.now() - t0;
  console.log(`done ${per * SERIES.length} ${ms} ${vmHwmKb("self")}`);
  await task.close();
  await store.close();
}

async function benchMemory(dir: string): Promise<{ peakMb: number; rate: number }> {
  const { nums: [n, ms], peakKb } = await runChild(["--mem-child", join(dir, "mem"), `${N_MEM}`]);
  return { peakMb: peakKb / 1024, rate: n! / (ms! / 1000) };
}

// ---------------------------------------------------------------- (a) writes

/** A finished chunk: one `metric.scalars` event. */
interface HandChunk {
  title: string;
  series: string;
  iters: number[];
  values: number[];
  at: string;
}

/**
 * The hand-packed writer: points packed into 5,000-point events, every 20,000 points one
 * transaction writing the events, their chunk rows and the series summaries.
 */
class HandWriter {
  #pending: HandChunk[] = [];
  /** The chunk being filled, by title then series. */
  #cur = new Map<string, Map<string, HandChunk>>();
  #count = 0;
  #wall = Date.now();
  #counter = 0;
  #txs = 0;
  /** The connection's statements, each prepared once (one per multi-row size). */
  readonly #sql: (sql: string) => NativeStatement;
  readonly #modelId: string;
  readonly #origin = "benchhand000000";

  constructor(c: NativeConnection, modelId: string) {
    this.#sql = prepared(c);
    this.#modelId = modelId;
  }

  #now(): string {
    return formatHlc({ wall: this.#wall, counter: this.#counter++, origin: this.#origin });
  }

  /** Queues a point; returns a promise (to await) only when it starts a transaction. */
  point(title: string, series: string, v: number, iteration: number): void | Promise<void> {
    if (!Number.isFinite(v) || !Number.isSafeInteger(iteration)) throw new Error("bad point");
    let t = this.#cur.get(title);
    if (!t) this.#cur.set(title, t = new Map());
    let c = t.get(series);
    if (!c || c.iters.length >= POINTS_PER_EVENT) {
      c = { title, series, iters: [], values: [], at: this.#now() };
      t.set(series, c);
      this.#pending.push(c);
    }
    c.iters.push(iteration);
    c.values.push(v);
    if (++this.#count >= POINTS_PER_TX) return this.flush();
  }

  async flush(): Promise<void> {
    const chunks = this.#pending;
    if (chunks.length === 0) return;
    this.#pending = [];
    this.#cur.clear();
    this.#count = 0;
    const stream = `model:${this.#modelId}`;
    const evArgs: (string | number)[] = [];
    const chArgs: (string | number)[] = [];
    const series = new Map<string, (string | number | null)[]>();
    for (const c of chunks) {
      const id = uuidv7();
      const data = JSON.stringify({
        title: c.title,
        series: c.series,
        iters: c.iters,
        values: c.values,
      });
      // The checksum every event row carries (doctor and sync check it): required work.
      const sum = eventChecksum(
        { id, stream, type: "metric.scalars", at: c.at, origin: this.#origin, v: 1 },
        data,
      );
      evArgs.push(id, stream, "metric.scalars", c.at, this.#origin, "bench", data, sum);
      let lo = Infinity, hi = -Infinity, min = Infinity, max = -Infinity;
      for (let i = 0; i < c.iters.length; i++) {
        const it = c.iters[i]!, v = c.values[i]!;
        if (it < lo) lo = it;
        if (it > hi) hi = it;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const n = c.iters.length;
      chArgs.push(id, this.#modelId, c.title, c.series, n, lo, hi, c.at);
      const k = c.title + "\u0000" + c.series;
      const s = series.get(k);
      const last = JSON.stringify(c.values[n - 1]);
      if (!s) {
        series.set(k, [
          this.#modelId,
          c.title,
          c.series,
          n,
          min,
          max,
          last,
          c.iters[n - 1]!,
          c.at,
          hi,
        ]);
      } else {
        s[3] = (s[3] as number) + n;
        s[4] = Math.min(s[4] as number, min);
        s[5] = Math.max(s[5] as number, max);
        s[6] = last;
        s[7] = c.iters[n - 1]!;
        s[8] = c.at;
        s[9] = Math.max(s[9] as number, hi);
      }
    }
    const tuples = (n: number, t: string) => Array.from({ length: n }, () => t).join(",");
    const sql = this.#sql;
    sql("BEGIN IMMEDIATE").run();
    sql(
      `INSERT INTO events (id, stream, type, at, origin, v, actor, data, remote, checksum) VALUES ${
        tuples(chunks.length, "(?,?,?,?,?,1,?,?,0,?)")
      }`,
    ).run(evArgs);
    sql(
      `INSERT INTO metric_chunks (event_id, model_id, title, series, n, min_iter, max_iter, at)
            VALUES ${tuples(chunks.length, "(?,?,?,?,?,?,?,?)")}`,
    ).run(chArgs);
    sql(
      `INSERT INTO scalar_series
              (model_id, title, series, count, min, max, last, last_iter, last_at, max_iter)
            VALUES ${tuples(series.size, "(?,?,?,?,?,?,?,?,?,?)")}
            ON CONFLICT (model_id, title, series) DO UPDATE SET
              count = count + excluded.count,
              min = min(coalesce(min, excluded.min), excluded.min),
              max = max(coalesce(max, excluded.max), excluded.max),
              last = CASE WHEN excluded.last_at > last_at THEN excluded.last ELSE last END,
              last_iter = CASE WHEN excluded.last_at > last_at
                THEN excluded.last_iter ELSE last_iter END,
              last_at = max(last_at, excluded.last_at),
              max_iter = max(max_iter, excluded.max_iter)`,
    ).run([...series.values()].flat());
    // The model row's `last_update` (the newest HLC of its events) and the store's clock mark:
    // without them the file fails `doctor` (its projections would differ from a replay).
    let maxAt = "";
    for (const c of chunks) if (c.at > maxAt) maxAt = c.at;
    sql("UPDATE models SET last_update = max(last_update, ?) WHERE id = ?")
      .run([maxAt, this.#modelId]);
    sql(
      `INSERT INTO meta(key, value) VALUES ('max_at', ?)
            ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)`,
    ).run([maxAt]);
    sql("COMMIT").run();
    // Like the store's back-pressure: now and then let the event loop turn.
    if (++this.#txs % 5 === 0) await tick();
  }
}

/** One modelog write round on a fresh store: reportScalar, then flush; returns ms. */
async function modelogWrite(home: string, per: number): Promise<number> {
  const { store, task, model } = await newModel(home, "write");
  const t0 = performance.now();
  for (const [title, series] of SERIES) {
    for (let it = 0; it < per; it++) {
      const r = model.reportScalar(title, series, value(it), it);
      if (r) await r;
    }
  }
  await model.flush();
  const ms = performance.now() - t0;
  await task.close();
  await store.close();
  return ms;
}

/** One hand-written round on a fresh store file (same schema); returns ms, checks the rows. */
async function handWrite(home: string, per: number): Promise<number> {
  const h = await newModel(home, "hand");
  const modelId = h.model.id;
  const path = h.store.path;
  await h.task.close();
  await h.store.close();
  const c = nativeOn(path); // the store's connections' pragmas
  const w = new HandWriter(c, modelId);
  const t0 = performance.now();
  for (const [title, series] of SERIES) {
    for (let it = 0; it < per; it++) {
      const r = w.point(title, series, value(it), it);
      if (r) await r;
    }
  }
  await w.flush();
  const ms = performance.now() - t0;
  c.close();
  // The hand-written file reads back through modelog as the same series.
  const check = await openStore({ home });
  try {
    const got = await (await Model.get(modelId, { store: check })).getReportedScalars();
    if (got.loss?.train?.x.length !== per) throw new Error("the hand writer's rows do not read");
  } finally {
    await check.close();
  }
  return ms;
}

/** Best of 5 rounds per side, alternating which goes first, each round on fresh files. */
async function benchWrite(dir: string): Promise<{ reportRate: number; handRate: number }> {
  const per = Math.ceil(N_WRITE / SERIES.length);
  let reportMs = Infinity;
  let handMs = Infinity;
  for (let round = 0; round < 5; round++) {
    const sides = [
      async () =>
        reportMs = Math.min(reportMs, await modelogWrite(join(dir, `write-${round}`), per)),
      async () => handMs = Math.min(handMs, await handWrite(join(dir, `hand-${round}`), per)),
    ];
    if (round % 2 === 1) sides.reverse();
    for (const side of sides) {
      await side();
      await tick();
    }
    await Deno.remove(join(dir, `write-${round}`), { recursive: true });
    await Deno.remove(join(dir, `hand-${round}`), { recursive: true });
  }
  const n = per * SERIES.length;
  return { reportRate: n / (reportMs / 1000), handRate: n / (handMs / 1000) };
}

// ---------------------------------------------------------------- (c) reads

/**
 * The hand reader: chunk refs of the series, the events' JSON, into sorted x/y arrays. `sql`
 * keeps its statements prepared and returns rows as arrays (raw mode).
 */
async function handRead(
  sql: (sql: string) => NativeStatement,
  modelId: string,
  title: string,
  series: string,
): Promise<{ x: number[]; y: number[] }> {
  await Promise.resolve();
  const rows = sql(
    `SELECT e.data FROM metric_chunks m JOIN events e ON e.id = m.event_id
          WHERE m.model_id = ? AND m.title = ? AND m.series = ? ORDER BY m.at`,
  ).all([modelId, title, series]) as unknown[][];
  // Chunk arrays are taken whole (no per-point copy) when their points are numbers; order is
  // checked on the way, as any correct reader must.
  const xs: number[][] = [];
  const ys: number[][] = [];
  let ordered = true;
  let prev = -Infinity;
  for (const row of rows) {
    const d = JSON.parse(row[0] as string) as { iters: number[]; values: (number | string)[] };
    const iters = d.iters;
    for (let i = 0; i < iters.length; i++) {
      if (iters[i]! <= prev) ordered = false;
      prev = iters[i]!;
    }
    let plain = true;
    for (const v of d.values) {
      if (typeof v !== "number") {
        plain = false;
        break;
      }
    }
    xs.push(iters);
    ys.push(
      plain ? d.values as number[] : d.values.map((v) => typeof v === "number" ? v : Number(v)),
    );
  }
  const x = xs.length === 1 ? xs[0]! : ([] as number[]).concat(...xs);
  const y = ys.length === 1 ? ys[0]! : ([] as number[]).concat(...ys);
  if (ordered) return { x, y };
  // Out of order or repeated iterations: the last report wins, sorted by iteration.
  const last = new Map<number, number>();
  for (let i = 0; i < x.length; i++) last.set(x[i]!, y[i]!);
  const keys = [...last.keys()].sort((a, b) => a - b);
  return { x: keys, y: keys.map((k) => last.get(k)!) };
}

async function benchRead(
  dir: string,
): Promise<
  { readRate: number; pagesRate: number; handRate: number; home: string; modelId: string }
> {
  const home = join(dir, "read");
  const { store, task, model } = await newModel(home, "read");
  for (let it = 0; it < N_READ; it++) {
    const r = model.reportScalar("read", "one", value(it), it);
    if (r) await r;
  }
  await model.flush();
  const modelId = model.id;
  const c = nativeOn(store.path); // the store's connections' pragmas
  const sql = prepared(c, { raw: true });
  // Interleaved, best of 5 each (the first round also warms the page cache for both).
  let best = Infinity;
  let handBest = Infinity;
  let pagesBest = Infinity;
  try {
    for (let i = 0; i < 5; i++) {
      let t0 = performance.now();
      const got = await model.getReportedScalars({ title: "read", series: "one" });
      best = Math.min(best, performance.now() - t0);
      if (got.read?.one?.x.length !== N_READ) throw new Error("modelog read the wrong count");
      await tick();
      t0 = performance.now();
      let n = 0;
      for await (const page of model.iterateReportedScalars({ title: "read", series: "one" })) {
        n += page.x.length;
      }
      pagesBest = Math.min(pagesBest, performance.now() - t0);
      if (n !== N_READ) throw new Error("iterateReportedScalars read the wrong count");
      await tick();
      t0 = performance.now();
      const hand = await handRead(sql, modelId, "read", "one");
      handBest = Math.min(handBest, performance.now() - t0);
      if (hand.x.length !== N_READ || hand.y[N_READ - 1] !== got.read.one.y[N_READ - 1]) {
        throw new Error("the hand reader disagrees with getReportedScalars");
      }
      await tick();
    }
  } finally {
    c.close();
    await task.close();
    await store.close();
  }
  return {
    readRate: N_READ / (best / 1000),
    pagesRate: N_READ / (pagesBest / 1000),
    handRate: N_READ / (handBest / 1000),
    home,
    modelId,
  };
}

// ---------------------------------------------------------------- (d) memory while reading

/** The child: opens the store, reads the series through `iterateReportedScalars`, prints its VmHWM. */
async function readChild(home: string, modelId: string): Promise<void> {
  const store = await openStore({ home });
  const model = await Model.get(modelId, { store });
  const before = vmHwmKb("self");
  const t0 = performance.now();
  let n = 0;
  let last = NaN;
  for await (const page of model.iterateReportedScalars({ title: "read", series: "one" })) {
    n += page.x.length;
    last = page.y[page.y.length - 1]!;
  }
  const ms = performance.now() - t0;
  await store.close();
  if (last !== value(n - 1)) throw new Error("the streaming reader's last point is wrong");
  console.log(`done ${n} ${ms} ${before} ${vmHwmKb("self")}`);
}

async function benchReadMemory(home: string, modelId: string) {
  const { nums: [n, ms, beforeKb], peakKb } = await runChild([
    "--read-child",
    home,
    modelId,
  ]);
  if (n !== N_READ) throw new Error(`the reading child read ${n} points, not ${N_READ}`);
  return {
    peakMb: peakKb / 1024,
    beforeMb: beforeKb! / 1024,
    rate: n! / (ms! / 1000),
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "modelog-reports-bench-" });
  try {
    console.error(`[reports] write ${fmt(N_WRITE)} points`);
    const w = await benchWrite(dir);
    console.error(`[reports] report ${fmt(N_MEM)} points in a child`);
    const m = await benchMemory(dir);
    console.error(`[reports] read ${fmt(N_READ)} points`);
    const r = await benchRead(dir);
    const rm = await benchReadMemory(r.home, r.modelId);
    const wRatio = w.reportRate / w.handRate;
    const rRatio = r.readRate / r.handRate;
    const pRatio = r.pagesRate / r.handRate;
    console.log(
      `\nmodelog reports bench (scale ${SCALE}; Deno ${Deno.version.deno}; ${Deno.build.target})\n`,
    );
    const targets = [
      verdict({
        bench: "reports",
        name: `write ${fmt(N_WRITE)} scalars (report + flush) / hand-packed writer`,
        figure: `${fmt(w.reportRate)} pts/s`,
        baseline: `${fmt(w.handRate)} pts/s`,
        ratio: `${fmt(wRatio, 2)}x`,
        goal: ">= 0.8x",
        pass: wRatio >= 0.8,
      }),
      verdict({
        bench: "reports",
        name: `peak RSS reporting ${fmt(N_MEM)} scalars (child)`,
        figure: `${fmt(m.peakMb)} MB`,
        baseline: `(${fmt(m.rate)} pts/s)`,
        ratio: "-",
        goal: "< 300 MB",
        pass: m.peakMb < 300,
      }),
      verdict({
        bench: "reports",
        name: `read ${fmt(N_READ)} points of one series / hand reader`,
        figure: `${fmt(r.readRate)} pts/s`,
        baseline: `${fmt(r.handRate)} pts/s`,
        ratio: `${fmt(rRatio, 2)}x`,
        goal: ">= 0.8x",
        pass: rRatio >= 0.8,
      }),
      verdict({
        bench: "reports",
        name: `read ${fmt(N_READ)} points via iterateReportedScalars / hand reader`,
        figure: `${fmt(r.pagesRate)} pts/s`,
        baseline: `${fmt(r.handRate)} pts/s`,
        ratio: `${fmt(pRatio, 2)}x`,
        goal: ">= 0.8x",
        pass: pRatio >= 0.8,
      }),
      verdict({
        bench: "reports",
        name: `peak RSS reading ${fmt(N_READ)} points via iterateReportedScalars (child)`,
        figure: `${fmt(rm.peakMb)} MB`,
        baseline: `${fmt(rm.beforeMb)} MB before reading`,
        ratio: "-",
        goal: "< 200 MB",
        pass: rm.peakMb < 200,
      }),
    ] satisfies Target[];
    console.log(verdictTable(targets));
  } finally {
    if (Deno.env.get("BENCH_KEEP") === "1") console.log(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args[0] === "--mem-child") {
  await memChild(Deno.args[1]!, Number(Deno.args[2]));
} else if (Deno.args[0] === "--read-child") {
  await readChild(Deno.args[1]!, Deno.args[2]!);
} else {
  await main();
}
