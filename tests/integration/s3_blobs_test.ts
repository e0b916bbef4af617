/**
 * The S3 blob backend against a real S3 protocol server (s3rver): puts, ranged gets, stats and
 * deletes; a 50 MB resumable upload in 5 MiB parts begun on one backend instance and finished
 * on another that shares only the upload state; a wrong hash refused with nothing left; bad
 * locations refused with typed errors.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HashMismatchError, InvalidArgumentError, WeightsNotFoundError } from "../../lib/errors.ts";
import {
  type BlobBackend,
  MemoryUploadStateStore,
  UploadNotFoundError,
} from "../../lib/weights/blob_backend.ts";
import { BlobStore } from "../../lib/weights/blobs.ts";
import { MIN_PART_SIZE, parseS3Url, S3BlobStore } from "../../lib/weights/s3_blobs.ts";
import { checkS3, type S3Server, startS3 } from "../fixtures/s3.ts";
import { serviceGate } from "../fixtures/services.ts";

const gate = serviceGate("s3rver", await checkS3());

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function streamOf(bytes: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
}

async function read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Pseudo-random bytes, fast to make in bulk. */
function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x & 255;
    out[i + 1] = (x >>> 8) & 255;
    out[i + 2] = (x >>> 16) & 255;
    out[i + 3] = x >>> 24;
  }
  return out;
}

function backend(s: S3Server, states = new MemoryUploadStateStore(), prefix = "team/blobs") {
  return new S3BlobStore({
    url: `s3://${s.bucket}/${prefix}`,
    endpoint: s.endpoint,
    region: "us-east-1",
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    uploadStates: states,
  });
}

async function objectFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else out.push(`${d}/${e.name}`);
    }
  };
  await walk(dir);
  return out;
}

function s3Test(name: string, fn: (s: S3Server) => Promise<void>) {
  Deno.test({
    name,
    ignore: gate.ignore,
    async fn() {
      gate.requireService();
      const server = await startS3();
      try {
        await fn(server);
      } finally {
        await server.stop();
      }
    },
  });
}

s3Test("s3 blobs: put, stat, get, ranges and delete", async (s) => {
  const blobs: BlobBackend = backend(s);
  const bytes = bytesOf(300_000, 7);
  const hash = sha(bytes);
  assert.equal(await blobs.stat(hash), null);
  await assert.rejects(blobs.get(hash), WeightsNotFoundError);
  assert.deepEqual(await blobs.putFromStream(hash, streamOf(bytes)), { size: bytes.byteLength });
  assert.deepEqual(await blobs.stat(hash), { size: bytes.byteLength });
  assert.deepEqual(await read(await blobs.get(hash)), bytes);
  assert.deepEqual(
    await read(await blobs.get(hash, { start: 1000, end: 5000 })),
    bytes.slice(1000, 5000),
  );
  assert.deepEqual(await read(await blobs.get(hash, { start: 299_990 })), bytes.slice(299_990));
  assert.deepEqual(await read(await blobs.get(hash, { start: 10, end: 10 })), new Uint8Array(0));
  assert.deepEqual(await read(await blobs.get(hash, { start: 0, end: 10 ** 9 })), bytes);
  assert.deepEqual(await read(await blobs.get(hash, { start: 300_000 })), new Uint8Array(0));
  await assert.rejects(blobs.get(hash, { start: 300_001 }), InvalidArgumentError);
  await assert.rejects(blobs.get(hash, { start: 5, end: 2 }), InvalidArgumentError);
  // The key layout is the local folder's, under the prefix.
  const files = await objectFiles(s.dir);
  assert.ok(
    files.some((f) => f.includes(`team/blobs/sha256/${hash.slice(0, 2)}/${hash}`)),
    files.join(),
  );
  // Empty blob, and a streamed put bigger than one part (goes multipart).
  const empty = new Uint8Array(0);
  await blobs.putFromStream(sha(empty), streamOf(empty));
  assert.deepEqual(await blobs.stat(sha(empty)), { size: 0 });
  const big = bytesOf(MIN_PART_SIZE * 2 + 123, 9);
  await blobs.putFromStream(sha(big), streamOf(big, 1 << 20));
  assert.deepEqual(await read(await blobs.get(sha(big))), big);
  assert.equal(await blobs.delete(hash), true);
  assert.equal(await blobs.delete(hash), false);
  assert.equal(await blobs.stat(hash), null);
});

