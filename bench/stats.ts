/**
 * Small helpers for the benchmark: timing, percentiles and a plain-text table.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The p-th percentile (0–100) of samples, by nearest rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Renders rows as an aligned text table with a header row. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => (c ?? "").padEnd(widths[i]!)).join(" | ") + " |";
  const sep = "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|";
  return [line(header), sep, ...rows.map(line)].join("\n");
}

/** Lets the event loop turn (and the libSQL client release native statement memory). */
export function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** Whether `BENCH_QUICK=1` asks for a smoke run (sizes about 10x smaller). */
export const QUICK = Deno.env.get("BENCH_QUICK") === "1";

/**
 * A positive number from the environment, or `full` (or `full / 10` in quick mode) when unset.
 *
 * @throws {Error} When the variable is set to something that is not a positive number.
 */
export function envSize(name: string, full: number, quick = full / 10): number {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return QUICK ? quick : full;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

/** One measured target: a figure, the baseline from the same run, and the verdict. */
export interface Target {
  /** Which benchmark measured it. */
  bench: string;
  /** What is measured. */
  name: string;
  /** The figure, formatted with its unit. */
  figure: string;
  /** The baseline from the same run ("-" for an absolute bound). */
  baseline: string;
  /** The ratio figure / baseline (or the figure itself for an absolute bound). */
  ratio: string;
  /** The target, e.g. ">= 0.8x" or "< 200 MB". */
  goal: string;
  /** Whether the target is met. */
  pass: boolean;
}

/** Prefix of the machine-readable verdict lines the benchmarks print on stdout. */
export const VERDICT_PREFIX = "VERDICT ";

/** Prints one verdict line (`VERDICT {json}`) and returns the target, for a table. */
export function verdict(t: Target): Target {
  console.log(VERDICT_PREFIX + JSON.stringify({ ...t, verdict: t.pass ? "PASS" : "MISS" }));
  return t;
}

/** The rows of a verdict table: measure, figure, baseline, ratio, target, verdict. */
export function verdictTable(targets: readonly Target[]): string {
  return table(
    ["bench", "target", "figure", "baseline", "ratio", "goal", "verdict"],
    targets.map((t) => [
      t.bench,
      t.name,
      t.figure,
      t.baseline,
      t.ratio,
      t.goal,
      t.pass ? "PASS" : "MISS",
    ]),
  );
}

/** Parses the verdict lines out of a benchmark's stdout. */
export function parseVerdicts(stdout: string): (Target & { verdict: "PASS" | "MISS" })[] {
  return stdout.split("\n")
    .filter((l) => l.startsWith(VERDICT_PREFIX))
    .map((l) => JSON.parse(l.slice(VERDICT_PREFIX.length)));
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system, all threads) a process has used, from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number | "self"): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
}

/** Peak resident memory (VmHWM) of a process in kB, 0 when it has exited. */
export function vmHwmKb(pid: number | "self"): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)\s+kB/.exec(s)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The time of a fixed piece of CPU work in this process (JSON text of 200,000 small objects
 * written and parsed, and SHA-256 of 64 MiB), in ms, the best of three: the same work every run,
 * so its time says how fast the machine was while the benchmarks beside it ran. Absolute targets
 * (events per second, per CPU-second) move with it; ratios to a baseline measured in the same
 * run do not.
 */
export function machineWorkMs(): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    const rows = [];
    for (let i = 0; i < 200_000; i++) rows.push({ id: `m${i}`, at: i * 7, v: [i % 13, i / 3] });
    const back = JSON.parse(JSON.stringify(rows)) as typeof rows;
    if (back.length !== rows.length) throw new Error("the fixed work went wrong");
    const block = new Uint8Array(1 << 20).fill(7);
    const h = createHash("sha256");
    for (let i = 0; i < 64; i++) h.update(block);
    h.digest("hex");
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
