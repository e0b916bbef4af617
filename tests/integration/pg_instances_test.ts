/**
 * Several server instances (real `cli.ts serve` processes) on one PostgreSQL database: devices
 * pushing and pulling through different instances at once converge to the server's
 * projections; an event whose transaction commits late is delivered once, never skipped; an
 * instance killed mid-push loses nothing it acknowledged.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model, openStore, OutputModel, type Store, SyncWorker, Task } from "../../mod.ts";
import { sha256File } from "../../lib/weights/blobs.ts";
import { postgres } from "../../lib/deps.ts";
import { newId } from "../../lib/clock.ts";
import { encodeEventData } from "../../lib/store/log.ts";
import { craft, hlc, withTempDir } from "../fixtures/helpers.ts";
import { checkPostgres, type PostgresServer, startPostgres } from "../fixtures/postgres.ts";
import { serviceGate } from "../fixtures/services.ts";
import {
  serverEvents,
  type ServerProc,
  spawnServer,
  writeBigFile,
} from "../fixtures/sync_helpers.ts";
import { waitFor } from "../fixtures/wait.ts";
import { checkS3, s3ServeOptions, startS3 } from "../fixtures/s3.ts";

const gate = serviceGate("PostgreSQL", await checkPostgres());
/** The size of the weights the devices push (MiB): `MODELOG_TEST_WEIGHTS_MIB`, default 50. */
const WEIGHTS_MIB = Number(Deno.env.get("MODELOG_TEST_WEIGHTS_MIB") ?? 50);
const pgCheck = await checkPostgres();
const s3Gate = serviceGate("PostgreSQL and s3rver", !pgCheck.ok ? pgCheck : await checkS3());

/**
 * A PostgreSQL and `n` instances on it: each with its own blob folder, or all on one s3rver
 * bucket (`s3`).
 */
async function withInstances(
  n: number,
  fn: (pg: PostgresServer, servers: ServerProc[], dir: string) => Promise<void>,
  o: { s3?: boolean } = {},
): Promise<void> {
  (o.s3 ? s3Gate : gate).requireService();
  const pg = await startPostgres();
  const s3 = o.s3 ? await startS3() : undefined;
  try {
    await withTempDir(async (dir) => {
      // Started at once: the migrations take an advisory lock, one runs, the others wait.
      const servers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          spawnServer({
            db: pg.url,
            quiet: true,
            ...(s3 ? s3ServeOptions(s3) : { blobs: join(dir, `blobs${i}`) }),
          })),
      );
      try {
        await fn(pg, servers, dir);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    });
  } finally {
    await s3?.stop();
    await pg.stop();
  }
}

/** Projections of a store, JSON-normalised. */
const dumpOf = async (s: Store) => JSON.parse(JSON.stringify(await s.dump()));

Deno.test({
  name: "pg instances: 8 devices through 3 instances on one S3 bucket converge, weights included",
  ignore: s3Gate.ignore,
  async fn() {
    await withInstances(3, async (pg, servers, dir) => {
      const devices: Store[] = [];
      try {
        for (let d = 0; d < 8; d++) devices.push(await openStore({ home: join(dir, `dev${d}`) }));
        const shared = newId();
        // Each device writes its own models and reports, and edits one shared model that
        // every device learns of by pulling; several rounds, all devices at once.
        const first = await Task.init({ projectName: "p", taskName: "t0", store: devices[0]! });
        const m0 = new OutputModel({ task: first, name: `shared-${shared}` });
        await m0.flush();
        await first.close();
        await new SyncWorker({ server: servers[0]!.url, store: devices[0]! }).push();
        // Two devices push weights of WEIGHTS_MIB through different instances, in round 0.
        const weights: string[] = [];
        for (let d = 0; d < 2; d++) {
          const t = await Task.init({ projectName: "p", taskName: `w${d}`, store: devices[d]! });
          const m = new OutputModel({ task: t, name: `weights-${d}` });
          const file = await writeBigFile(join(dir, `w${d}.bin`), WEIGHTS_MIB);
          await m.updateWeights({ weightsFilename: file });
          await t.close();
          weights.push(m.id);
        }
        for (let round = 0; round < 3; round++) {
          await Promise.all(devices.map(async (store, d) => {
            const w = new SyncWorker({ server: servers[(d + round) % 3]!.url, store });
            await w.pull();
            const task = await Task.init({ projectName: "p", taskName: `t${d}-${round}`, store });
            for (let k = 0; k < 3; k++) {
              const m = new OutputModel({ task, name: `m${d}-${round}-${k}`, tags: [`d${d}`] });
              for (let it = 0; it < 200; it++) m.reportScalar("loss", "train", 1 / (it + 1), it);
              await m.setMetadata("round", round);
              await m.flush();
            }
            const mine = await import("../../mod.ts").then((x) => x.Model.get(m0.id, { store }))
              .catch(() => undefined);
            if (mine) await mine.addTags(`seen-by-${d}-${round}`);
            await task.close();
            await w.push();
            await w.pull();
          }));
        }
        // A last pull by every device, through yet another instance.
        for (const [d, store] of devices.entries()) {
          await new SyncWorker({ server: servers[(d + 1) % 3]!.url, store }).pull();
        }
        const server = await openStore({ home: join(dir, "serverview"), url: pg.url });
        try {
          const want = await dumpOf(server);
          assert.ok(want.models.length >= 8 * 3 * 3, "every device's models reached the server");
          for (const [d, store] of devices.entries()) {
            assert.deepEqual(await dumpOf(store), want, `device ${d} equals the server`);
          }
          // Served once each: the log through any instance holds each event once.
          const ids = (await serverEvents(servers[2]!.url)).map((e) => e.id);
          assert.equal(new Set(ids).size, ids.length);
          // Every device gets a local copy of weights it never had, through any instance.
          await Promise.all(devices.map(async (store, d) => {
            new SyncWorker({ server: servers[d % 3]!.url, store });
            const m = await Model.get(weights[(d + 1) % 2]!, { store });
            const path = await m.getLocalCopy();
            assert.ok(path, `device ${d} has a copy`);
            assert.equal((await sha256File(path)).hash, m.hash);
          }));
        } finally {
          await server.close();
        }
      } finally {
        for (const s of devices) await s.close();
      }
    }, { s3: true });
  },
});

