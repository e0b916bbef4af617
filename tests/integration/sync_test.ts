/**
 * Sync tests against real `cli.ts serve` processes on 127.0.0.1: two devices converging in
 * both orders, idempotent pushes, SIGKILL of the worker and of the server mid-push, a resumed
 * 200 MB upload, hash-checked blobs, remote local copies and the background loop.
 */
import { readAll, readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Model,
  openStore,
  OutputModel,
  type Store,
  type StoredEvent,
  SyncError,
  SyncWorker,
  Task,
} from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { sha256File } from "../../lib/weights/blobs.ts";
import * as protocol from "../../lib/sync/protocol.ts";
import { waitFor } from "../fixtures/wait.ts";
import { craft, hlc, withTempDir } from "../fixtures/helpers.ts";
import {
  resultOf,
  serverEvents,
  type ServerProc,
  spawnDeno,
  spawnServer,
  WORKER,
  writeBigFile,
  writeTokensFile,
} from "../fixtures/sync_helpers.ts";
import { LIBSQL, type ServerBackend, serverTest } from "../fixtures/server_backends.ts";

/** Local events of a store (ids in local order). */
async function localIds(store: Store): Promise<string[]> {
  const rows = await readAll<{ id: string }>(
    store,
    "SELECT id FROM events WHERE remote = 0 ORDER BY seq",
  );
  return rows.map((r) => r.id);
}

/** Fills a store with one model and `n` local `metric.scalars` events. */
async function fillScalars(store: Store, n: number): Promise<string> {
  const id = newId();
  const stream = `model:${id}`;
  await store.append([{
    stream,
    type: "model.created",
    data: { name: "many", project: "sync", tags: [] },
  }]);
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      batch.push({
        stream,
        type: "metric.scalars" as const,
        data: { title: "loss", series: `s${j % 7}`, iters: [j], values: [1 / (j + 1)] },
      });
    }
    await store.append(batch);
  }
  return id;
}

/**
 * Runs `fn` with a temp dir and a server on a fresh database of `backend` (on libSQL,
 * `<dir>/server/modelog.db`), stopped afterwards.
 */
async function withServer(
  backend: ServerBackend,
  fn: (server: ServerProc, dir: string) => Promise<void>,
  options: { tokens?: string } = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const server = await spawnServer({
      ...(await backend.fresh(dir)).serve,
      quiet: true,
      ...(options.tokens ? { tokens: options.tokens } : {}),
    });
    try {
      await fn(server, dir);
    } finally {
      await server.crash();
    }
  });
}

