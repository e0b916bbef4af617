/**
 * Issue 9, point 2, at full size: a server holding 560 plot events of about 1 MB each (once
 * answering `GET /v1/events` with a 500, "Invalid string length", at 2.8 GB of memory) lets a
 * fresh device catch up completely, in pages under the byte limit `/v1/health` advertises,
 * while the server's peak RSS stays bounded. Real `cli.ts serve` processes on libSQL and
 * PostgreSQL.
 *
 * Slow, so a plain `deno task test` skips it; `MODELOG_FULL_SIZE=1` runs it (`.ci/run` sets it).
 * On a 2-core machine the libSQL case took 1m17s at a load average near 2 and 7m49s near 10
 * (PostgreSQL 6m3s); each prints its push and pull times, pages and peaks.
 *
 * The 560 events are pushed straight to `POST /v1/events` by 8 simulated devices, two pushes
 * in flight at a time (building them in local stores first would only add minutes of local
 * appends). Each plot is a 2-D scatter just under its report-time cap (`PLOT_CAPS`), so it is
 * what `reportScatter2d` would store.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openStore, SyncWorker } from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import type { StoredEvent } from "../../lib/events.ts";
import { capPlot, PLOT_CAPS } from "../../lib/reports/caps.ts";
import { craft, hlc, rng, withTempDir } from "../fixtures/helpers.ts";
import { serverTest } from "../fixtures/server_backends.ts";
import { spawnServer } from "../fixtures/sync_helpers.ts";
import { join } from "node:path";

const DEVICES = 8;
const PLOTS_PER_DEVICE = 70; // 560 in all
const PER_PUSH = 16; // about 16 MB of a push's 32 MiB limit
const RSS_LIMIT_MB = 1024;
/** Whether the full-size tests run (they take minutes). */
const FULL_SIZE = Deno.env.get("MODELOG_FULL_SIZE") === "1";

/** A scatter2d figure just under its cap, about 1 MB of JSON (numbers of 9-10 characters). */
function nearCapFigure(): { data: unknown[]; layout: Record<string, unknown> } {
  const r = rng(9);
  const n = Math.floor(PLOT_CAPS.scatter2d! / 2) - 500; // x + y stays under the cap
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    x.push(Math.round(r() * 1e8) / 1e3);
    y.push(Math.round(r() * 1e8) / 1e3);
  }
  return { data: [{ type: "scatter", mode: "markers", name: "s", x, y }], layout: {} };
}

/** One device's events: its model, then its plots. */
function deviceEvents(d: number, figure: ReturnType<typeof nearCapFigure>): StoredEvent[] {
  const origin = `dev${d}`.padEnd(12, "0");
  const model = newId();
  const wall = Date.now() - 60_000;
  const out = [craft(`model:${model}`, "model.created", {
    name: `plots-${d}`,
    project: "p",
    tags: [],
  }, hlc(wall, 0, origin))];
  for (let i = 0; i < PLOTS_PER_DEVICE; i++) {
    const data = {
      kind: "scatter2d" as const,
      title: "big",
      series: "s",
      iteration: i,
      figure,
    };
    // What the reporter stores: the cap leaves a figure under it unchanged.
    assert.equal(capPlot(data), data);
    out.push(craft(`model:${model}`, "metric.plot", data, hlc(wall, i + 1, origin)));
  }
  return out;
}

/** Peak resident memory (VmHWM) of a process, in MB. */
function peakRssMb(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)\s+kB/.exec(s)![1]) / 1024;
}