Deno.test({
  name: "pg instances: an event whose transaction commits late is delivered once, none skipped",
  ignore: gate.ignore,
  async fn() {
    await withInstances(2, async (pg, [a, b], dir) => {
      const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
      const device = await openStore({ home: join(dir, "dev") });
      try {
        const wall = Date.now();
        const late = craft(`model:${newId()}`, "model.created", {
          name: "late",
          project: "p",
          tags: [],
        }, hlc(wall, 0, "held"));
        const early = craft(`model:${newId()}`, "model.created", {
          name: "early",
          project: "p",
          tags: [],
        }, hlc(wall + 1, 0, "quick"));
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        let inserted!: () => void;
        const isInserted = new Promise<void>((r) => (inserted = r));
        // An instance's write transaction, held open after its event row is in (its
        // transaction id and seq are taken) while another instance commits a later one.
        const held = sql.begin(async (tx) => {
          await tx.unsafe(
            `INSERT INTO events (id, stream, type, at, origin, v, actor, data, remote)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)`,
            [
              late.id,
              late.stream,
              late.type,
              late.at,
              late.origin,
              late.v,
              late.actor,
              encodeEventData(late),
            ],
          );
          inserted();
          await released;
        });
        await isInserted;
        const push = await fetch(`${a!.url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ events: [early] }),
        });
        assert.equal(push.status, 200, await push.text());
        const w = new SyncWorker({ server: b!.url, store: device });
        await w.pull();
        const ids = async () => (await device.readEvents({ limit: 100 })).map((e) => e.id);
        // Held back, not skipped: the committed later event waits for the older transaction.
        assert.deepEqual(await ids(), []);
        release();
        await held;
        await w.pull();
        assert.deepEqual((await ids()).sort(), [early.id, late.id].sort());
        const all = (await serverEvents(b!.url)).map((e) => e.id);
        assert.deepEqual(all.sort(), [early.id, late.id].sort(), "each served once");
      } finally {
        await device.close();
        await sql.end();
      }
    });
  },
});

Deno.test({
  name: "pg instances: SIGKILL of an instance mid-push loses nothing it acknowledged",
  ignore: gate.ignore,
  async fn() {
    await withInstances(2, async (_pg, [a, b], dir) => {
      const device = await openStore({ home: join(dir, "dev") });
      try {
        const task = await Task.init({ projectName: "p", taskName: "t", store: device });
        for (let i = 0; i < 60; i++) {
          const m = new OutputModel({ task, name: `m${i}`, tags: ["k"] });
          await m.setMetadata("i", i);
          await m.addTags(`t${i}`);
        }
        await task.close();
        await device.flush();
        const w = new SyncWorker({ server: a!.url, store: device, batchSize: 5, maxRetries: 1 });
        const pushing = w.push().then(() => "done", () => "failed");
        await waitFor(async () => (await w.status()).pushCursor > 40, {
          what: "the push to be under way",
        });
        await a!.crash();
        await pushing;
        const acked = (await w.status()).pushCursor;
        const onServer = new Set((await serverEvents(b!.url)).map((e) => e.id));
        const local = await device.readEvents({ limit: 100_000, localOnly: true });
        for (const e of local) {
          if (e.seq! <= acked) assert.ok(onServer.has(e.id), `acknowledged ${e.id} kept`);
        }
        // The rest goes through the other instance.
        await new SyncWorker({ server: b!.url, store: device }).push();
        const after = new Set((await serverEvents(b!.url)).map((e) => e.id));
        for (const e of local) assert.ok(after.has(e.id));
      } finally {
        await device.close();
      }
    });
  },
});
