/**
 * Sync that never stalls (issue 9, the sync side), against real `cli.ts serve` processes:
 * pushes and pull pages bounded by bytes, the quarantine of refused events and bad blobs
 * (every other model reaches the server and a second device), weights fetched by hash from
 * the server a store last synced with, and `sync status` remembering the last outcome.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model, openStore, startServer, type Store, SyncWorker } from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { MAX_PULL_BYTES, PROTOCOL_VERSION } from "../../lib/sync/protocol.ts";
import {
  CLI,
  serverEvents,
  spawnDeno,
  spawnServer,
  writeTokensFile,
} from "../fixtures/sync_helpers.ts";
import { withTempDir } from "../fixtures/helpers.ts";
import { serverTest } from "../fixtures/server_backends.ts";

/** Creates a model by event; returns its id. */
async function model(store: Store, project: string, name: string): Promise<string> {
  const id = newId();
  await store.append([{
    stream: `model:${id}`,
    type: "model.created",
    data: { name, project, tags: [] },
  }]);
  return id;
}

/** Queues a line plot of about `bytes` bytes of JSON. */
function bigPlot(store: Store, modelId: string, iteration: number, bytes = 1 << 20) {
  const y: number[] = [];
  for (let n = 0; n < bytes; n += 9) y.push(Math.round(Math.random() * 1e7) / 1e3);
  return store.queuePlot(modelId, {
    kind: "line",
    title: "big",
    series: "s",
    iteration,
    figure: { data: [{ type: "scatter", y }], layout: {} },
  });
}

/** Runs `cli.ts args...` to its end; returns its stdout (throws on a non-zero exit). */
async function cli(args: string[], env?: Record<string, string>): Promise<string> {
  const p = spawnDeno(CLI, args, env ? { env } : {});
  const st = await p.done;
  if (!st.success) throw new Error(`cli ${args.join(" ")}: ${p.stdout()}\n${p.stderr()}`);
  return p.stdout();
}

