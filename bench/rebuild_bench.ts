/**
 * The rebuild benchmark (`npx -y deno@2.9.6 run -A bench/rebuild_bench.ts`; `deno task bench`
 * runs it with the others as `rebuild`): `store.rebuild()` of a big log, run in a child process
 * while a second child keeps writing to the same store.
 *
 * - peak RSS (VmHWM, from `/proc/<pid>/status`, polled by the parent and read by the child
 *   itself at the end) of the child running `rebuild()` over N events. Target < 500 MB;
 * - the longest single awaited durable write (`setMetadata` on one output model, in a loop)
 *   of the writing child while the rebuild runs, from the rebuild child's start to its end.
 *   Target < 1 s;
 * - the rebuild's events/s (info; `store` bench has the >= 100,000 events/s target).
 *
 * Seeding builds the events in memory (bench/seed.ts) and ingests them in batches of 20,000
 * (`store.ingest`), with the store then closed, so the children open a store at rest.
 *
 * Environment: `BENCH_REBUILD_EVENTS` (default 1,000,000; 100,000 with `BENCH_QUICK=1`),
 * `BENCH_KEEP=1` keeps the temporary store, `BENCH_REBUILD_FROM=<dir>` copies the store of an
 * earlier run kept that way instead of seeding (the copy is synced to disk before the run).
 *
 * Prints a table and one `VERDICT {json}` line per target (bench/stats.ts).
 *
 * @module
 */
import { textLines } from "../tests/fixtures/lines.ts";
import { DatabaseSync } from "node:sqlite";
import { openStore, OutputModel, Task } from "../mod.ts";
import { Seeder } from "./seed.ts";
import { envSize, fmt, table, type Target, tick, verdict, verdictTable, vmHwmKb } from "./stats.ts";

const EVENTS = Math.round(envSize("BENCH_REBUILD_EVENTS", 1_000_000));
const EVENTS_PER_MODEL = 10;
const INGEST_BATCH = 20_000;
const RSS_TARGET_MB = 500;
const STALL_TARGET_MS = 1000;

const log = (...a: unknown[]) => console.error("[rebuild bench]", ...a);

// ---------------------------------------------------------------- children

/** Rebuilds the store in `home`; prints `RESULT <events> <ms> <VmHWM kB>`. */
async function rebuildChild(home: string): Promise<void> {
  const store = await openStore({ home });
  try {
    // The last progress call comes after the swap transaction, the one before it after the last
    // page folded into the scratch database: their gap is the copy, the catch-up and the swap.
    let prev = 0;
    let last = performance.now();
    const rb = await store.rebuild({
      onProgress: () => {
        prev = last;
        last = performance.now();
      },
    });
    const swapMs = last - prev;
    console.log(
      `RESULT ${rb.events} ${rb.ms.toFixed(0)} ${vmHwmKb("self")} ${swapMs.toFixed(0)}`,
    );
  } finally {
    await store.close();
  }
}

/**
 * Writes `setMetadata` on one output model in a loop until `stopFile` exists; prints `READY`
 * after the first write, then one `W <start ms since epoch> <latency ms>` line per write slower
 * than 50 ms and `DONE <writes> <max ms>` at the end (times are wall-clock, so the parent can
 * keep only the writes inside the rebuild's window).
 */
async function writerChild(home: string, stopFile: string): Promise<void> {
  const store = await openStore({ home });
  const task = await Task.init({ projectName: "bench", taskName: "rebuild-writer", store });
  const m = new OutputModel({ task, framework: "PyTorch" });
  await m.setMetadata("k", 0);
  console.log("READY");
  let n = 0;
  let max = 0;
  const exists = () => {
    try {
      Deno.statSync(stopFile);
      return true;
    } catch {
      return false;
    }
  };
  while (!exists()) {
    const start = Date.now();
    const t0 = performance.now();
    await m.setMetadata("k" + (n % 50), n);
    const ms = performance.now() - t0;
    n++;
    if (ms > max) max = ms;
    if (ms > 50) console.log(`W ${start} ${ms.toFixed(1)}`);
    if (n % 200 === 0) await tick();
  }
  console.log(`DONE ${n} ${max.toFixed(1)}`);
  await task.close();
  await store.close();
}

// ---------------------------------------------------------------- parent

async function seed(home: string): Promise<{ events: number; ms: number }> {
  const store = await openStore({ home });
  const seeder = new Seeder({ eventsPerModel: EVENTS_PER_MODEL });
  const models = Math.ceil(EVENTS / EVENTS_PER_MODEL);
  const perBatch = Math.max(1, Math.floor(INGEST_BATCH / EVENTS_PER_MODEL));
  let done = 0;
  let events = 0;
  const t0 = performance.now();
  try {
    while (done < models) {
      const to = Math.min(models, done + perBatch);
      const batch = seeder.events(done, to);
      await store.ingest(batch, { remote: false });
      events += batch.length;
      done = to;
      if (done % (perBatch * 10) === 0 || done === models) {
        log(`seeded ${fmt(events)} events (${fmt(done)} models)`);
      }
      await tick();
    }
  } finally {
    await store.close();
  }
  return { events, ms: performance.now() - t0 };
}

