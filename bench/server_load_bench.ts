/**
 * Load on one server on 127.0.0.1: 50 connections querying `/v1/models` for 30 s plus 500
 * half-sent requests, while `/v1/health` is probed over fresh connections every 100 ms. Prints
 * requests served, and the health latencies (median, p99, max). Run:
 * `deno run -A bench/server_load_bench.ts [seconds]`.
 */
import { startServer } from "../lib/server/server.ts";

const seconds = Number(Deno.args[0] ?? 30);
const dir = await Deno.makeTempDir();
const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {} });
const enc = new TextEncoder();

async function rawGet(path: string): Promise<number> {
  const t0 = performance.now();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await c.write(
      enc.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    const buf = new Uint8Array(65536);
    while ((await c.read(buf)) !== null) { /* drain */ }
  } finally {
    c.close();
  }
  return performance.now() - t0;
}

const slow: Deno.TcpConn[] = [];
for (let i = 0; i < 500; i++) {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await c.write(enc.encode("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  slow.push(c);
}
const end = Date.now() + seconds * 1000;
let served = 0;
const workers = Array.from({ length: 50 }, async () => {
  while (Date.now() < end) {
    await rawGet("/v1/models?limit=100");
    served++;
  }
});
const health: number[] = [];
while (Date.now() < end) {
  health.push(await rawGet("/v1/health"));
  await new Promise((r) => setTimeout(r, 100));
}
await Promise.all(workers);
for (const c of slow) c.close();
await server.close();
await Deno.remove(dir, { recursive: true });
health.sort((a, b) => a - b);
const q = (p: number) => health[Math.min(health.length - 1, Math.floor(p * health.length))]!;
console.log(
  `${seconds} s, 50 connections + 500 half-sent: ${served} queries served ` +
    `(${(served / seconds).toFixed(0)}/s); health ${health.length} probes: median ` +
    `${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${health.at(-1)!.toFixed(1)} ms`,
);
