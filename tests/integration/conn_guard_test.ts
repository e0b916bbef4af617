/**
 * The connection guard in front of the server (lib/server/conn_guard.ts): half-sent requests
 * and idle connections are closed, the per-address cap refuses extras, a thousand slow clients
 * do not stop `/v1/health`, and the app still learns each client's address.
 */
import assert from "node:assert/strict";
import { type RunningServer, type ServerOptions, startServer } from "../../lib/server/server.ts";
import { ConnGuard, guardLimits } from "../../lib/server/conn_guard.ts";
import { InvalidArgumentError } from "../../lib/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withServer(
  options: ServerOptions,
  fn: (server: RunningServer) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {}, ...options });
  try {
    await fn(server);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function connect(server: RunningServer): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port: server.port });
}

/** Reads until the server closes the connection (a reset counts as closed); returns the text. */
async function readToClose(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(65536);
  let text = "";
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
  } catch { /* reset by the server */ }
  return text;
}

/** One `Connection: close` request over a fresh connection; the raw answer. */
async function rawGet(server: RunningServer, path: string): Promise<string> {
  const conn = await connect(server);
  try {
    await conn.write(
      enc.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    return await readToClose(conn);
  } finally {
    conn.close();
  }
}

/** Reads one whole response with a `content-length` off a kept-alive connection. */
async function readResponse(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(65536);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    assert.ok(n !== null, `connection closed after ${JSON.stringify(text)}`);
    text += dec.decode(buf.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (text.length >= end + 4 + length) return text;
  }
}

const HALF = enc.encode("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n");

Deno.test("a half-sent request is closed after the header timeout; whole ones are answered", async () => {
  await withServer({ headerTimeoutMs: 300 }, async (server) => {
    const slow = await connect(server);
    const t0 = performance.now();
    await slow.write(HALF);
    const got = await readToClose(slow);
    const waited = performance.now() - t0;
    slow.close();
    assert.equal(got, "", "nothing is answered to half a request");
    assert.ok(waited >= 250, `closed after ${waited.toFixed(0)} ms, before the timeout`);
    assert.match(await rawGet(server, "/v1/health"), /^HTTP\/1\.1 200/);
  });
});

Deno.test("an idle keep-alive connection is closed after the idle timeout; a dripping upload lives", async () => {
  await withServer({ idleTimeoutMs: 1500 }, async (server) => {
    const conn = await connect(server);
    await conn.write(enc.encode("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    assert.match(await readResponse(conn), /^HTTP\/1\.1 200/);
    // Kept alive: a second request on it is answered too.
    await conn.write(enc.encode("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    assert.match(await readResponse(conn), /^HTTP\/1\.1 200/);
    const t0 = performance.now();
    assert.equal(await readToClose(conn), "");
    const waited = performance.now() - t0;
    conn.close();
    assert.ok(waited >= 1400, `closed after ${waited.toFixed(0)} ms idle, before the timeout`);

    // A body sent a byte every 100 ms, for three idle timeouts in all, is still answered (the
    // pace leaves a loaded machine 1.4 s of slack per byte).
    const body = enc.encode(JSON.stringify({ events: [] }).padEnd(45, " "));
    const up = await connect(server);
    await up.write(
      enc.encode(
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
          `Connection: close\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
    );
    const started = performance.now();
    for (let i = 0; i < body.length; i++) {
      await up.write(body.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 100)); // the client's pace
    }
    const answer = await readToClose(up);
    up.close();
    assert.ok(performance.now() - started >= 4500);
    assert.match(answer, /^HTTP\/1\.1 \d{3}/, "the slow upload reached the server");
    assert.doesNotMatch(answer, /^HTTP\/1\.1 503/);
  });
});

Deno.test("the per-address cap refuses the extra connection; half-sent ones make room", async () => {
  await withServer({ maxConnectionsPerAddress: 2 }, async (server) => {
    // Two connections that sent whole requests and stay open (kept alive).
    const held: Deno.TcpConn[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await connect(server);
      await c.write(enc.encode("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
      assert.match(await readResponse(c), /^HTTP\/1\.1 200/);
      held.push(c);
    }
    const extra = await rawGet(server, "/v1/health");
    assert.ok(
      extra === "" || /^HTTP\/1\.1 503/.test(extra),
      `the third connection is refused, got ${JSON.stringify(extra.slice(0, 40))}`,
    );
    if (extra) assert.match(extra, /"code":"UNAVAILABLE"/);
    for (const c of held) c.close();
    // Their close reaches the guard asynchronously: retry until a request is answered.
    let answer = "";
    for (let i = 0; i < 100 && !/^HTTP\/1\.1 200/.test(answer); i++) {
      answer = await rawGet(server, "/v1/health");
    }
    assert.match(answer, /^HTTP\/1\.1 200/);

    // Slots held by clients that never finish their head give way to a whole request.
    const slow: Deno.TcpConn[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await connect(server);
      await c.write(HALF);
      slow.push(c);
    }
    assert.match(await rawGet(server, "/v1/health"), /^HTTP\/1\.1 200/);
    assert.equal(await readToClose(slow[0]!), "", "the oldest half-sent one was closed");
    for (const c of slow) c.close();
  });
});

Deno.test("1,000 half-sent requests: /v1/health keeps answering, and they are all dropped", async () => {
  for (const caps of [{}, { maxConnectionsPerAddress: 2000, maxConnections: 2000 }]) {
    await withServer({ headerTimeoutMs: 500, ...caps }, async (server) => {
      const slow: Deno.TcpConn[] = [];
      const probes: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const c = await connect(server);
        await c.write(HALF);
        slow.push(c);
        if (i % 100 === 99) probes.push(await rawGet(server, "/v1/health"));
      }
      const closed = await Promise.all(slow.map((c) => readToClose(c)));
      for (const c of slow) c.close();
      assert.equal(closed.filter((t) => t === "").length, 1000, "no half-sent one is answered");
      assert.equal(probes.length, 10);
      for (const p of probes) assert.match(p, /^HTTP\/1\.1 200/);
      assert.match(await rawGet(server, "/v1/health"), /^HTTP\/1\.1 200/);
    });
  }
});

Deno.test("the guard tells the app who each client is, on every keep-alive request", async () => {
  const front: { guard?: ConnGuard } = {};
  const inner = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (_req, info) => Response.json(front.guard?.peerOf(info.remoteAddr) ?? null),
  );
  const guard = front.guard = ConnGuard.listen(
    { hostname: "127.0.0.1", port: 0 },
    { hostname: "127.0.0.1", port: inner.addr.port },
    await guardLimits({}),
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: guard.addr.port });
  for (let i = 0; i < 3; i++) {
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const text = await readResponse(conn);
    const peer = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assert.equal(peer.hostname, "127.0.0.1");
    assert.equal(peer.port, conn.localAddr.port, "the client's own port, not the guard's");
  }
  conn.close();
  await guard.close();
  await inner.shutdown();
});

Deno.test("bad guard options are typed errors naming the option", async () => {
  for (
    const [field, value] of [
      ["headerTimeoutMs", 0],
      ["idleTimeoutMs", -5],
      ["maxConnectionsPerAddress", 1.5],
      ["maxConnections", "many"],
      ["headerTimeoutMs", 2 ** 40],
    ] as const
  ) {
    await assert.rejects(
      startServer({ port: 0, log: () => {}, [field]: value } as ServerOptions),
      (e) => e instanceof InvalidArgumentError && e.field === field,
    );
  }
  const limits = await guardLimits({});
  assert.ok(limits.maxConnections >= 16 && limits.maxConnections <= 4096);
});
