/**
 * Blob uploads in numbered parts (`blob-parts`): parts in any order, a part sent twice, the
 * hash checked when the last part lands, and the capability in `/v1/health`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { startServer } from "../../lib/server/server.ts";
import * as protocol from "../../lib/sync/protocol.ts";
import { sha256File } from "../../lib/weights/blobs.ts";
import { withTempDir } from "../fixtures/helpers.ts";
import { InvalidArgumentError } from "../../lib/errors.ts";
import { openStore, OutputModel, SyncWorker, Task } from "../../mod.ts";

const PART = 1024 * 1024;

function bytesOf(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536));
  return b;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function putPart(url: string, blob: Uint8Array, n: number, hash = sha(blob)) {
  const res = await fetch(`${url}${protocol.blobPath(hash)}`, {
    method: "PUT",
    headers: {
      [protocol.UPLOAD_PART_NUMBER]: String(n),
      [protocol.UPLOAD_PART_SIZE]: String(PART),
      [protocol.UPLOAD_LENGTH]: String(blob.length),
    },
    body: blob.slice((n - 1) * PART, n * PART),
  });
  return {
    status: res.status,
    body: await res.json(),
    parts: res.headers.get(protocol.UPLOAD_PARTS),
  };
}

Deno.test("parts sent in reverse order, one twice, make the blob; the hash is checked", async () => {
  await withTempDir(async (dir) => {
    const server = await startServer({ port: 0, db: join(dir, "s.db"), log: () => {} });
    try {
      const health = await fetch(`${server.url}/v1/health`).then((r) => r.json());
      assert.ok(health.capabilities.includes(protocol.BLOB_PARTS));
      assert.ok(health.limits.blobPart >= PART && health.limits.blobPartsInFlight >= 1);
      const blob = bytesOf(3 * PART + 77);
      const hash = sha(blob);
      assert.deepEqual((await putPart(server.url, blob, 4)).parts, "4");
      assert.equal((await putPart(server.url, blob, 2)).parts, "2,4");
      const again = await putPart(server.url, blob, 2);
      assert.equal(again.status, 202);
      assert.equal(again.parts, "2,4", "a part sent again changes nothing");
      const head = await fetch(`${server.url}${protocol.blobPath(hash)}`, { method: "HEAD" });
      assert.equal(head.status, 404);
      assert.equal(head.headers.get(protocol.UPLOAD_PARTS), "2,4");
      assert.equal(head.headers.get(protocol.UPLOAD_PART_SIZE), String(PART));
      assert.equal((await putPart(server.url, blob, 3)).status, 202);
      const last = await putPart(server.url, blob, 1);
      assert.equal(last.status, 201);
      assert.deepEqual(last.body, { hash, complete: true, offset: blob.length });
      const stored = await sha256File(join(dir, "blobs", "sha256", hash.slice(0, 2), hash));
      assert.deepEqual(stored, { hash, size: blob.length });
      const got = new Uint8Array(
        await (await fetch(`${server.url}${protocol.blobPath(hash)}`)).arrayBuffer(),
      );
      assert.equal(sha(got), hash);
    } finally {
      await server.close();
    }
  });
});

Deno.test("parts whose bytes do not hash to the name are refused when the last lands", async () => {
  await withTempDir(async (dir) => {
    const server = await startServer({ port: 0, db: join(dir, "s.db"), log: () => {} });
    try {
      const blob = bytesOf(2 * PART + 5);
      const wrong = sha(bytesOf(16));
      assert.equal((await putPart(server.url, blob, 2, wrong)).status, 202);
      assert.equal((await putPart(server.url, blob, 3, wrong)).status, 202);
      const last = await putPart(server.url, blob, 1, wrong);
      assert.equal(last.status, 400);
      assert.equal(last.body.error.code, "HASH_MISMATCH");
      const head = await fetch(`${server.url}${protocol.blobPath(wrong)}`, { method: "HEAD" });
      assert.equal(head.status, 404, "nothing stored");
      assert.equal(head.headers.get(protocol.UPLOAD_PARTS), null, "the upload is dropped");
      const partial = await Array.fromAsync(Deno.readDir(join(dir, "blobs", "partial")));
      assert.deepEqual(partial.map((e) => e.name), []);
    } finally {
      await server.close();
    }
  });
});

Deno.test("a part number, size or length that does not fit is refused by name", async () => {
  await withTempDir(async (dir) => {
    const server = await startServer({ port: 0, db: join(dir, "s.db"), log: () => {} });
    try {
      const blob = bytesOf(PART + 1);
      const beyond = await putPart(server.url, blob, 3);
      assert.equal(beyond.status, 400);
      assert.match(beyond.body.error.message, /Upload-Length/);
      assert.equal((await putPart(server.url, blob, 1)).status, 202);
      const res = await fetch(`${server.url}${protocol.blobPath(sha(blob))}`, {
        method: "PUT",
        headers: {
          [protocol.UPLOAD_PART_NUMBER]: "2",
          [protocol.UPLOAD_PART_SIZE]: String(PART / 2),
          [protocol.UPLOAD_LENGTH]: String(blob.length),
        },
        body: blob.slice(PART / 2, PART),
      });
      const body = await res.json();
      assert.equal(res.status, 400);
      assert.match(body.error.message, /partSize/);
    } finally {
      await server.close();
    }
  });
});

Deno.test("part ranges format and parse", () => {
  assert.equal(protocol.formatPartRanges([5, 1, 2, 3, 9, 10]), "1-3,5,9-10");
  assert.deepEqual(protocol.parsePartRanges("1-3,5"), [1, 2, 3, 5]);
  assert.deepEqual(protocol.parsePartRanges(""), []);
  assert.equal(protocol.parsePartRanges("0-2"), undefined);
  assert.equal(protocol.parsePartRanges("x"), undefined);
  assert.equal(protocol.parsePartRanges(null), undefined);
});

Deno.test("blobParts: false sends offset requests to a server with blob-parts; the blob lands whole", async () => {
  await withTempDir(async (dir) => {
    assert.throws(
      () => new SyncWorker({ server: "http://127.0.0.1:1", blobParts: "no" as never }),
      (e: unknown) => e instanceof InvalidArgumentError && /blobParts/.test(e.message),
    );
    const server = await startServer({ port: 0, db: join(dir, "s.db"), log: () => {} });
    const store = await openStore({ home: join(dir, "dev") });
    try {
      const file = join(dir, "w.bin");
      const blob = bytesOf(3 * 1024 * 1024 + 5);
      await Deno.writeFile(file, blob);
      const task = await Task.init({ projectName: "p", taskName: "t", store });
      await new OutputModel({ task, name: "m" }).updateWeights({ weightsFilename: file });
      await task.close();
      const worker = new SyncWorker({ server: server.url, store, blobParts: false });
      await worker.push();
      const head = await fetch(`${server.url}${protocol.blobPath(sha(blob))}`, { method: "HEAD" });
      await head.body?.cancel();
      assert.equal(head.status, 200);
      assert.equal((await worker.status()).bytesSent, blob.length);
    } finally {
      await store.close();
      await server.close();
    }
  });
});
