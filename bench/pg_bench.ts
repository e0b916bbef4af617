/**
 * The server on PostgreSQL against the server on libSQL, in one run
 * (`npx -y deno@2.9.6 run -A bench/pg_bench.ts`):
 *
 * - push throughput of 16 concurrent clients (each POSTs batches of fresh events) against one
 *   libSQL instance, one PostgreSQL instance and two PostgreSQL instances (clients split
 *   between them), all real `cli.ts serve` processes;
 * - pull of every event (`GET /v1/events` pages of 5000) from the libSQL and the PostgreSQL
 *   instance;
 * - a blob put of `PG_BENCH_UPLOAD_MB` MB to S3 (s3rver) and to the local blob folder;
 * - the same upload through the server (a device's `SyncWorker.uploadBlob`: 2 MiB `PUT`s) to
 *   an instance on the local folder and to one on S3 (parts of 8 MiB, the bytes short of a
 *   part staged between requests).
 *
 * Environment: `PG_BENCH_EVENTS` events pushed per target (default 200000; the pull reads them
 * back; 1M takes several minutes per target on 2 cores), `PG_BENCH_UPLOAD_MB` (default 1024).
 * Needs PostgreSQL and s3rver as the tests do (`tests/fixtures/`).
 *
 * @module
 */
import { join } from "node:path";
import { newId } from "../lib/clock.ts";
import { BlobStore } from "../lib/weights/blobs.ts";
import { S3BlobStore } from "../lib/weights/s3_blobs.ts";
import { hlc } from "../tests/fixtures/helpers.ts";
import { startPostgres } from "../tests/fixtures/postgres.ts";
import { s3ServeOptions, startS3 } from "../tests/fixtures/s3.ts";
import { openStore, SyncWorker } from "../mod.ts";
import { type ServerProc, spawnServer } from "../tests/fixtures/sync_helpers.ts";

const EVENTS = Number(Deno.env.get("PG_BENCH_EVENTS") ?? 200_000);
const UPLOAD_MB = Number(Deno.env.get("PG_BENCH_UPLOAD_MB") ?? 1024);
const CLIENTS = 16;
const BATCH = 500;

function batch(origin: string, n: number, wall: number): string {
  const events = [];
  for (let i = 0; i < n; i++) {
    const id = newId();
    events.push({
      id: crypto.randomUUID(),
      stream: `model:${id}`,
      type: "model.created",
      at: hlc(wall, i, origin),
      origin,
      v: 1,
      actor: "bench",
      data: { name: `m-${i}`, project: "bench", tags: ["a"] },
    });
  }
  return JSON.stringify({ events });
}

/** Pushes EVENTS fresh events from 16 clients spread over `urls`; returns events/s. */
async function pushRate(urls: string[]): Promise<number> {
  const per = Math.ceil(EVENTS / CLIENTS / BATCH);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const url = urls[c % urls.length]!;
    for (let b = 0; b < per; b++) {
      const res = await fetch(`${url}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: batch(`c${c}b${b}`, BATCH, Date.now()),
      });
      if (!res.ok) throw new Error(`push: ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    }
  }));
  return (per * BATCH * CLIENTS) / ((performance.now() - t0) / 1000);
}

/** Pulls the whole log; returns [events, events/s]. */
async function pullRate(url: string): Promise<[number, number]> {
  const t0 = performance.now();
  let after = "0", n = 0;
  for (;;) {
    const body = await (await fetch(`${url}/v1/events?after=${after}&limit=5000`)).json();
    n += body.events.length;
    after = body.next;
    if (!body.more) break;
  }
  return [n, n / ((performance.now() - t0) / 1000)];
}

async function bigStream(mb: number): Promise<{ hash: string; stream: () => ReadableStream }> {
  const block = new Uint8Array(1 << 20);
  crypto.getRandomValues(block.subarray(0, 65536));
  const h = await crypto.subtle.digest("SHA-256", new Uint8Array(0)); // warm
  void h;
  const { createHash } = await import("node:crypto");
  const hasher = createHash("sha256");
  for (let i = 0; i < mb; i++) hasher.update(block);
  const hash = hasher.digest("hex");
  return {
    hash,
    stream: () => {
      let i = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (i++ < mb) c.enqueue(block.slice());
          else c.close();
        },
      });
    },
  };
}

