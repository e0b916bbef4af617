/**
 * Profiling aid for the device side of a pull: `seed DIR [N]` writes N small `metric.plot`
 * events (as the sync bench makes them) into a server database under DIR; `pull DIR` starts a
 * `cli.ts serve` child on it and pulls everything into a fresh store, printing the events per
 * CPU-second of this process (user and system); `ingest DIR [R]` fetches the pages first and
 * times only their parse and ingest, R times. Run a step under `deno run --cpu-prof` to see
 * where the device's time goes (the seeding is not in that profile). Not part of `bench/run.ts`:
 * the sync bench holds the target.
 *
 * Run: deno run -A bench/pull_profile.ts seed /tmp/pp 100000
 *      deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/pull_profile.ts pull /tmp/pp
 *      deno run -A bench/pull_profile.ts ingest /tmp/pp 3
 *
 * @module
 */
import { join } from "node:path";
import { newId } from "../lib/clock.ts";
import { decodeData } from "../lib/events.ts";
import { openStore, SyncWorker } from "../mod.ts";
import { spawnServer } from "../tests/fixtures/sync_helpers.ts";
import { cpuSeconds } from "./stats.ts";
import { plotEventBatches } from "./seed.ts";

const [mode, dir, count] = Deno.args;
if ((mode !== "seed" && mode !== "pull" && mode !== "ingest") || !dir) {
  throw new Error("usage: pull_profile.ts seed DIR [N] | pull DIR | ingest DIR");
}
const db = join(dir, "server", "modelog.db");

if (mode === "seed") {
  const n = Number(count ?? 100_000);
  const modelId = newId();
  const store = await openStore({ path: db, home: join(dir, "server") });
  await store.append([{
    stream: `model:${modelId}`,
    type: "model.created",
    data: { name: "bench", project: "bench", tags: [] },
  }]);
  for (const b of plotEventBatches(modelId, n, 1000)) await store.append(b);
  await store.close();
} else if (mode === "ingest") {
  // The pages fetched first, then only the device's parse and ingest are timed.
  const server = await spawnServer({ db, quiet: true });
  const pages: string[] = [];
  try {
    let after = "0";
    for (;;) {
      const text = await (await fetch(`${server.url}/v1/events?after=${after}&limit=5000`)).text();
      pages.push(text);
      const body = JSON.parse(text);
      after = body.next;
      if (!body.more) break;
    }
  } finally {
    await server.crash();
  }
  for (let rep = 0; rep < Number(count ?? 3); rep++) {
    const home = await Deno.makeTempDir({ prefix: "modelog-pull-profile-" });
    const store = await openStore({ home });
    const cpu0 = cpuSeconds("self");
    let n = 0;
    for (const text of pages) {
      const body = decodeData<{ events: Record<string, unknown>[] }>(text);
      const fresh = await store.ingest(body.events.map(({ seq: _s, ...e }) => e), {
        remote: true,
        plainData: !text.includes('"$nf"'),
      });
      n += fresh.length;
    }
    const cpu = cpuSeconds("self") - cpu0;
    await store.close();
    await Deno.remove(home, { recursive: true });
    console.log(`ingested ${n} events, ${cpu.toFixed(2)} CPU-s: ${Math.round(n / cpu)} ev/CPU-s`);
  }
} else {
  const server = await spawnServer({ db, quiet: true });
  const home = await Deno.makeTempDir({ prefix: "modelog-pull-profile-" });
  try {
    const fresh = await openStore({ home });
    const worker = new SyncWorker({ server: server.url, store: fresh, batchSize: 5000 });
    const times = () => {
      const st = Deno.readTextFileSync("/proc/self/stat");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      return [Number(f[11]) / 100, Number(f[12]) / 100];
    };
    const [u0, s0] = times();
    const cpu0 = cpuSeconds("self");
    const t0 = performance.now();
    const pulled = await worker.pull();
    const ms = performance.now() - t0;
    const cpu = cpuSeconds("self") - cpu0;
    const [u1, s1] = times();
    console.log(`user ${(u1 - u0).toFixed(2)} s, system ${(s1 - s0).toFixed(2)} s`);
    await fresh.close();
    console.log(
      `pulled ${pulled.fresh} events in ${ms.toFixed(0)} ms, ${cpu.toFixed(2)} CPU-s: ` +
        `${Math.round(pulled.fresh / cpu)} ev/CPU-s`,
    );
  } finally {
    await server.crash();
    await Deno.remove(home, { recursive: true });
  }
}
