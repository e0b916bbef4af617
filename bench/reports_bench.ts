/**
 * The report benchmark (`npx -y deno@2.9.6 run -A bench/reports_bench.ts`), one run, one table:
 *
 * - (a) `reportScalar` throughput: 1,000,000 scalars (4 series × 250,000 iterations) reported
 *   on one model, then `flush()`, in points/s, next to the raw limit of the same client: a
 *   multi-row `INSERT … VALUES (…),(…)` (500 rows per statement, inside one write transaction,
 *   WAL + synchronous=NORMAL) of the same 1,000,000 (model, title, series, iteration, value) rows
 *   into a plain table through the same `@libsql/client`. Target ratio ≥ 0.5.
 * - (b) peak memory (VmHWM, sampled from `/proc/<pid>/status`) of a child process that reports
 *   10,000,000 scalars, awaiting `reportScalar`'s return value when it is a promise (the
 *   back-pressure contract), then flushes. Target < 300 MB.
 * - (c) reading back 1,000,000 points of one series (`getReportedScalars({ title, series })`) in
 *   points/s, next to a plain `SELECT` of 1,000,000 one-point rows through the same client.
 *   Target ≥ 5x faster.
 *
 * Environment: `BENCH_SCALE` (default 1; 0.1 = a quick run), `BENCH_KEEP=1` keeps the temp dir.
 *
 * @module
 */
import { openStore, OutputModel, Task } from "../mod.ts";
import { createClient } from "../lib/deps.ts";
import { fmt, table, tick } from "./stats.ts";
import { join } from "node:path";

const scaleEnv = Deno.env.get("BENCH_SCALE");
const SCALE = scaleEnv ? Number(scaleEnv) : 1;
if (!Number.isFinite(SCALE) || SCALE <= 0) throw new Error(`BENCH_SCALE must be > 0`);
const N_WRITE = Math.round(1_000_000 * SCALE);
const N_MEM = Math.round(10_000_000 * SCALE);
const N_READ = Math.round(1_000_000 * SCALE);
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

/** (b) The child: reports N scalars with back-pressure, flushes, prints its own VmHWM. */
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
  console.log(`done ${per * SERIES.length} ${ms} ${await vmHwmKb(Deno.pid)}`);
  await task.close();
  await store.close();
}

async function vmHwmKb(pid: number): Promise<number> {
  try {
    const s = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)\s+kB/.exec(s)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function benchWrite(dir: string): Promise<{ reportRate: number; rawRate: number }> {
  // modelog: reportScalar, then flush.
  const { store, task, model } = await newModel(join(dir, "write"), "write");
  const per = N_WRITE / SERIES.length;
  const t0 = performance.now();
  for (const [title, series] of SERIES) {
    for (let it = 0; it < per; it++) {
      const r = model.reportScalar(title, series, value(it), it);
      if (r) await r;
    }
  }
  await model.flush();
  const reportMs = performance.now() - t0;
  const modelId = model.id;
  await task.close();
  await store.close();

  // Raw: the same rows, multi-row INSERT of 500 rows per statement in one write transaction.
  const path = join(dir, "raw-write.db");
  const c = createClient({ url: "file:" + path });
  await c.execute("PRAGMA journal_mode = WAL");
  await c.execute("PRAGMA synchronous = NORMAL");
  await c.execute(
    "CREATE TABLE raw (model TEXT, title TEXT, series TEXT, iteration INTEGER, value REAL)",
  );
  const ROWS = 500;
  const tuple = "(?,?,?,?,?)";
  const sql = `INSERT INTO raw (model, title, series, iteration, value) VALUES ${
    Array.from({ length: ROWS }, () => tuple).join(",")
  }`;
  const t1 = performance.now();
  await c.execute("BEGIN IMMEDIATE");
  let stmts = 0;
  for (const [title, series] of SERIES) {
    for (let it = 0; it < per; it += ROWS) {
      const args: (string | number)[] = [];
      const end = Math.min(per, it + ROWS);
      for (let i = it; i < end; i++) args.push(modelId, title, series, i, value(i));
      if (end - it === ROWS) await c.execute({ sql, args });
      else {
        await c.execute({
          sql: `INSERT INTO raw (model, title, series, iteration, value) VALUES ${
            Array.from({ length: end - it }, () => tuple).join(",")
          }`,
          args,
        });
      }
      if (++stmts % 200 === 0) await tick(); // let the client free native statement memory
    }
  }
  await c.execute("COMMIT");
  const rawMs = performance.now() - t1;
  c.close();
  return { reportRate: N_WRITE / (reportMs / 1000), rawRate: N_WRITE / (rawMs / 1000) };
}

async function benchMemory(dir: string): Promise<{ peakMb: number; rate: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--mem-child", join(dir, "mem"), String(N_MEM)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await vmHwmKb(child.pid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const out = await child.output();
  running = false;
  await sampler;
  if (!out.success) throw new Error(`memory child failed with code ${out.code}`);
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("done"));
  if (!line) throw new Error("memory child printed no result");
  const [, n, ms, hwm] = line.split(" ").map(Number) as [unknown, number, number, number];
  peak = Math.max(peak, hwm);
  return { peakMb: peak / 1024, rate: n / (ms / 1000) };
}