/** Offline edits of the same model on two devices, then syncs in `order`; dumps must match. */
async function twoDevices(backend: ServerBackend, order: "ABA" | "BAB"): Promise<void> {
  await withTempDir(async (dir) => {
    const sdb = await backend.fresh(dir);
    let server = await spawnServer({ ...sdb.serve, quiet: true });
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    const stores: Store[] = [a, b];
    try {
      const wa = new SyncWorker({ server: server.url, store: a });
      const wb = new SyncWorker({ server: server.url, store: b });
      // A creates the model; both devices see it.
      const task = await Task.init({ projectName: "sync", taskName: "train", store: a });
      const base = new OutputModel({ task, name: "net", tags: ["base", "old"] });
      await base.setMetadata("lr", 0.1);
      await base.setMetadata("owner", "a");
      base.reportScalar("loss", "train", 1, 0);
      await base.flush();
      await task.close();
      await wa.sync();
      await wb.sync();
      const id = base.id;
      const onA = await Model.get(id, { store: a });
      const onB = await Model.get(id, { store: b });
      assert.equal(onB.name, "net");

      // Offline edits on both devices.
      await onA.setName("net-a");
      await onA.addTags("a1", "shared");
      await onA.removeTags("old");
      await onA.setMetadata("lr", 0.2);
      await onA.setMetadata("from_a", true);
      await onA.publish();
      for (let i = 1; i <= 5; i++) onA.reportScalar("loss", "train", 1 / (i + 1), i);
      onA.reportScalar("acc", "a", 0.5, 1);
      onA.reportSingleValue("f1", 0.7);
      await onA.flush();

      await onB.setName("net-b");
      await onB.addTags("b1");
      await onB.removeTags("base", "shared");
      await onB.setMetadata("lr", 0.3);
      await onB.removeMetadata("owner");
      await onB.archive();
      for (let i = 3; i <= 8; i++) onB.reportScalar("loss", "train", 2 / (i + 1), i);
      onB.reportScalar("acc", "b", 0.25, 1);
      await onB.flush();

      const workers = { A: wa, B: wb };
      for (const who of order) await workers[who as "A" | "B"].sync();

      const dumpA = await a.dump();
      const dumpB = await b.dump();
      assert.deepEqual(dumpB, dumpA, `devices converge (${order})`);

      // Both devices' edits merged: B's rename and metadata are newer; A's publish and B's
      // archive both hold; tags are per-element last-writer-wins.
      const m = await Model.get(id, { store: a });
      assert.equal(m.name, "net-b");
      assert.equal(m.published, true);
      assert.equal(m.archived, true);
      assert.deepEqual([...m.tags].sort(), ["a1", "b1"]);
      assert.equal(m.getMetadataCasted("lr"), 0.3);
      assert.equal(m.getMetadata("owner"), undefined);
      assert.equal(m.getMetadataCasted("from_a"), true);
      const scalars = await m.getReportedScalars();
      assert.deepEqual(Object.keys(scalars).sort(), ["acc", "loss"]);

      // A third, fresh device that pulls everything.
      const c = await openStore({ home: join(dir, "c") });
      stores.push(c);
      const pulled = await new SyncWorker({ server: server.url, store: c }).pull();
      assert.ok(pulled.fresh > 0);
      assert.deepEqual(await c.dump(), dumpA, `a fresh puller converges (${order})`);

      // The server's own store, opened after a graceful stop.
      await server.stop();
      const s = await sdb.open(join(dir, "server"));
      try {
        assert.deepEqual(await s.dump(), dumpA, `the server converges (${order})`);
        const n = await readOne<{ n: number }>(s, "SELECT count(*) AS n FROM events");
        const ids = new Set([...(await localIds(a)), ...(await localIds(b))]);
        assert.equal(Number(n?.n), ids.size, "every device event once on the server");
      } finally {
        await s.close();
      }
      server = await spawnServer({ ...sdb.serve, quiet: true });
    } finally {
      for (const s of stores) await s.close();
      await server.crash();
    }
  });
}

serverTest("two devices editing one model offline converge: sync A, B, A", async (backend) => {
  await twoDevices(backend, "ABA");
});

serverTest("two devices editing one model offline converge: sync B, A, B", async (backend) => {
  await twoDevices(backend, "BAB");
});

