/**
 * What the CLI prints: lines and JSON on stdout ({@link out}, {@link jsonOut}), plain-text tables
 * ({@link textTable}), and, only when stdout is a terminal, progress on stderr
 * ({@link progressBar}, {@link working}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonText, textTable } from "./output.ts";
 *
 * assert.equal(textTable(["ID", "NAME"], [["1", "net"]]), "ID  NAME\n1   net");
 * assert.equal(jsonText({ loss: Infinity }), '{\n  "loss": "Infinity"\n}');
 * ```
 *
 * @module
 */

/**
 * Writes a line to stdout.
 *
 * @param line the text, without its newline
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { out } from "./output.ts";
 *
 * const printed: unknown[] = [];
 * const log = console.log;
 * console.log = (line: unknown) => printed.push(line);
 * try {
 *   out("pulled 3 events (1 new)");
 *   out();
 * } finally {
 *   console.log = log;
 * }
 * assert.deepEqual(printed, ["pulled 3 events (1 new)", ""]);
 * ```
 */
export function out(line = ""): void {
  console.log(line);
}

/**
 * Whether stdout is a terminal (progress is drawn only then).
 *
 * @returns true for a terminal, false for a pipe or file
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTty } from "./output.ts";
 * assert.equal(typeof isTty(), "boolean");
 * ```
 */
