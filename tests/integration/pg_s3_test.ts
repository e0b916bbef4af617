/**
 * Server instances (real `cli.ts serve` processes) on one PostgreSQL and one S3 bucket
 * (s3rver): an upload begun on one instance completes on another, whatever the sizes of the
 * requests (bytes short of an S3 part are staged); an instance killed mid-upload leaves what
 * it acknowledged for another to continue; a wrong hash leaves no blob.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { checkPostgres, type PostgresServer, startPostgres } from "../fixtures/postgres.ts";
import { checkS3, s3ServeOptions, type S3Server, startS3 } from "../fixtures/s3.ts";
import { serviceGate } from "../fixtures/services.ts";
import { type ServerProc, spawnServer } from "../fixtures/sync_helpers.ts";
import { waitFor } from "../fixtures/wait.ts";

const pgCheck = await checkPostgres();
const s3Check = await checkS3();
const gate = serviceGate(
  "PostgreSQL and s3rver",
  !pgCheck.ok ? pgCheck : s3Check,
);

async function withS3Instances(
  n: number,
  fn: (servers: ServerProc[], s3: S3Server, pg: PostgresServer) => Promise<void>,
): Promise<void> {
  gate.requireService();
  const pg = await startPostgres();
  const s3 = await startS3();
  try {
    const servers = await Promise.all(
      Array.from(
        { length: n },
        () => spawnServer({ db: pg.url, quiet: true, ...s3ServeOptions(s3) }),
      ),
    );
    try {
      await fn(servers, s3, pg);
    } finally {
      await Promise.all(servers.map((s) => s.exited ? Promise.resolve() : s.stop()));
    }
  } finally {
    await s3.stop();
    await pg.stop();
  }
}

const MiB = 1024 * 1024;
/** `n` pseudo-random bytes (no two 64 KiB blocks alike). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}
const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const blobUrl = (s: ServerProc, hash: string) => `${s.url}/v1/blobs/sha256/${hash}`;

async function put(s: ServerProc, hash: string, all: Uint8Array, from: number, to: number) {
  const res = await fetch(blobUrl(s, hash), {
    method: "PUT",
    headers: { "Upload-Offset": String(from), "Upload-Length": String(all.length) },
    body: all.slice(from, to),
  });
  const body = await res.json();
  return { status: res.status, offset: Number(res.headers.get("upload-offset") ?? body.offset) };
}

async function headOffset(s: ServerProc, hash: string): Promise<number> {
  const res = await fetch(blobUrl(s, hash), { method: "HEAD" });
  await res.body?.cancel();
  return res.status === 200 ? -1 : Number(res.headers.get("upload-offset"));
}

Deno.test({
  name: "pg+s3: an upload begun on one instance completes on another",
  ignore: gate.ignore,
  async fn() {
    await withS3Instances(2, async ([a, b]) => {
      const bytes = randomBytes(12 * MiB);

      const hash = hex(bytes);
      // 3 MiB to A (staged: under a part), 4 MiB to B (still under the 8 MiB part), the rest
      // to A: parts of 8 MiB and 4 MiB.
      assert.deepEqual(await put(a!, hash, bytes, 0, 3 * MiB), { status: 202, offset: 3 * MiB });
      assert.equal(await headOffset(b!, hash), 3 * MiB);
      assert.equal((await put(a!, hash, bytes, 1 * MiB, 2 * MiB)).status, 409);
      assert.deepEqual(await put(b!, hash, bytes, 3 * MiB, 7 * MiB), {
        status: 202,
        offset: 7 * MiB,
      });
      assert.equal(await headOffset(a!, hash), 7 * MiB);
      assert.deepEqual(await put(a!, hash, bytes, 7 * MiB, 12 * MiB), {
        status: 201,
        offset: 12 * MiB,
      });
      assert.equal(await headOffset(b!, hash), -1);
      const whole = new Uint8Array(await (await fetch(blobUrl(b!, hash))).arrayBuffer());
      assert.equal(hex(whole), hash);
      const part = await fetch(blobUrl(a!, hash), { headers: { range: "bytes=8388600-8388615" } });
      assert.equal(part.status, 206);
      assert.deepEqual(new Uint8Array(await part.arrayBuffer()), bytes.slice(8388600, 8388616));
      // Small blobs (no part at all) and a wrong hash: nothing is stored for the latter.
      const small = new TextEncoder().encode("tiny weights");
      assert.equal((await put(b!, hex(small), small, 0, small.length)).status, 201);
      assert.equal(await (await fetch(blobUrl(a!, hex(small)))).text(), "tiny weights");
      const liar = "0".repeat(64);
      const bad = await fetch(blobUrl(a!, liar), {
        method: "PUT",
        headers: { "Upload-Offset": "0", "Upload-Length": String(small.length) },
        body: small,
      });
      await bad.body?.cancel();
      assert.ok(bad.status >= 400, `status ${bad.status}`);
      assert.equal(await headOffset(b!, liar), 0);
    });
  },
});

Deno.test({
  name: "pg+s3: an instance killed mid-upload leaves its parts for another to continue",
  ignore: gate.ignore,
  async fn() {
    await withS3Instances(2, async ([a, b]) => {
      const bytes = randomBytes(20 * MiB);
      const hash = hex(bytes);
      // A streamed body that sends 10 MiB, then waits (the instance dies while it reads).
      let hold!: () => void;
      const held = new Promise<void>((r) => (hold = r));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (sent >= 10 * MiB) {
            await held;
            c.close();
            return;
          }
          c.enqueue(bytes.slice(sent, sent + MiB));
          sent += MiB;
        },
      });
      const pending = fetch(blobUrl(a!, hash), {
        method: "PUT",
        headers: { "Upload-Offset": "0", "Upload-Length": String(bytes.length) },
        body,
      }).then((r) => r.body?.cancel(), () => undefined);
      // The first 8 MiB part is recorded in the database: B sees it.
      await waitFor(async () => (await headOffset(b!, hash)) >= 8 * MiB, {
        timeoutMs: 30_000,
        what: "the first part recorded",
      });
      await a!.crash();
      hold();
      await pending;
      const offset = await headOffset(b!, hash);
      assert.ok(offset >= 8 * MiB && offset <= 10 * MiB, `offset ${offset}`);
      assert.deepEqual(await put(b!, hash, bytes, offset, bytes.length), {
        status: 201,
        offset: bytes.length,
      });
      const whole = new Uint8Array(await (await fetch(blobUrl(b!, hash))).arrayBuffer());
      assert.equal(hex(whole), hash);
    });
  },
});
