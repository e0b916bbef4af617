/**
 * What the connection guard (lib/server/conn_guard.ts) costs an upload: a 200 MB blob `PUT`
 * to the server with the guard (`startServer`) and to the same app served by `Deno.serve`
 * directly (the server before the guard), then the same body into a handler that only drains
 * it, directly and behind a guard (the copy alone, without the disk). Prints MB/s of each.
 *
 * Run: `deno run -A bench/guard_bench.ts [MB]`.
 *
 * @module
 */
import { startServer } from "../lib/server/server.ts";
import { buildApp } from "../lib/server/app.ts";
import { uploadLimits } from "../lib/server/uploads.ts";
import { ConnGuard, guardLimits } from "../lib/server/conn_guard.ts";
import { openStore } from "../lib/store/store.ts";

const mb = Number(Deno.args[0] ?? 200);

function body(seed: number): Uint8Array {
  const words = new Uint32Array(mb * 2 ** 18);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer);
}

async function hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Seconds to `PUT` `bytes` to `url`, checking the answer. */
async function put(url: string, bytes: Uint8Array): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "PUT",
    headers: { "Upload-Offset": "0", "Upload-Length": String(bytes.length) },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return (performance.now() - t0) / 1000;
}

const rate = (s: number) => `${(mb / s).toFixed(0)} MB/s (${s.toFixed(2)} s)`;
const lines: string[] = [];

// 1. The server with its guard.
{
  const dir = await Deno.makeTempDir();
  const bytes = body(1);
  const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {} });
  const s = await put(`${server.url}/v1/blobs/sha256/${await hex(bytes)}`, bytes);
  await server.close();
  await Deno.remove(dir, { recursive: true });
  lines.push(`blob PUT through the server with the guard:    ${rate(s)}`);
}
// 2. The same app served directly.
{
  const dir = await Deno.makeTempDir();
  const bytes = body(2);
  const store = await openStore({ home: dir });
  const app = buildApp({
    store,
    auth: undefined,
    readOnly: false,
    serverId: "bench",
    maxEventsBody: 2 ** 20,
    maxEventsPerPush: 1000,
    maxClockSkewMs: 86_400_000,
    requestTimeoutMs: 60_000,
    uploads: uploadLimits(),
  }, { ui: false, log: () => {} });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const s = await put(
    `http://127.0.0.1:${server.addr.port}/v1/blobs/sha256/${await hex(bytes)}`,
    bytes,
  );
  await server.shutdown();
  await store.close();
  await Deno.remove(dir, { recursive: true });
  lines.push(`blob PUT to the same app without the guard:    ${rate(s)}`);
}
// 3. The copy alone: a handler that drains the body, directly and behind a guard.
{
  const bytes = body(3);
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    let n = 0;
    for await (const chunk of req.body!) n += chunk.length;
    return new Response(String(n));
  });
  const direct = await put(`http://127.0.0.1:${sink.addr.port}/`, bytes);
  const guard = ConnGuard.listen(
    { hostname: "127.0.0.1", port: 0 },
    { hostname: "127.0.0.1", port: sink.addr.port },
    await guardLimits({}),
  );
  const guarded = await put(`http://127.0.0.1:${guard.addr.port}/`, bytes);
  await guard.close();
  await sink.shutdown();
  lines.push(`drain-only handler without the guard:          ${rate(direct)}`);
  lines.push(`drain-only handler with the guard:             ${rate(guarded)}`);
}
console.log(`${mb} MB upload over 127.0.0.1\n${lines.join("\n")}`);