serverTest(
  "pushing the same batch twice: second answer is all duplicates, no duplicate rows",
  async (backend) => {
    await withServer(backend, async (server) => {
      const id = newId();
      const s = `model:${id}`;
      const w = Date.now();
      const events: StoredEvent[] = [
        craft(s, "model.created", { name: "dup", project: "p", tags: [] }, hlc(w, 0, "dev1")),
      ];
      for (let i = 1; i < 25; i++) {
        events.push(
          craft(s, "model.updated", { fields: { comment: `c${i}` } }, hlc(w + i, 0, "dev1")),
        );
      }
      const post = async () => {
        const res = await fetch(`${server.url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ events }),
        });
        assert.equal(res.status, 200);
        return await res.json();
      };
      const first = await post();
      assert.equal(first.accepted, events.length);
      assert.equal(first.duplicates, 0);
      const second = await post();
      assert.equal(second.accepted, 0);
      assert.equal(second.duplicates, events.length);
      assert.equal(second.seq, first.seq, "the server sequence did not move");
      const all = await serverEvents(server.url);
      assert.equal(all.length, events.length);
      assert.deepEqual(new Set(all.map((e) => e.id)), new Set(events.map((e) => e.id)));
      const rec = await fetch(`${server.url}/v1/models/${id}`).then((r) => r.json());
      assert.equal(rec.model.comment, "c24");
    });
  },
);

serverTest(
  "SIGKILL of the worker mid-push, then a restart: no duplicate, no gap",
  async (backend) => {
    await withServer(backend, async (server, dir) => {
      const home = join(dir, "dev");
      const store = await openStore({ home });
      await fillScalars(store, 3000);
      const local = await localIds(store);
      await store.close();
      const cfg = { home, server: server.url, action: "push", batchSize: 20 };
      let acked = 0;
      const first = spawnDeno(WORKER, [JSON.stringify(cfg)], {
        onLine: (l) => {
          const m = /^progress push (\d+)/.exec(l);
          if (m) {
            acked = Number(m[1]);
            first.kill("SIGKILL");
          }
        },
      });
      try {
        const st = await first.done;
        assert.equal(st.success, false, "the worker was killed mid-push");
      } finally {
        first.kill();
      }
      assert.ok(acked > 0 && acked < local.length);
      const partial = await serverEvents(server.url);
      assert.ok(partial.length >= acked && partial.length < local.length, "stopped mid-push");

      const second = spawnDeno(WORKER, [JSON.stringify(cfg)]);
      try {
        const st = await second.done;
        assert.equal(st.code, 0, second.stderr());
      } finally {
        second.kill();
      }
      const res = resultOf(second);
      assert.ok((res.events as number) <= local.length - acked, "the restart resumed");
      const all = await serverEvents(server.url);
      assert.equal(all.length, local.length, "server event count == local count");
      assert.deepEqual(new Set(all.map((e) => e.id)), new Set(local), "same ids");
      const status = resultOf(second, "status");
      assert.equal(status.pendingEvents, 0);
    });
  },
);

serverTest(
  "SIGKILL of the server mid-push loses nothing acknowledged; the worker resumes",
  async (backend) => {
    await withTempDir(async (dir) => {
      const sdb = await backend.fresh(dir);
      let server = await spawnServer({ ...sdb.serve, quiet: true });
      const port = server.port;
      const home = join(dir, "dev");
      const store = await openStore({ home });
      await fillScalars(store, 3000);
      const local = await localIds(store);
      await store.close();
      const cfg = {
        home,
        server: server.url,
        action: "push",
        batchSize: 20,
        maxRetries: 40,
        retryBaseMs: 50,
      };
      let acked = 0;
      let killed: Promise<void> | undefined;
      const worker = spawnDeno(WORKER, [JSON.stringify(cfg)], {
        onLine: (l) => {
          const m = /^progress push (\d+)/.exec(l);
          if (m && !killed) {
            acked = Number(m[1]);
            killed = server.crash();
          }
        },
      });
      try {
        await waitFor(() => killed !== undefined, { timeoutMs: 60_000, what: "the first ack" });
        await killed;
        // Every acknowledged event is in the dead server's database.
        const s = await sdb.open(join(dir, "server"));
        try {
          const rows = await readAll<{ id: string }>(s, "SELECT id FROM events");
          const onServer = new Set(rows.map((r) => r.id));
          for (const id of local.slice(0, acked)) assert.ok(onServer.has(id), `acked ${id} kept`);
          assert.ok(onServer.size < local.length, "the server died mid-push");
        } finally {
          await s.close();
        }
        server = await spawnServer({ ...sdb.serve, port, quiet: true });
        const st = await worker.done;
        assert.equal(st.code, 0, worker.stderr());
        const all = await serverEvents(server.url);
        assert.equal(all.length, local.length, "no duplicate, no gap");
        assert.deepEqual(new Set(all.map((e) => e.id)), new Set(local));
      } finally {
        worker.kill();
        await worker.done;
        await server.crash();
      }
    });
  },
);

// The tests below run on libSQL only: their blobs live in a folder whatever the database (the
// PostgreSQL and S3 blob paths have their own tests in pg_s3_test.ts and pg_instances_test.ts),
// and the background loop does not depend on the server's database.
Deno.test("a 200 MB upload killed midway resumes with the parts the server lacks and hashes right", async () => {
  await withServer(LIBSQL, async (server, dir) => {
    const home = join(dir, "dev");
    const file = await writeBigFile(join(dir, "weights.bin"), 200);
    const size = (await Deno.stat(file)).size;
    const store = await openStore({ home });
    const task = await Task.init({ projectName: "big", taskName: "train", store });
    const model = new OutputModel({ task, name: "big" });
    await model.updateWeights({ weightsFilename: file });
    await model.reload();
    const hash = model.hash;
    await task.close();
    await store.close();
    await Deno.remove(file);
    const health = await fetch(`${server.url}/v1/health`).then((r) => r.json());
    assert.ok(health.capabilities.includes(protocol.BLOB_PARTS), "the server takes parts");
    const { blobPart, blobPartsInFlight } = health.limits;
    const partialPath = join(dir, "server", "blobs", "partial", `${hash}.parts`);
    const partialSize = () => Deno.stat(partialPath).then((s) => s.size, () => 0);

    const cfg = { home, server: server.url, action: "push", blobEvery: 1 << 20 };
    let killedAt = 0;
    const first = spawnDeno(WORKER, [JSON.stringify(cfg)], {
      onLine: (l) => {
        const m = /^progress blob (\d+)/.exec(l);
        if (m && Number(m[1]) >= 48 << 20 && !killedAt) {
          killedAt = Number(m[1]);
          first.kill("SIGKILL");
        }
      },
    });
    try {
      const st = await first.done;
      assert.equal(st.success, false, `the upload was killed midway: ${first.stdout()}`);
    } finally {
      first.kill();
    }
    // The server keeps the parts that arrived whole; the parts cut by the kill are not kept.
    const probe = await fetch(`${server.url}${protocol.blobPath(hash)}`, { method: "HEAD" });
    assert.equal(probe.status, 404);
    const parts = protocol.parsePartRanges(probe.headers.get(protocol.UPLOAD_PARTS));
    assert.ok(parts && parts.length > 0, `the killed upload left parts: ${parts}`);
    assert.equal(Number(probe.headers.get(protocol.UPLOAD_PART_SIZE)), blobPart);
    const count = Math.ceil(size / blobPart);
    const lenOf = (n: number) => Math.min(blobPart, size - (n - 1) * blobPart);
    const kept = parts.reduce((n, p) => n + lenOf(p), 0);
    assert.ok(kept > 0 && kept < size && parts.length < count, `kept ${kept} of ${size}`);

    const again = await openStore({ home });
    try {
      const w = new SyncWorker({ server: server.url, store: again });
      const res = await w.push();
      assert.equal(res.blobs, 1);
      // Only the missing parts go again (a part still landing at the probe may go twice).
      assert.ok(
        res.bytes <= size - kept,
        `resumed: sent ${res.bytes} of the ${size - kept} missing`,
      );
      assert.ok(
        res.bytes >= size - kept - blobPartsInFlight * blobPart,
        `sent ${res.bytes}, at least the ${size - kept} missing less the parts then in flight`,
      );
      assert.equal((await w.status()).bytesSent, res.bytes);
    } finally {
      await again.close();
    }
    const blobPath = join(dir, "server", "blobs", "sha256", hash.slice(0, 2), hash);
    const check = await sha256File(blobPath);
    assert.equal(check.hash, hash);
    assert.equal(check.size, size);
    assert.equal(await partialSize(), 0, "the partial file is gone");
    const head = await fetch(`${server.url}/v1/blobs/sha256/${hash}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(size));
  });
});

Deno.test("a blob whose bytes do not match its hash is refused and not stored", async () => {
  await withServer(LIBSQL, async (server, dir) => {
    const good = new TextEncoder().encode("the real weights");
    const hash = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", good)),
      (x) => x.toString(16).padStart(2, "0"),
    ).join("");
    const bad = new TextEncoder().encode("fake weights!!!!");
    const url = `${server.url}/v1/blobs/sha256/${hash}`;
    const res = await fetch(url, {
      method: "PUT",
      headers: { "Upload-Offset": "0", "Upload-Length": String(bad.length) },
      body: bad,
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "HASH_MISMATCH");
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.status, 404);
    assert.equal(head.headers.get("upload-offset"), "0", "the bad bytes were dropped");
    const stored = join(dir, "server", "blobs", "sha256", hash.slice(0, 2), hash);
    assert.equal(await Deno.stat(stored).then(() => true, () => false), false);
    // The right bytes are then accepted.
    const ok = await fetch(url, {
      method: "PUT",
      headers: { "Upload-Offset": "0", "Upload-Length": String(good.length) },
      body: good,
    });
    assert.equal(ok.status, 201);
    await ok.body?.cancel();
    assert.deepEqual(await Deno.readFile(stored), good);
  });
});