serverTest(
  "560 plots of about 1 MB: a fresh device catches up in pages under the byte limit, server RSS bounded",
  async (backend) => {
    await withTempDir(async (dir) => {
      const db = await backend.fresh(dir);
      let server = await spawnServer({ ...db.serve, quiet: true });
      const realFetch = globalThis.fetch;
      const device = await openStore({ home: join(dir, "device") });
      try {
        const t0 = performance.now();
        const figure = nearCapFigure();
        const all = Array.from({ length: DEVICES }, (_, d) => deviceEvents(d, figure));
        const sizes = all.flat().filter((e) => e.type === "metric.plot").slice(0, 1)
          .map((e) => JSON.stringify(e.data).length);
        assert.ok(sizes[0]! > 900_000 && sizes[0]! < 1_100_000, `a plot is ${sizes[0]} bytes`);
        // The pushes: every device's batches, two in flight at a time.
        const pushes = all.flatMap((evs) => {
          const out: StoredEvent[][] = [];
          for (let i = 0; i < evs.length; i += PER_PUSH) out.push(evs.slice(i, i + PER_PUSH));
          return out;
        });
        let next = 0, accepted = 0;
        await Promise.all([0, 1].map(async () => {
          while (next < pushes.length) {
            const body = JSON.stringify({ events: pushes[next++] });
            const res = await fetch(`${server.url}/v1/events`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body,
            });
            assert.equal(res.status, 200, await res.clone().text());
            const answer = await res.json(); // (not `accepted += await ...`: two run at once)
            accepted += answer.accepted;
          }
        }));
        const total = DEVICES * (PLOTS_PER_DEVICE + 1);
        assert.equal(accepted, total);
        const pushMb = peakRssMb(server.child.pid);
        assert.ok(pushMb < RSS_LIMIT_MB, `server peak RSS ${pushMb.toFixed(0)} MB taking pushes`);
        // The catch-up is served by a server started on that database: its peak is the pull's.
        await server.stop();
        server = await spawnServer({ ...db.serve, quiet: true });
        const seeded = performance.now();

        const health = await (await fetch(`${server.url}/v1/health`)).json();
        const limit = health.limits.pullBytes as number;
        assert.ok(limit > 0 && limit < 64 << 20, `advertised pullBytes ${limit}`);
        // Every pull page the worker receives, measured on the wire.
        const pages: number[] = [];
        globalThis.fetch = async (input, init) => {
          const res = await realFetch(input, init);
          const url = String(input instanceof Request ? input.url : input);
          if (!/\/v1\/events\?/.test(url) || (init?.method ?? "GET") !== "GET") return res;
          const bytes = await res.arrayBuffer();
          pages.push(bytes.byteLength);
          return new Response(bytes, { status: res.status, headers: res.headers });
        };
        const pulled = await new SyncWorker({ server: server.url, store: device }).pull();
        globalThis.fetch = realFetch;
        assert.deepEqual(pulled, { events: total, fresh: total });

        // Every event arrived, whole.
        const trace = figure.data[0] as { x: number[]; y: number[] };
        const want = new Map(all.flat().map((e) => [e.id, e]));
        const got = await device.readEvents({ limit: total + 10 });
        assert.equal(got.length, total);
        for (const e of got) {
          const w = want.get(e.id);
          assert.ok(w, `unknown event ${e.id}`);
          assert.equal(e.type, w.type);
          if (e.type === "metric.plot") {
            const t = e.data.figure.data[0] as { x: number[]; y: number[] };
            assert.equal(t.x.length, trace.x.length);
            assert.deepEqual(t.y.slice(-3), trace.y.slice(-3));
          }
          want.delete(e.id);
        }
        assert.equal(want.size, 0);

        // Pages cut by bytes: several, each under the advertised limit (one plot is ~1 MB, so
        // a page holds several; the JSON around the events adds a few hundred bytes).
        assert.ok(pages.length >= Math.floor(total * 0.9 / (limit / 1e6)), `${pages.length} pages`);
        const biggest = Math.max(...pages);
        assert.ok(biggest <= limit, `a page of ${biggest} bytes > ${limit}`);
        const peakMb = peakRssMb(server.child.pid);
        assert.ok(peakMb < RSS_LIMIT_MB, `server peak RSS ${peakMb.toFixed(0)} MB serving`);
        console.log(
          `[${backend.backend}] push ${((seeded - t0) / 1000).toFixed(1)} s, pull ` +
            `${((performance.now() - seeded) / 1000).toFixed(1)} s in ${pages.length} pages ` +
            `(largest ${(biggest / 1e6).toFixed(2)} MB of ${(limit / 1e6).toFixed(2)}); server ` +
            `VmHWM ${pushMb.toFixed(0)} MB taking the pushes, ${peakMb.toFixed(0)} MB serving ` +
            "the catch-up",
        );
      } finally {
        globalThis.fetch = realFetch;
        await device.close();
        await server.stop();
      }
    });
  },
  { ignore: !FULL_SIZE },
);
