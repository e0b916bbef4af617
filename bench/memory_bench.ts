/**
 * The memory benchmark (`npx -y deno@2.9.6 run -A bench/memory_bench.ts`): peak RSS (VmHWM,
 * read by the child from `/proc/self/status` at the end) of a child process that runs N
 * awaited durable writes in a plain loop, with no yield of its own:
 *
 * - `setMetadata`: N awaited `model.setMetadata(key, i)` on one output model. Target < 250 MB
 *   at N = 10,000 (PASS/MISS).
 * - baseline: N raw one-event appends (`INSERT` of one event-sized row, each in its own
 *   `BEGIN IMMEDIATE` … `COMMIT`) at the layer the store runs on: a connection of the native
 *   driver (`libsql`) to a fresh WAL file with the store's pragmas (`synchronous = NORMAL`, its
 *   page cache), each statement prepared once, yielding one macrotask every 200 writes (what
 *   the store does), in the same run.
 *
 * Environment: `BENCH_N` (default 10000), `BENCH_KEEP=1` keeps the temp dir.
 *
 * @module
 */
import { openStore, OutputModel, Task } from "../mod.ts";
import { nativeOn, prepared } from "./native.ts";
import { join } from "node:path";

const TARGET_MB = 250;
const N = Number(Deno.env.get("BENCH_N") ?? 10_000);
if (!Number.isSafeInteger(N) || N <= 0) throw new Error("BENCH_N must be a positive integer");

function vmHwmMb(): number {
  const s = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+)\s+kB/.exec(s)?.[1] ?? 0) / 1024;
}

/** The child: runs one mode in `dir` and prints `RESULT <peak MB> <ms>`. */
async function child(mode: string, dir: string, n: number): Promise<void> {
  const t0 = performance.now();
  if (mode === "meta") {
    const store = await openStore({ home: dir });
    const task = await Task.init({ projectName: "bench", taskName: "memory", store });
    const m = new OutputModel({ task, framework: "PyTorch" });
    for (let i = 0; i < n; i++) await m.setMetadata("k" + (i % 50), i);
    await task.close();
    await store.close();
  } else {
    const c = nativeOn(join(dir, "raw.db")); // the store's connections' pragmas
    c.exec("PRAGMA journal_mode = WAL");
    c.exec(
      "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, stream TEXT, data TEXT)",
    );
    const sql = prepared(c);
    for (let i = 0; i < n; i++) {
      sql("BEGIN IMMEDIATE").run();
      sql("INSERT INTO events(id, stream, data) VALUES (?, ?, ?)")
        .run([crypto.randomUUID(), "model:bench", JSON.stringify({ set: { ["k" + i]: i } })]);
      sql("COMMIT").run();
      await Promise.resolve();
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 0));
    }
    c.close();
  }
  console.log(`RESULT ${vmHwmMb().toFixed(1)} ${(performance.now() - t0).toFixed(0)}`);
}

async function run(mode: string, dir: string): Promise<{ peakMb: number; ms: number }> {
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--child", mode, dir, String(N)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${mode} child failed with code ${out.code}`);
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("RESULT"));
  if (!line) throw new Error(`${mode} child printed no result`);
  const [, peak, ms] = line.split(" ");
  return { peakMb: Number(peak), ms: Number(ms) };
}

if (Deno.args[0] === "--child") {
  await child(Deno.args[1]!, Deno.args[2]!, Number(Deno.args[3]));
} else {
  const dir = await Deno.makeTempDir({ prefix: "modelog-membench-" });
  try {
    const base = await run("raw", join(dir, "raw"));
    const meta = await run("meta", join(dir, "meta"));
    const verdict = meta.peakMb < TARGET_MB ? "PASS" : "MISS";
    console.log(`memory: ${N} awaited writes in a plain loop, peak RSS (VmHWM) of a child`);
    console.log(
      `  baseline raw one-event appends: ${base.peakMb.toFixed(0)} MB (${base.ms} ms)`,
    );
    console.log(
      `  setMetadata: ${
        meta.peakMb.toFixed(0)
      } MB (${meta.ms} ms), target < ${TARGET_MB} MB: ${verdict}`,
    );
  } finally {
    if (Deno.env.get("BENCH_KEEP") !== "1") await Deno.remove(dir, { recursive: true });
  }
}