Deno.test("getLocalCopy of a remote model downloads the blob by hash and verifies it", async () => {
  await withServer(LIBSQL, async (server, dir) => {
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    const c = await openStore({ home: join(dir, "c") });
    try {
      const bytes = new Uint8Array(300_000);
      for (let i = 0; i < bytes.length; i += 65536) {
        crypto.getRandomValues(bytes.subarray(i, i + 65536));
      }
      const src = join(dir, "model.onnx");
      await Deno.writeFile(src, bytes);
      const task = await Task.init({ projectName: "remote", taskName: "t", store: a });
      const m = new OutputModel({ task, name: "shared-weights" });
      await m.updateWeights({ weightsFilename: src });
      await task.close();
      const pushed = await new SyncWorker({ server: server.url, store: a }).push();
      assert.equal(pushed.blobs, 1);
      await Deno.remove(src); // the uri on device A is useless to B now

      const wb = new SyncWorker({ server: server.url, store: b });
      await wb.pull();
      const onB = await Model.get(m.id, { store: b });
      assert.equal(await b.blobs.has(onB.hash), false);
      const path = await onB.getLocalCopy();
      assert.ok(path);
      assert.deepEqual(await Deno.readFile(path), bytes);
      assert.equal(await b.blobs.has(onB.hash), true, "kept in B's blob store by hash");

      // A server blob whose bytes went bad is refused by the download.
      const blobFile = join(dir, "server", "blobs", "sha256", onB.hash.slice(0, 2), onB.hash);
      const corrupt = bytes.slice();
      corrupt[1000] ^= 0xff;
      await Deno.chmod(blobFile, 0o644).catch(() => {});
      await Deno.writeFile(blobFile, corrupt);
      const wc = new SyncWorker({ server: server.url, store: c });
      await assert.rejects(() => wc.fetchBlob(onB.hash), (e: Error & { code?: string }) => {
        assert.equal(e.code, "HASH_MISMATCH");
        return true;
      });
      assert.equal(await c.blobs.has(onB.hash), false);
      await wc.pull();
      const onC = await Model.get(m.id, { store: c });
      await assert.rejects(() => onC.getLocalCopy());
    } finally {
      await a.close();
      await b.close();
      await c.close();
    }
  });
});