/** Collects a child's stdout lines, resolving `ready` on the first line equal to `READY`. */
function lines(child: Deno.ChildProcess): { all: Promise<string[]>; ready: Promise<void> } {
  let signal = () => {};
  const ready = new Promise<void>((r) => (signal = r));
  const all = (async () => {
    const out: string[] = [];
    for await (const line of textLines(child.stdout)) {
      if (line === "READY") signal();
      out.push(line);
    }
    signal();
    return out;
  })();
  return { all, ready };
}

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Copies the database of a kept store into `home`, synced, so no write-back is pending. */
async function copyStore(from: string, home: string): Promise<{ events: number; ms: number }> {
  const t0 = performance.now();
  await Deno.copyFile(`${from}/modelog.db`, `${home}/modelog.db`);
  const f = await Deno.open(`${home}/modelog.db`, { read: true, write: true });
  await f.sync();
  f.close();
  const db = new DatabaseSync(`${home}/modelog.db`, { readOnly: true });
  const events = Number((db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n);
  db.close();
  return { events, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "modelog-rebuild-bench-" });
  log(`${fmt(EVENTS)} events, store in ${home}`);
  try {
    const from = Deno.env.get("BENCH_REBUILD_FROM");
    const seeded = from ? await copyStore(from, home) : await seed(home);
    const stopFile = home + "/.stop-writer";

    const writer = spawn(["--writer", home, stopFile]);
    const wOut = lines(writer);
    await wOut.ready;
    log("writer running; rebuilding in a child");

    const startWall = Date.now();
    const rebuilder = spawn(["--rebuild", home]);
    const rOut = lines(rebuilder);
    let polledKb = 0;
    const poll = setInterval(() => {
      polledKb = Math.max(polledKb, vmHwmKb(rebuilder.pid));
    }, 100);
    const rStatus = await rebuilder.status;
    clearInterval(poll);
    const endWall = Date.now();
    const rLines = await rOut.all;
    await Deno.writeTextFile(stopFile, "");
    const wStatus = await writer.status;
    const wLines = await wOut.all;
    if (!rStatus.success) throw new Error(`rebuild child failed with code ${rStatus.code}`);
    if (!wStatus.success) throw new Error(`writer child failed with code ${wStatus.code}`);

    const res = rLines.find((l) => l.startsWith("RESULT "));
    if (!res) throw new Error("rebuild child printed no result");
    const [, evs, ms, selfKb, swapMs] = res.split(" ").map(Number);
    const done = wLines.find((l) => l.startsWith("DONE "));
    if (!done) throw new Error("writer child printed no result");
    const [, writes, maxAll] = done.split(" ").map(Number);
    // Longest write that overlapped the rebuild child's lifetime.
    let stall = 0;
    const slow: string[] = [];
    for (const l of wLines.filter((l) => l.startsWith("W "))) {
      const [, start, lat] = l.split(" ").map(Number);
      if (start! + lat! >= startWall && start! <= endWall) {
        stall = Math.max(stall, lat!);
        if (lat! > 200) slow.push(`${fmt(lat!)} ms at ${fmt((start! - startWall) / 1000, 1)} s`);
      }
    }
    const peakMb = Math.max(polledKb, selfKb!) / 1024;
    const rate = evs! / (ms! / 1000);
    const dbMb = (await Deno.stat(home + "/modelog.db").catch(() => null))?.size;
    const walMb = (await Deno.stat(home + "/modelog.db-wal").catch(() => null))?.size;

    const targets: Target[] = [
      verdict({
        bench: "rebuild",
        name: `peak RSS of a child rebuilding ${fmt(evs!)} events`,
        figure: `${fmt(peakMb, 1)} MB`,
        baseline: "-",
        ratio: "-",
        goal: `< ${RSS_TARGET_MB} MB`,
        pass: peakMb < RSS_TARGET_MB,
      }),
      verdict({
        bench: "rebuild",
        name: "longest durable setMetadata of a concurrent writer during rebuild()",
        figure: `${fmt(stall, 1)} ms`,
        baseline: "-",
        ratio: "-",
        goal: `< ${fmt(STALL_TARGET_MS)} ms`,
        pass: stall < STALL_TARGET_MS,
      }),
    ];
    const rows = [
      [
        from ? `copying the store of ${from}` : "seeding: store.ingest() in batches of 20,000",
        `${fmt(seeded.events / (seeded.ms / 1000))} events/s (${fmt(seeded.events)} events, ${
          fmt(seeded.ms / 1000, 1)
        } s)`,
      ],
      [
        "rebuild() in a child",
        `${fmt(rate)} events/s (${fmt(evs!)} events, ${fmt(ms! / 1000, 1)} s)`,
      ],
      [
        "rebuild child peak RSS (VmHWM)",
        `${fmt(peakMb, 1)} MB (polled ${fmt(polledKb / 1024, 1)}, self ${fmt(selfKb! / 1024, 1)})`,
      ],
      [
        "writer: awaited setMetadata during the rebuild",
        `${fmt(writes!)} writes in all, longest ${
          fmt(stall, 1)
        } ms in the rebuild window, longest overall ${fmt(maxAll!, 1)} ms`,
      ],
      [
        "writes over 200 ms (their start, after the rebuild child's)",
        slow.length === 0 ? "none" : slow.join(", "),
      ],
      [
        "rebuild after the scratch fold: copy, catch-up, swap (short transactions)",
        `${fmt(swapMs!)} ms`,
      ],
      ["database file", dbMb === undefined ? "-" : `${fmt(dbMb / 1e6, 1)} MB`],
      ["its WAL after the run", walMb === undefined ? "-" : `${fmt(walMb / 1e6, 1)} MB`],
    ];
    console.log(
      `\nmodelog rebuild bench (Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})\n`,
    );
    console.log(table(["measure", "result"], rows));
    console.log("");
    console.log(verdictTable(targets));
  } finally {
    if (Deno.env.get("BENCH_KEEP") === "1") log("kept", home);
    else await Deno.remove(home, { recursive: true });
  }
}

if (Deno.args[0] === "--rebuild") await rebuildChild(Deno.args[1]!);
else if (Deno.args[0] === "--writer") await writerChild(Deno.args[1]!, Deno.args[2]!);
else await main();