async function benchRead(dir: string): Promise<{ readRate: number; rawRate: number }> {
  const { store, task, model } = await newModel(join(dir, "read"), "read");
  for (let it = 0; it < N_READ; it++) {
    const r = model.reportScalar("read", "one", value(it), it);
    if (r) await r;
  }
  await model.flush();
  // Best of 3 (the first run also warms the page cache, as the raw side's setup does).
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const got = await model.getReportedScalars({ title: "read", series: "one" });
    const ms = performance.now() - t0;
    if (got.read?.one?.x.length !== N_READ) throw new Error("read back the wrong number of points");
    best = Math.min(best, ms);
    await tick();
  }
  const modelId = model.id;
  await task.close();
  await store.close();

  const path = join(dir, "raw-read.db");
  const c = createClient({ url: "file:" + path });
  await c.execute("PRAGMA journal_mode = WAL");
  await c.execute("PRAGMA synchronous = NORMAL");
  await c.execute(
    "CREATE TABLE raw (model TEXT, title TEXT, series TEXT, iteration INTEGER, value REAL)",
  );
  await c.execute("BEGIN IMMEDIATE");
  for (let it = 0; it < N_READ; it += 500) {
    const end = Math.min(N_READ, it + 500);
    const args: (string | number)[] = [];
    for (let i = it; i < end; i++) args.push(modelId, "read", "one", i, value(i));
    await c.execute({
      sql: `INSERT INTO raw VALUES ${Array.from({ length: end - it }, () => "(?,?,?,?,?)")}`,
      args,
    });
  }
  await c.execute("COMMIT");
  let rawBest = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const rs = await c.execute({
      sql: "SELECT iteration, value FROM raw WHERE model = ? AND title = ? AND series = ?",
      args: [modelId, "read", "one"],
    });
    const ms = performance.now() - t0;
    if (rs.rows.length !== N_READ) throw new Error("raw read the wrong number of rows");
    rawBest = Math.min(rawBest, ms);
    await tick();
  }
  c.close();
  return { readRate: N_READ / (best / 1000), rawRate: N_READ / (rawBest / 1000) };
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "modelog-reports-bench-" });
  try {
    const w = await benchWrite(dir);
    const m = await benchMemory(dir);
    const r = await benchRead(dir);
    const wRatio = w.reportRate / w.rawRate;
    const rRatio = r.readRate / r.rawRate;
    const ok = (b: boolean) => (b ? "yes" : "NO");
    console.log(
      `\nmodelog reports bench (scale ${SCALE}; Deno ${Deno.version.deno}; ${Deno.build.target})\n`,
    );
    console.log(table(
      ["measure", "modelog", "raw libSQL client", "ratio", "target", "met"],
      [
        [
          `(a) write ${fmt(N_WRITE)} scalars (report + flush)`,
          `${fmt(w.reportRate)} pts/s`,
          `${fmt(w.rawRate)} rows/s`,
          `${fmt(wRatio, 2)}x`,
          "≥ 0.5x",
          ok(wRatio >= 0.5),
        ],
        [
          `(b) peak memory, ${fmt(N_MEM)} scalars (child)`,
          `${fmt(m.peakMb, 0)} MB VmHWM`,
          `(${fmt(m.rate)} pts/s)`,
          "",
          "< 300 MB",
          ok(m.peakMb < 300),
        ],
        [
          `(c) read ${fmt(N_READ)} points of one series`,
          `${fmt(r.readRate)} pts/s`,
          `${fmt(r.rawRate)} rows/s`,
          `${fmt(rRatio, 2)}x`,
          "≥ 5x",
          ok(rRatio >= 5),
        ],
      ],
    ));
  } finally {
    if (Deno.env.get("BENCH_KEEP") === "1") console.log(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args[0] === "--mem-child") {
  await memChild(Deno.args[1]!, Number(Deno.args[2]));
} else {
  await main();
}