// The size limit and project refusals run on both server databases (serverTest). The others
// stay on libSQL: they are about the device (its blobs, its CLI state), and the 100 MB of plots
// take about 40 s on libSQL and 70 s more on PostgreSQL.
Deno.test("100 plots of about 1 MB reach a second device in pages bounded by bytes", async () => {
  await withTempDir(async (dir) => {
    const server = await spawnServer({ db: join(dir, "server", "modelog.db"), quiet: true });
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    try {
      const id = await model(a, "p", "plots");
      for (let i = 0; i < 100; i++) await bigPlot(a, id, i);
      await a.flush();
      // 100 MB in one push would be refused (413): the worker cuts it below the limit.
      const pushed = await new SyncWorker({ server: server.url, store: a }).push();
      assert.equal(pushed.events, 101);
      // A page of the log is cut by bytes, whatever limit is asked.
      const res = await fetch(`${server.url}/v1/events?after=0&limit=5000`);
      const text = await res.text();
      const page = JSON.parse(text);
      assert.equal(page.more, true);
      assert.ok(page.events.length < 101 && page.events.length > 1, `${page.events.length}`);
      assert.ok(text.length < MAX_PULL_BYTES + (2 << 20), `${text.length} bytes`);
      const pulled = await new SyncWorker({ server: server.url, store: b }).pull();
      assert.deepEqual(pulled, { events: 101, fresh: 101 });
      const got = await b.readEvents({ limit: 5000 });
      assert.equal(got.filter((e) => e.type === "metric.plot").length, 100);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});

serverTest(
  "an event larger than the server's limit is held back; the rest goes on",
  async (backend) => {
    await withTempDir(async (dir) => {
      // In process, for its small limit (the CLI server takes the default 32 MiB).
      const server = await startServer({
        port: 0,
        ...(await backend.fresh(dir)).serve,
        maxEventsBody: 1 << 20,
        log: () => {},
      });
      const a = await openStore({ home: join(dir, "a") });
      try {
        const health = await (await fetch(`${server.url}/v1/health`)).json();
        assert.equal(health.protocol, PROTOCOL_VERSION);
        assert.equal(health.limits.eventsBody, 1 << 20);
        assert.ok(health.limits.pullBytes > 0);
        const big = await model(a, "p", "big");
        const small = await model(a, "p", "small");
        await bigPlot(a, big, 0, 2 << 20);
        await a.flush();
        await a.append([{ stream: `model:${big}`, type: "model.published", data: {} }]);
        await a.append([{ stream: `model:${small}`, type: "model.published", data: {} }]);
        // Half-megabyte plots: several pushes, each under the limit.
        for (let i = 0; i < 6; i++) await bigPlot(a, small, i, 400_000);
        const w = new SyncWorker({ server: server.url, store: a });
        const r = await w.push();
        assert.equal(r.events, 9); // both creations, the small model's publish and plots
        const held = await w.quarantined();
        assert.deepEqual(held.map((q) => q.type), ["metric.plot", "model.published"]);
        assert.match(held[0]!.reason, /more than the \d+ bytes the server takes/);
        assert.equal(held[1]!.heldBy, held[0]!.id);
        assert.equal((await w.status()).held, 2);
        const on = await serverEvents(server.url);
        assert.equal(on.filter((e) => e.stream === `model:${small}`).length, 8);
        assert.equal(on.filter((e) => e.stream === `model:${big}`).length, 1);
      } finally {
        await a.close();
        await server.close();
      }
    });
  },
);

Deno.test("a flipped byte in a local blob holds that model back; every other model syncs", async () => {
  await withTempDir(async (dir) => {
    const server = await spawnServer({ db: join(dir, "server", "modelog.db"), quiet: true });
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    try {
      const bad = await model(a, "p", "bad");
      const file = join(dir, "w.bin");
      const bytes = crypto.getRandomValues(new Uint8Array(4096));
      await Deno.writeFile(file, bytes);
      const m = await Model.get(bad, { store: a });
      assert.equal(m.name, "bad");
      const info = await a.blobs.putFile(file);
      await a.append([{
        stream: `model:${bad}`,
        type: "model.weights_updated",
        data: { uri: `file://${file}`, hash: info.hash, size: info.size },
      }, { stream: `model:${bad}`, type: "model.tags_changed", data: { add: ["later"] } }]);
      const others = [await model(a, "p", "one"), await model(a, "p", "two")];
      // Flip one byte of the stored blob.
      const flipped = bytes.slice();
      flipped[100] = flipped[100]! ^ 0xff;
      await Deno.chmod(a.blobs.pathOf(info.hash), 0o644).catch(() => {});
      await Deno.writeFile(a.blobs.pathOf(info.hash), flipped);

      const w = new SyncWorker({ server: server.url, store: a });
      const r = await w.push();
      assert.equal(r.events, 3); // the three creations
      const held = await w.quarantined();
      assert.deepEqual(held.map((q) => q.type), ["model.weights_updated", "model.tags_changed"]);
      assert.match(held[0]!.reason, /blob .*HASH_MISMATCH/);
      assert.match(held[1]!.reason, /waits behind/);
      // The second device gets every other model.
      await new SyncWorker({ server: server.url, store: b }).pull();
      for (const id of others) assert.ok(await Model.get(id, { store: b }));
      // The blob put right, a retry sends the held events.
      await Deno.writeFile(a.blobs.pathOf(info.hash), bytes);
      assert.deepEqual(await w.retry(held[1]!.id), { events: 2, held: 0 });
      assert.deepEqual(await w.quarantined(), []);
      await new SyncWorker({ server: server.url, store: b }).pull();
      const there = await Model.get(bad, { store: b });
      assert.deepEqual(there.tags, ["later"]);
      const copy = await there.getLocalCopy();
      assert.deepEqual(await Deno.readFile(copy!), bytes);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});

serverTest(
  "a model written outside the token's project is held; the project's models sync; the CLI drops it",
  async (backend) => {
    await withTempDir(async (dir) => {
      const tokens = await writeTokensFile(dir, [
        { token: "vision-token-1234", role: "write", projects: ["vision"] },
        { token: "admin-token-12345", role: "admin" },
      ]);
      const server = await spawnServer({ ...(await backend.fresh(dir)).serve, tokens });
      const home = join(dir, "a");
      const a = await openStore({ home });
      const stray = await model(a, "other", "oops");
      await a.append([{ stream: `model:${stray}`, type: "model.removed", data: {} }]);
      const vision = [
        await model(a, "vision", "v1"),
        await model(a, "vision", "v2"),
        await model(a, "vision", "v3"),
      ];
      await a.close();
      try {
        const env = { MODELOG_SERVER: server.url, MODELOG_TOKEN: "vision-token-1234" };
        const pushed = JSON.parse(await cli(["sync", "push", "--home", home, "--json"], env));
        assert.equal(pushed.events, 3);
        const status = await cli(["sync", "status", "--home", home], env);
        assert.match(status, /held +2/);
        assert.match(status, /outside this token's projects/);
        const held = JSON.parse(await cli(["sync", "held", "--home", home, "--json"], env));
        assert.deepEqual(held.map((q: { type: string }) => q.type), [
          "model.created",
          "model.removed",
        ]);
        // Dropping the creation sends the removal, which the server refuses in its turn.
        const dropped = JSON.parse(
          await cli(["sync", "drop", held[0].id, "--home", home, "--json"], env),
        );
        assert.deepEqual(dropped, { events: 0, held: 1 });
        await cli(["sync", "drop", held[1].id, "--home", home, "--json"], env);
        assert.deepEqual(
          JSON.parse(await cli(["sync", "held", "--home", home, "--json"], env)),
          [],
        );
        // The vision models are on the server and reach a second device.
        const b = await openStore({ home: join(dir, "b") });
        try {
          await new SyncWorker({ server: server.url, store: b, token: "admin-token-12345" }).pull();
          for (const id of vision) assert.ok(await Model.get(id, { store: b }));
          await assert.rejects(() => Model.get(stray, { store: b }));
        } finally {
          await b.close();
        }
      } finally {
        await server.stop();
      }
    });
  },
);

Deno.test("a second device fetches weights from the server it last synced with, or --server", async () => {
  await withTempDir(async (dir) => {
    const server = await spawnServer({ db: join(dir, "server", "modelog.db"), quiet: true });
    const a = await openStore({ home: join(dir, "a") });
    const file = join(dir, "net.bin");
    const bytes = crypto.getRandomValues(new Uint8Array(10_000));
    await Deno.writeFile(file, bytes);
    const id = await model(a, "p", "net");
    const info = await a.blobs.putFile(file);
    await a.append([{
      stream: `model:${id}`,
      type: "model.weights_updated",
      data: { uri: `file://${join(dir, "gone", "net.bin")}`, hash: info.hash, size: info.size },
    }]);
    await new SyncWorker({ server: server.url, store: a }).push();
    await a.close();
    try {
      // `sync pull` in one process, `models download` in another: no worker in that one.
      const home = join(dir, "b");
      await cli(["sync", "pull", "--home", home, "--server", server.url]);
      const out = join(dir, "out");
      const got = JSON.parse(await cli(["models", "download", id, out, "--home", home, "--json"]));
      assert.deepEqual(await Deno.readFile(got.path), bytes);
      // In this process too, a fresh open (no SyncWorker touched it) fetches by hash.
      await Deno.remove(join(home, "blobs"), { recursive: true });
      const b = await openStore({ home });
      try {
        const copy = await (await Model.get(id, { store: b })).getLocalCopy();
        assert.deepEqual(await Deno.readFile(copy!), bytes);
      } finally {
        await b.close();
      }
      // A store that never synced: --server names the server.
      const c = join(dir, "c");
      const src = await openStore({ home: c });
      await src.ingest(
        (await serverEvents(server.url)).map(({ seq: _s, ...e }) => e),
        { remote: true },
      );
      await src.close();
      const via = JSON.parse(
        await cli([
          "models",
          "download",
          id,
          join(dir, "out2"),
          "--home",
          c,
          "--server",
          server.url,
          "--json",
        ]),
      );
      assert.deepEqual(await Deno.readFile(via.path), bytes);
    } finally {
      await server.stop();
    }
  });
});

Deno.test("sync status keeps the last success and error between runs; errors name URL and cause", async () => {
  await withTempDir(async (dir) => {
    const server = await spawnServer({ db: join(dir, "server", "modelog.db"), quiet: true });
    const home = join(dir, "a");
    const a = await openStore({ home });
    await model(a, "p", "m");
    await a.close();
    const url = server.url;
    await cli(["sync", "push", "--home", home, "--server", url]);
    let st = JSON.parse(await cli(["sync", "status", "--home", home, "--server", url, "--json"]));
    assert.ok(st.lastSuccess, "lastSuccess survives the process");
    assert.equal(st.lastError, null, "no error: the --json object says null");
    await server.stop();
    const s2 = await openStore({ home });
    await model(s2, "p", "n");
    const w = new SyncWorker({ server: url, store: s2, maxRetries: 2, retryBaseMs: 1 });
    const err = await w.push().then(() => undefined, (e) => e as Error);
    assert.ok(err);
    assert.ok(err.message.includes(`${url}/v1/`), err.message);
    assert.match(err.message, /failed after 2 attempts: .+/);
    await s2.close();
    st = JSON.parse(await cli(["sync", "status", "--home", home, "--server", url, "--json"]));
    assert.ok(st.lastSuccess);
    assert.ok(String(st.lastError).includes(url), st.lastError);
  });
});