const dir = await Deno.makeTempDir({ prefix: "modelog-pgbench-" });
const pg = await startPostgres();
const s3 = await startS3();
const rows: [string, string][] = [];
const started: ServerProc[] = [];
try {
  const lite = await spawnServer({ db: join(dir, "lite.db"), quiet: true });
  started.push(lite);
  const p1 = await spawnServer({ db: pg.url, blobs: join(dir, "b1"), quiet: true });
  started.push(p1);
  const liteRate = await pushRate([lite.url]);
  rows.push(["push, 16 clients, 1 libSQL instance", `${liteRate.toFixed(0)} events/s`]);
  const pg1Rate = await pushRate([p1.url]);
  rows.push(["push, 16 clients, 1 PostgreSQL instance", `${pg1Rate.toFixed(0)} events/s`]);
  const p2 = await spawnServer({ db: pg.url, blobs: join(dir, "b2"), quiet: true });
  started.push(p2);
  const pg2Rate = await pushRate([p1.url, p2.url]);
  rows.push(["push, 16 clients, 2 PostgreSQL instances", `${pg2Rate.toFixed(0)} events/s`]);
  rows.push(["ratio 1 PG / libSQL", (pg1Rate / liteRate).toFixed(2)]);
  rows.push(["ratio 2 PG / 1 PG", (pg2Rate / pg1Rate).toFixed(2)]);
  const [ln, lr] = await pullRate(lite.url);
  rows.push([`pull ${ln} events, libSQL`, `${lr.toFixed(0)} events/s`]);
  const [pn, pr] = await pullRate(p1.url);
  rows.push([`pull ${pn} events, PostgreSQL`, `${pr.toFixed(0)} events/s`]);
  rows.push(["ratio pull PG / libSQL", (pr / lr).toFixed(2)]);

  const big = await bigStream(UPLOAD_MB);
  const local = new BlobStore(join(dir, "local-blobs"));
  let t0 = performance.now();
  await local.putFromStream(big.hash, big.stream());
  const localS = (performance.now() - t0) / 1000;
  rows.push([`put ${UPLOAD_MB} MB, local folder`, `${(UPLOAD_MB / localS).toFixed(0)} MB/s`]);
  const remote = new S3BlobStore({
    url: `s3://${s3.bucket}/bench`,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  t0 = performance.now();
  await remote.putFromStream(big.hash, big.stream());
  const s3S = (performance.now() - t0) / 1000;
  rows.push([`put ${UPLOAD_MB} MB, S3 (s3rver)`, `${(UPLOAD_MB / s3S).toFixed(0)} MB/s`]);
  rows.push(["ratio S3 / local", (localS / s3S).toFixed(2)]);

  // Through the server: a device holding the blob uploads it to each kind of instance.
  const device = await openStore({ home: join(dir, "device") });
  try {
    await device.blobs.putFromStream(big.hash, big.stream());
    const p3 = await spawnServer({ db: pg.url, quiet: true, ...s3ServeOptions(s3) });
    started.push(p3);
    const through = async (url: string) => {
      const t = performance.now();
      await new SyncWorker({ server: url, store: device }).uploadBlob(big.hash);
      return (performance.now() - t) / 1000;
    };
    const viaLocal = await through(p1.url);
    rows.push([
      `upload ${UPLOAD_MB} MB via server, local folder`,
      `${(UPLOAD_MB / viaLocal).toFixed(0)} MB/s`,
    ]);
    const viaS3 = await through(p3.url);
    rows.push([`upload ${UPLOAD_MB} MB via server, S3`, `${(UPLOAD_MB / viaS3).toFixed(0)} MB/s`]);
    rows.push(["ratio via server S3 / local", (viaLocal / viaS3).toFixed(2)]);
  } finally {
    await device.close();
  }
} finally {
  for (const s of started) await s.stop();
  await s3.stop();
  await pg.stop();
  await Deno.remove(dir, { recursive: true });
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