export function isTty(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** Where progress goes; the defaults are the real terminal. */
export interface ProgressSink {
  /** Whether to draw at all (default: {@link isTty}). */
  tty?: boolean;
  /** Writes raw text (default: to stderr). */
  write?: (text: string) => void;
  /** The clock in milliseconds, for throttling (default: `Date.now`). */
  now?: () => number;
}

/** A progress bar: `update` as work is done, `end` once. */
export interface ProgressBar {
  /** Reports `done` units, out of `total` when known. */
  update(done: number, total?: number): void;
  /** Ends the line. */
  end(): void;
}

/** Makes a {@link ProgressBar} with a label (what `doctor` and `rebuild` take). */
export type ProgressFactory = (label: string) => ProgressBar;

function stderrWrite(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

/**
 * A one-line progress bar on stderr when stdout is a terminal; silent otherwise. Redraws at most
 * every 80 ms, and always on the last unit.
 *
 * @param label what is being done, e.g. "pushing events"
 * @param sink where to draw (tests pass their own)
 * @returns the bar
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressBar } from "./output.ts";
 *
 * let text = "";
 * const bar = progressBar("pushing events", { tty: true, write: (t) => (text += t) });
 * bar.update(5, 10);
 * bar.end();
 * assert.match(text, /pushing events \[#{15}-{15}\] 50% 5\/10/);
 * assert.ok(text.endsWith("\n"));
 *
 * const quiet = progressBar("piped", { tty: false, write: () => assert.fail("drew") });
 * quiet.update(1, 2);
 * quiet.end();
 * ```
 */
export function progressBar(label: string, sink: ProgressSink = {}): ProgressBar {
  if (!(sink.tty ?? isTty())) return { update() {}, end() {} };
  const write = sink.write ?? stderrWrite;
  const now = sink.now ?? Date.now;
  let last = 0;
  return {
    update(done, total) {
      const t = now();
      if (t - last < 80 && (total === undefined || done < total)) return;
      last = t;
      let line: string;
      if (total && total > 0) {
        const pct = Math.min(1, done / total);
        const w = 30;
        const fill = Math.round(pct * w);
        line = `${label} [${"#".repeat(fill)}${"-".repeat(w - fill)}] ${
          (pct * 100).toFixed(0)
        }% ${done}/${total}`;
      } else line = `${label} ${done}`;
      write(`\r${line}\x1b[K`);
    },
    end() {
      write("\n");
    },
  };
}

/**
 * Shows a one-line "working…" note on stderr while `fn` runs (only on a terminal), then clears it.
 *
 * @param label what is being done
 * @param fn the work
 * @param sink where to draw (tests pass their own)
 * @returns what `fn` returns
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { working } from "./output.ts";
 *
 * let text = "";
 * const n = await working("counting", () => Promise.resolve(3), {
 *   tty: true,
 *   write: (t) => (text += t),
 * });
 * assert.equal(n, 3);
 * assert.equal(text, "counting…\r\x1b[K");
 * ```
 */
export async function working<T>(
  label: string,
  fn: () => Promise<T>,
  sink: ProgressSink = {},
): Promise<T> {
  if (!(sink.tty ?? isTty())) return await fn();
  const write = sink.write ?? stderrWrite;
  write(`${label}…`);
  try {
    return await fn();
  } finally {
    write("\r\x1b[K");
  }
}

/**
 * Cuts text to `n` characters, ending in "…" when cut.
 *
 * @param s the text
 * @param n the most characters kept
 * @returns the text, cut
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cut } from "./output.ts";
 * assert.equal(cut("abcdef", 4), "abc…");
 * assert.equal(cut("abc", 4), "abc");
 * ```
 */
export function cut(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/**
 * A plain-text table: columns padded to their widest cell, cells cut at `max` characters and
 * their whitespace runs folded to one space.
 *
 * @param head the column titles
 * @param rows the cells, row by row
 * @param max the widest a cell may be
 * @returns the table, lines joined with "\n"
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textTable } from "./output.ts";
 *
 * const t = textTable(["KEY", "VALUE"], [["epochs", "10"], ["note", "two\nlines"]]);
 * assert.equal(t, ["KEY     VALUE", "epochs  10", "note    two lines"].join("\n"));
 * ```
 */
export function textTable(head: string[], rows: string[][], max = 48): string {
  const cells = rows.map((r) => r.map((c) => cut(c.replace(/\s+/g, " "), max)));
  const w = head.map((hd, i) => Math.max(hd.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(w[i]!)).join("  ");
  return [line(head), ...cells.map(line)].join("\n");
}

/**
 * A time to the second in UTC, "-" for an invalid date.
 *
 * @param d the time
 * @returns e.g. "2024-05-01 12:00:00Z"
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoShort } from "./output.ts";
 * assert.equal(isoShort(new Date("2024-05-01T12:00:00.123Z")), "2024-05-01 12:00:00Z");
 * assert.equal(isoShort(new Date(NaN)), "-");
 * ```
 */
export function isoShort(d: Date): string {
  return Number.isNaN(d.getTime())
    ? "-"
    : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/**
 * A number as text, "-" for none.
 *
 * @param n the number, or null/undefined
 * @returns its text
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numText } from "./output.ts";
 * assert.equal(numText(0.5), "0.5");
 * assert.equal(numText(null), "-");
 * ```
 */
export function numText(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  return String(n);
}

/**
 * Pretty JSON (two-space indent) with non-finite numbers as strings ("NaN", "Infinity").
 *
 * @param v the value
 * @returns its JSON text
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonText } from "./output.ts";
 * assert.deepEqual(JSON.parse(jsonText([1, NaN, -Infinity])), [1, "NaN", "-Infinity"]);
 * ```
 */
export function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (typeof x === "number" && !Number.isFinite(x)) return String(x);
    return x;
  }, 2);
}

/**
 * Prints {@link jsonText} of a value to stdout.
 *
 * @param v the value
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonOut } from "./output.ts";
 *
 * const printed: unknown[] = [];
 * const log = console.log;
 * console.log = (line: unknown) => printed.push(line);
 * try {
 *   jsonOut({ id: "3b5a0d65cab6", tags: ["best"] });
 * } finally {
 *   console.log = log;
 * }
 * assert.deepEqual(JSON.parse(printed[0] as string), { id: "3b5a0d65cab6", tags: ["best"] });
 * ```
 */
export function jsonOut(v: unknown): void {
  out(jsonText(v));
}

/**
 * A byte count for people: B, KiB, MiB, GiB, TiB (one decimal from KiB up).
 *
 * @param n bytes
 * @returns e.g. "3.0 MiB"
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { humanBytes } from "./output.ts";
 * assert.equal(humanBytes(512), "512 B");
 * assert.equal(humanBytes(3 * 1024 * 1024), "3.0 MiB");
 * ```
 */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * A duration for people: "42s", "3m05s", "1h02m".
 *
 * @param s seconds
 * @returns the text
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { humanSeconds } from "./output.ts";
 * assert.equal(humanSeconds(42.4), "42s");
 * assert.equal(humanSeconds(185), "3m05s");
 * assert.equal(humanSeconds(3720), "1h02m");
 * ```
 */
export function humanSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}m`;
}

/** What a sync has done so far (see {@link transferBar}). */
export interface TransferState {
  /** Weights bytes sent or received. */
  bytes: number;
  /** Weights bytes in all, when known. */
  bytesTotal?: number;
  /** Events sent or received. */
  events: number;
  /** Events in all, when known. */
  eventsTotal?: number;
}

/** One bar for a whole transfer: `update` with the running totals, `end` once. */
export interface TransferBar {
  /** Redraws with the totals so far (throttled). */
  update(state: TransferState): void;
  /** Draws the final state and ends the line. */
  end(): void;
}

/**
 * One progress bar for a whole sync on stderr (only on a terminal): weights bytes in human
 * units with rate and ETA, and the events count. The bar follows the bytes while weights are
 * moving and the events otherwise.
 *
 * @param label what is being done, e.g. "pushing"
 * @param sink where to draw (tests pass their own)
 * @returns the bar
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { transferBar } from "./output.ts";
 *
 * let t = 0;
 * let text = "";
 * const bar = transferBar("pushing", { tty: true, write: (s) => (text += s), now: () => t });
 * t = 2000;
 * bar.update({ bytes: 2 * 1024 * 1024, bytesTotal: 4 * 1024 * 1024, events: 0, eventsTotal: 10 });
 * assert.match(text, /pushing \[#{15}-{15}\] 50% 2\.0 MiB\/4\.0 MiB 1\.0 MiB\/s ETA 2s, 0\/10 events/);
 * bar.end();
 * assert.ok(text.endsWith("\n"));
 * ```
 */
export function transferBar(label: string, sink: ProgressSink = {}): TransferBar {
  if (!(sink.tty ?? isTty())) return { update() {}, end() {} };
  const write = sink.write ?? stderrWrite;
  const now = sink.now ?? Date.now;
  const t0 = now();
  let last = -Infinity;
  let state: TransferState = { bytes: 0, events: 0 };
  const draw = () => {
    const { bytes, bytesTotal, events, eventsTotal } = state;
    const secs = Math.max(0.001, (now() - t0) / 1000);
    const byBytes = bytesTotal !== undefined && bytesTotal > 0 && bytes < bytesTotal;
    const frac = byBytes
      ? bytes / bytesTotal!
      : eventsTotal
      ? events / eventsTotal
      : bytesTotal
      ? Math.min(1, bytes / bytesTotal)
      : undefined;
    const parts = [label];
    if (frac !== undefined) {
      const w = 30;
      const f = Math.min(1, Math.max(0, frac));
      const fill = Math.round(f * w);
      parts.push(`[${"#".repeat(fill)}${"-".repeat(w - fill)}] ${(f * 100).toFixed(0)}%`);
    }
    if (bytes > 0 || (bytesTotal ?? 0) > 0) {
      const rate = bytes / secs;
      let b = `${humanBytes(bytes)}${bytesTotal ? `/${humanBytes(bytesTotal)}` : ""} ${
        humanBytes(rate)
      }/s`;
      if (byBytes && rate > 0) b += ` ETA ${humanSeconds((bytesTotal! - bytes) / rate)}`;
      parts.push(b + ",");
    }
    parts.push(`${events}${eventsTotal !== undefined ? `/${eventsTotal}` : ""} events`);
    write(`\r${parts.join(" ")}\x1b[K`);
  };
  return {
    update(s) {
      state = s;
      const t = now();
      if (t - last < 80) return;
      last = t;
      draw();
    },
    end() {
      draw();
      write("\n");
    },
  };
}