s3Test("s3 blobs: a wrong hash is refused and leaves nothing", async (s) => {
  const blobs = backend(s);
  const bytes = bytesOf(100_000, 3);
  const wrong = sha(new TextEncoder().encode("something else"));
  await assert.rejects(blobs.putFromStream(wrong, streamOf(bytes)), HashMismatchError);
  assert.equal(await blobs.stat(wrong), null);
  // Bigger than a part: the multipart upload is aborted.
  const big = bytesOf(MIN_PART_SIZE + 10, 4);
  await assert.rejects(blobs.putFromStream(wrong, streamOf(big, 1 << 20)), HashMismatchError);
  assert.equal(await blobs.stat(wrong), null);
  // A resumable upload whose bytes differ: refused at completion, state and parts gone.
  const id = await blobs.begin(wrong, bytes.byteLength);
  await blobs.uploadPart(id, 1, bytes);
  await assert.rejects(blobs.complete(id), HashMismatchError);
  assert.equal(await blobs.stat(wrong), null);
  assert.equal(await blobs.uploadStates.get(id), null);
  await assert.rejects(blobs.complete(id), UploadNotFoundError);
  const left = (await objectFiles(s.dir)).filter((f) => f.includes("team/blobs"));
  assert.deepEqual(left, []);
});

s3Test("s3 blobs: a 50 MB upload in 5 MiB parts is finished by another instance", async (s) => {
  const shared = new MemoryUploadStateStore();
  const first = backend(s, shared);
  const second = backend(s, shared);
  const bytes = bytesOf(50_000_000, 11);
  const hash = sha(bytes);
  const id = await first.begin(hash, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let off = 0; off < bytes.byteLength; off += MIN_PART_SIZE) {
    parts.push(bytes.subarray(off, off + MIN_PART_SIZE));
  }
  assert.equal(parts.length, 10);
  for (let i = 0; i < 4; i++) await first.uploadPart(id, i + 1, parts[i]!);
  // The first instance is gone; the second continues from the shared state.
  let p = await second.uploadPart(id, 4, parts[3]!); // a retry of the last part: no change
  assert.deepEqual(p, {
    uploadId: id,
    nextPart: 5,
    received: 4 * MIN_PART_SIZE,
    length: 50_000_000,
  });
  await assert.rejects(second.uploadPart(id, 7, parts[6]!), /must be 5/);
  await assert.rejects(second.uploadPart(id, 4, parts[4]!), /other bytes/);
  await assert.rejects(second.uploadPart(id, 5, parts[4]!.subarray(0, 100)), /too few/);
  await assert.rejects(second.complete(id), /has 20971520 of its 50000000 bytes/);
  for (let i = 4; i < parts.length; i++) p = await second.uploadPart(id, i + 1, parts[i]!);
  assert.equal(p.received, 50_000_000);
  assert.equal(await first.stat(hash), null, "not visible before completion");
  assert.deepEqual(await second.complete(id), { size: 50_000_000 });
  assert.deepEqual(await first.stat(hash), { size: 50_000_000 });
  const back = await read(await first.get(hash));
  assert.equal(sha(back), hash);
  const mid = await read(await first.get(hash, { start: 25_000_000, end: 25_000_100 }));
  assert.deepEqual(mid, bytes.subarray(25_000_000, 25_000_100));
  // Aborting drops an upload.
  const other = await second.begin(hash, 10);
  assert.equal(await first.abort(other), true);
  assert.equal(await first.abort(other), false);
  await assert.rejects(first.uploadPart(other, 1, new Uint8Array(10)), UploadNotFoundError);
});

