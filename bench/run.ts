/**
 * Every modelog benchmark in one run (`npx -y deno@2.9.6 task bench`): each runs as its own
 * child process, one after the other (so none disturbs another's timing or memory), its output
 * passes through, and the run ends with one table of every target: figure, baseline from the
 * same run, ratio, PASS/MISS.
 *
 * - `bench/store_bench.ts`: durable operations against a raw one-event append, `queryModels`
 *   against hand SQL at 100k and 10k models, `rebuild()` of 1M events;
 * - `bench/rebuild_bench.ts`: `rebuild()` of 1M events in a child, its peak RSS, and the longest
 *   durable write of a second child writing to the same store meanwhile;
 * - `bench/reports_bench.ts`: reports against a hand-packed writer and reader of the same JSON,
 *   peak memory reporting 10M points and reading 1M points;
 * - `bench/sync_bench.ts`: push and pull ingest per CPU-second, push against a local append,
 *   a 1 GB upload against `cp`, the upload worker's peak memory;
 * - `bench/ui_bench.ts`: pages against the library call each wraps;
 * - optional, run only when `BENCH_ONLY` names it (it needs PostgreSQL and s3rver, as the
 *   tests do): `bench/pg_bench.ts` (`pg`), push of 16 clients to libSQL and PostgreSQL
 *   instances, a device's pull of 1M events from each, 1 GB uploads to S3 and a folder.
 *
 * Before each benchmark and at the end, a fixed piece of CPU work is timed (`machineWorkMs`): the
 * range says how fast the machine was during the run.
 *
 * Environment: `BENCH_QUICK=1` shrinks every size about 10x (a smoke run);
 * `BENCH_ONLY=store,sync` runs only those (`BENCH_ONLY=pg` the optional one); every
 * benchmark's own knobs pass through (see each file). Exits non-zero only when a benchmark fails to run, not when a target is missed.
 *
 * @module
 */
import { textLines } from "../tests/fixtures/lines.ts";
import { fileURLToPath } from "node:url";
import {
  machineWorkMs,
  parseVerdicts,
  QUICK,
  type Target,
  VERDICT_PREFIX,
  verdictTable,
} from "./stats.ts";

const BENCHES = ["store", "rebuild", "reports", "sync", "ui"] as const;
/** Run only when `BENCH_ONLY` names them (they need services the default run does not start). */
const OPTIONAL = ["pg"] as const;
const KNOWN: readonly string[] = [...BENCHES, ...OPTIONAL];
const only = (Deno.env.get("BENCH_ONLY") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
for (const o of only) {
  if (!KNOWN.includes(o)) {
    throw new Error(`BENCH_ONLY: unknown benchmark ${o} (known: ${KNOWN.join(", ")})`);
  }
}
const chosen = only.length === 0 ? [...BENCHES] : KNOWN.filter((b) => only.includes(b));

/** Runs one benchmark, echoing its stdout (without the verdict lines) as it comes. */
async function runBench(name: string): Promise<{ ok: boolean; ms: number; stdout: string }> {
  const script = fileURLToPath(new URL(`./${name}_bench.ts`, import.meta.url));
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let all = "";
  const enc = new TextEncoder();
  for await (const line of textLines(child.stdout)) {
    all += line + "\n";
    if (!line.startsWith(VERDICT_PREFIX)) Deno.stdout.writeSync(enc.encode(line + "\n"));
  }
  const st = await child.status;
  return { ok: st.success, ms: performance.now() - t0, stdout: all };
}

const started = performance.now();
const targets: Target[] = [];
const times: string[] = [];
let broken = false;
const work: number[] = [];
for (const b of chosen) {
  work.push(machineWorkMs());
  console.log(
    `\n=== ${b} bench${QUICK ? " (quick)" : ""} (machine: fixed work ${
      work.at(-1)!.toFixed(0)
    } ms) ===`,
  );
  const r = await runBench(b);
  const found = parseVerdicts(r.stdout);
  targets.push(...found);
  times.push(`${b} ${(r.ms / 1000).toFixed(0)} s`);
  if (!r.ok) {
    broken = true;
    targets.push({
      bench: b,
      name: "benchmark failed to run (see its output)",
      figure: "-",
      baseline: "-",
      ratio: "-",
      goal: "-",
      pass: false,
    });
  }
}

const passed = targets.filter((t) => t.pass).length;
console.log(
  `\n=== summary${QUICK ? " (BENCH_QUICK=1: sizes / 10)" : ""}: ${passed} PASS, ${
    targets.length - passed
  } MISS; ${times.join(", ")}, total ${((performance.now() - started) / 1000).toFixed(0)} s ===\n`,
);
console.log(verdictTable(targets));
work.push(machineWorkMs());
console.log(
  `machine speed: the same fixed CPU work (bench/stats.ts machineWorkMs) took ${
    Math.min(...work).toFixed(0)
  }-${
    Math.max(...work).toFixed(0)
  } ms before and after the benchmarks; absolute targets move with it`,
);
if (broken) Deno.exit(1);