Deno.test("background loop: start() syncs until stop()", async () => {
  await withServer(LIBSQL, async (server, dir) => {
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    const wa = new SyncWorker({ server: server.url, store: a, intervalMs: 30 });
    const wb = new SyncWorker({ server: server.url, store: b, intervalMs: 30 });
    try {
      await fillScalars(a, 50);
      wa.start();
      wb.start();
      assert.equal((await wa.status()).running, true);
      await waitFor(async () => (await wa.status()).pendingEvents === 0, { what: "a's push" });
      await waitFor(
        async () =>
          Number((await readOne<{ n: number }>(b, "SELECT count(*) AS n FROM events"))?.n) === 51,
        { what: "b's pull" },
      );
      await fillScalars(a, 10);
      await waitFor(
        async () =>
          Number((await readOne<{ n: number }>(b, "SELECT count(*) AS n FROM events"))?.n) === 62,
        { what: "b's second pull" },
      );
      await wa.stop();
      await wb.stop();
      const st = await wa.status();
      assert.equal(st.running, false);
      assert.ok(st.lastSuccess instanceof Date);
      assert.equal(st.lastError, undefined);
      assert.deepEqual(await b.dump(), await a.dump());
    } finally {
      await wa.stop();
      await wb.stop();
      await a.close();
      await b.close();
    }
  });
});

Deno.test("background loop: a permanent rejection (403) stops the loop with lastError", async () => {
  await withTempDir(async (dir) => {
    const tokens = await writeTokensFile(dir, [{ token: "reader-token-1234", role: "read" }]);
    const server = await spawnServer({ db: join(dir, "server", "modelog.db"), tokens });
    const a = await openStore({ home: join(dir, "a") });
    const w = new SyncWorker({
      server: server.url,
      store: a,
      token: "reader-token-1234",
      intervalMs: 20,
    });
    try {
      await fillScalars(a, 5);
      await assert.rejects(() => w.push(), (e) => e instanceof SyncError);
      w.start();
      await waitFor(async () => !(await w.status()).running, { what: "the loop to stop" });
      const st = await w.status();
      assert.match(st.lastError ?? "", /403/);
      assert.equal(st.pendingEvents, 6);
      await w.stop();
      // The server logs each request as it answers it, in order: once a request sent after
      // stop() is logged, every POST of the worker is too. One push, one loop attempt, and no
      // retry (a retry timer left behind would also fail the ops sanitizer).
      await (await fetch(`${server.url}/v1/health`)).body?.cancel();
      await waitFor(() => server.log().includes("GET /v1/health"), { what: "the health log" });
      const posts = server.log().split("\n").filter((l) => l.startsWith("POST /v1/events"));
      assert.equal(posts.length, 2, "no retries after a permanent rejection");
    } finally {
      await w.stop();
      await a.close();
      await server.crash();
    }
  });
});