Deno.test("s3 blobs: bad locations and options are typed errors", () => {
  assert.deepEqual(parseS3Url("s3://my-bucket"), { bucket: "my-bucket", prefix: "" });
  assert.deepEqual(parseS3Url("s3://my-bucket/a/b/"), { bucket: "my-bucket", prefix: "a/b" });
  for (
    const bad of [
      "http://b/x",
      "s3://",
      "s3://UPPER/x",
      "s3://ab",
      "s3://b_x/y",
      "s3://bkt/a//b",
      "s3://bkt/../x",
      "s3://bkt/x?y",
    ]
  ) {
    assert.throws(
      () => parseS3Url(bad),
      (e: unknown) =>
        e instanceof InvalidArgumentError && e.field === "url" && e.code === "INVALID_ARGUMENT",
      bad,
    );
  }
  const creds = { accessKeyId: "a", secretAccessKey: "b" };
  assert.throws(
    () => new S3BlobStore({ ...creds, url: "s3://bkt/x", endpoint: "ftp://h" }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === "endpoint",
  );
  assert.throws(
    () => new S3BlobStore({ ...creds, url: "s3://bkt/x", partSize: 1000 }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === "partSize",
  );
  assert.throws(
    () => new S3BlobStore({ ...creds }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === "url",
  );
  const blobs = new S3BlobStore({ ...creds, url: "s3://bkt/x", endpoint: "http://127.0.0.1:1" });
  assert.throws(
    () => blobs.keyOf("nothex"),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === "hash",
  );
  assert.equal(blobs.keyOf("a".repeat(64)), `x/sha256/aa/${"a".repeat(64)}`);
});

Deno.test("s3 blobs: credentials and region come from the standard AWS variables", () => {
  const saved = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_DEFAULT_REGION",
  ]
    .map((k) => [k, Deno.env.get(k)] as const);
  try {
    for (const [k] of saved) Deno.env.delete(k);
    assert.throws(
      () => new S3BlobStore({ url: "s3://bkt" }),
      (e: unknown) =>
        e instanceof InvalidArgumentError && e.field === "accessKeyId" &&
        /AWS_ACCESS_KEY_ID/.test(e.message),
    );
    Deno.env.set("AWS_ACCESS_KEY_ID", "id");
    Deno.env.set("AWS_SECRET_ACCESS_KEY", "secret");
    Deno.env.set("AWS_REGION", "eu-west-3");
    Deno.env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/");
    const blobs = new S3BlobStore({ url: "s3://bkt/p" });
    assert.equal(blobs.region, "eu-west-3");
    assert.equal(blobs.endpoint, "http://127.0.0.1:9000");
    Deno.env.delete("AWS_ENDPOINT_URL");
    assert.equal(
      new S3BlobStore({ url: "s3://bkt/p" }).endpoint,
      "https://s3.eu-west-3.amazonaws.com",
    );
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("the local folder store is a blob backend too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const blobs: BlobBackend = new BlobStore(dir);
    const bytes = bytesOf(MIN_PART_SIZE + 1000, 5);
    const hash = sha(bytes);
    const id = await blobs.begin(hash, bytes.byteLength);
    await blobs.uploadPart(id, 1, bytes.subarray(0, MIN_PART_SIZE));
    await blobs.uploadPart(id, 2, bytes.subarray(MIN_PART_SIZE));
    assert.deepEqual(await blobs.complete(id), { size: bytes.byteLength });
    assert.deepEqual(
      await read(await blobs.get(hash, { start: 10, end: 20 })),
      bytes.slice(10, 20),
    );
    const small = new TextEncoder().encode("weights");
    await assert.rejects(blobs.putFromStream(hash, streamOf(small)), HashMismatchError);
    assert.deepEqual(await blobs.putFromStream(sha(small), streamOf(small)), { size: 7 });
    assert.equal(await blobs.delete(sha(small)), true);
    const bad = await blobs.begin(hash, 7);
    await blobs.uploadPart(bad, 1, small);
    await assert.rejects(blobs.complete(bad), HashMismatchError);
    assert.equal(await blobs.abort(bad), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
