/**
 * Load on one server on 127.0.0.1: 50 connections querying `/v1/models` for 30 s plus 500
 * half-sent requests, while `/v1/health` is probed over fresh connections every 100 ms. Prints
 * requests served, how many half-sent ones the server closed (header timeout, or closed to make
 * room: see lib/server/conn_guard.ts), and the health latencies (p50, p99, max) with PASS/MISS
 * against 1 s. Run: `deno run -A bench/server_load_bench.ts [seconds]`.
 */
import { startServer } from "../lib/server/server.ts";
import { verdict, verdictTable } from "./stats.ts";

const seconds = Number(Deno.args[0] ?? 30);
const dir = await Deno.makeTempDir();
const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {} });
const enc = new TextEncoder();

/** Milliseconds to answer; `Infinity` when the answer is not a 200. */
async function rawGet(path: string): Promise<number> {
  const t0 = performance.now();
  let head = "";
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await c.write(
      enc.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    const buf = new Uint8Array(65536);
    for (let n; (n = await c.read(buf)) !== null;) {
      if (head.length < 12) head += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    /* reset: counted as a miss */
  } finally {
    c.close();
  }
  return head.startsWith("HTTP/1.1 200") ? performance.now() - t0 : Infinity;
}

const slow: Deno.TcpConn[] = [];
let slowClosed = 0;
const slowReads: Promise<void>[] = [];
for (let i = 0; i < 500; i++) {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await c.write(enc.encode("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  slow.push(c);
  slowReads.push(c.read(new Uint8Array(1)).then(() => {}, () => {}).then(() => void slowClosed++));
}
const end = Date.now() + seconds * 1000;
let served = 0;
let failed = 0;
const workers = Array.from({ length: 50 }, async () => {
  while (Date.now() < end) {
    if (await rawGet("/v1/models?limit=100") === Infinity) failed++;
    else served++;
  }
});
const health: number[] = [];
while (Date.now() < end) {
  health.push(await rawGet("/v1/health"));
  await new Promise((r) => setTimeout(r, 100));
}
await Promise.all(workers);
const closedByServer = slowClosed;
for (const c of slow) c.close();
await Promise.all(slowReads);
await server.close();
await Deno.remove(dir, { recursive: true });
health.sort((a, b) => a - b);
const q = (p: number) => health[Math.min(health.length - 1, Math.floor(p * health.length))]!;
const mark = (ms: number) => `${ms.toFixed(1)} ms ${ms <= 1000 ? "PASS" : "MISS"}`;
console.log(
  `${seconds} s, 50 connections + 500 half-sent: ${served} queries served ` +
    `(${(served / seconds).toFixed(0)}/s, ${failed} not answered 200); ` +
    `${closedByServer} of 500 half-sent closed by the server\n` +
    `health, ${health.length} probes against 1 s: p50 ${mark(q(0.5))}, ` +
    `p99 ${mark(q(0.99))}, max ${mark(health.at(-1)!)}`,
);
console.log(verdictTable(
  ([["health p50", q(0.5)], ["health p99", q(0.99)], ["health max", health.at(-1)!]] as const)
    .map(([name, ms]) =>
      verdict({
        bench: "server_load",
        name,
        figure: `${ms.toFixed(1)} ms`,
        baseline: "-",
        ratio: `${ms.toFixed(1)} ms`,
        goal: "<= 1000 ms",
        pass: ms <= 1000,
      })
    ),
));
