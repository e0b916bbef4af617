/**
 * Review tests of the server, its auth and the sync worker against hostile or broken input:
 * project-limited tokens, blob headers and Range edge cases, undecodable paths and cookies,
 * cross-site requests to a server without tokens, a server whose database was reset, garbage
 * pull answers, and start()/stop() races. Every server is a real one on 127.0.0.1.
 */
import { readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Model,
  openStore,
  OutputModel,
  type Store,
  type StoredEvent,
  SyncWorker,
  Task,
} from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { type RunningServer, startServer } from "../../lib/server/server.ts";
import type { TokenEntry } from "../../lib/server/auth.ts";
import { craft, hlc, serve, sha256Hex, withTempDir } from "../fixtures/helpers.ts";
import { uiPages } from "../../lib/server/ui.ts";
import { waitFor } from "../fixtures/wait.ts";
import { LIBSQL, type ServerBackend, serverTest } from "../fixtures/server_backends.ts";

const VISION = "vision-token-a1b2c3d4e5";
const ADMIN = "admin-token-5c1e0f3d9a";
const TOKENS: TokenEntry[] = [
  { token: ADMIN, role: "admin", name: "ops" },
  { token: VISION, role: "write", projects: ["vision"], name: "vision-team" },
];

/** Runs `fn` with an in-process server on a fresh database of `backend` (libSQL by default). */
// The tests that touch the server's database run on both backends (serverTest). The others stay
// on libSQL: headers, cookies, the UI, the tokens file and the worker's loop do not depend on the
// database, and the restored-backup test builds its server from a local libSQL store.
async function withServer(
  fn: (server: RunningServer, dir: string) => Promise<void>,
  opts: Partial<Parameters<typeof startServer>[0]> = {},
  backend: ServerBackend = LIBSQL,
): Promise<void> {
  await withTempDir(async (dir) => {
    const server = await startServer({
      port: 0,
      ...(await backend.fresh(dir)).serve,
      log: () => {},
      ...opts,
    });
    try {
      await fn(server, dir);
    } finally {
      await server.close();
    }
  });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function created(project: string, id = newId(), at = hlc(Date.now(), 0, "dev1")): StoredEvent {
  return craft(`model:${id}`, "model.created", { name: `m-${project}`, project, tags: [] }, at);
}

async function pushEvents(url: string, events: StoredEvent[], token?: string): Promise<Response> {
  return await fetch(`${url}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? bearer(token) : {}) },
    body: JSON.stringify({ events }),
  });
}

/** Sends raw bytes over TCP and returns the whole answer as text. */
async function rawHttp(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(text));
    let out = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
      if (/\r\n\r\n/.test(out) && /content-length: 0\r\n|\r\n0\r\n\r\n$/i.test(out)) break;
      const m = /content-length: (\d+)/i.exec(out);
      const head = out.indexOf("\r\n\r\n");
      if (m && head >= 0 && out.length - head - 4 >= Number(m[1])) break;
    }
    return out;
  } finally {
    conn.close();
  }
}

Deno.test("a project-limited write token syncs a model with weights (blob first, then events)", async () => {
  await withServer(async (server, dir) => {
    const store = await openStore({ home: join(dir, "laptop") });
    try {
      const task = await Task.init({ projectName: "vision", taskName: "train", store });
      const file = join(dir, "w.bin");
      await Deno.writeFile(file, new Uint8Array(3000).fill(7));
      const m = new OutputModel({ task, name: "net" });
      await m.updateWeights({ weightsFilename: file });
      await task.close();
      const w = new SyncWorker({ server: server.url, store, token: VISION, maxRetries: 1 });
      await w.push();
      const hash = await sha256Hex(new Uint8Array(3000).fill(7));
      assert.equal(await server.store.blobs.has(hash), true);
      const res = await fetch(`${server.url}/v1/blobs/sha256/${hash}`, { headers: bearer(VISION) });
      assert.equal(res.status, 200);
      assert.equal((await res.bytes()).length, 3000);
    } finally {
      await store.close();
    }
  }, { tokens: TOKENS });
});

Deno.test("blob Range reads: suffix, reversed, past the end, a 0-byte blob", async () => {
  await withServer(async (server) => {
    const bytes = new Uint8Array(100).map((_, i) => i);
    const info = await server.store.blobs.putStream(new Blob([bytes]).stream());
    const empty = await server.store.blobs.putStream(new Blob([]).stream());
    const get = async (hash: string, range: string) => {
      const res = await fetch(`${server.url}/v1/blobs/sha256/${hash}`, { headers: { range } });
      return { res, body: await res.bytes() };
    };
    await (async () => {
      const { res, body } = await get(info.hash, "bytes=-5");
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-range"), "bytes 95-99/100");
      assert.deepEqual([...body], [95, 96, 97, 98, 99]);
    })();
    await (async () => {
      const { res, body } = await get(info.hash, "bytes=-500");
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-range"), "bytes 0-99/100");
      assert.equal(body.length, 100);
    })();
    for (const r of ["bytes=5-2", "bytes=100-", "bytes=-0"]) {
      const { res } = await get(info.hash, r);
      assert.equal(res.status, 416, r);
      assert.equal(res.headers.get("content-range"), "bytes */100", r);
    }
    // A range the server does not serve (several ranges) is ignored: the whole blob.
    const multi = await get(info.hash, "bytes=0-1,5-6");
    assert.equal(multi.res.status, 200);
    assert.equal(multi.body.length, 100);
    for (const r of ["bytes=0-", "bytes=0-0", "bytes=-1"]) {
      const { res, body } = await get(empty.hash, r);
      assert.equal(res.status, 416, r);
      assert.equal(res.headers.get("content-range"), "bytes */0", r);
      assert.equal(body.length, 0);
    }
    const whole = await get(empty.hash, "");
    assert.equal(whole.res.status, 200);
    assert.equal(whole.body.length, 0);
  });
});

Deno.test("undecodable blob paths and cookies are client errors (JSON or a login redirect), not 500s", async () => {
  await withServer(async (server) => {
    const res = await fetch(`${server.url}/v1/blobs/sha256/%zz`, { headers: bearer(ADMIN) });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "INVALID_ARGUMENT");
    const page = await fetch(`${server.url}/`, {
      headers: { cookie: "modelog_token=%zz" },
      redirect: "manual",
    });
    await page.body?.cancel();
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
  }, { tokens: TOKENS, pages: uiPages });
});

Deno.test("blob upload headers must be plain decimal integers", async () => {
  await withServer(async (server) => {
    const hash = await sha256Hex("abcdef");
    const put = async (offset: string | null, length: string | null, body: string) => {
      const headers: Record<string, string> = {};
      if (offset !== null) headers["Upload-Offset"] = offset;
      if (length !== null) headers["Upload-Length"] = length;
      const res = await fetch(`${server.url}/v1/blobs/sha256/${hash}`, {
        method: "PUT",
        headers,
        body,
      });
      const text = await res.text();
      return { status: res.status, text };
    };
    // Half the blob arrives.
    assert.equal((await put("0", "6", "abc")).status, 202);
    for (
      const [o, l] of [
        ["3", ""],
        ["3", "0x6"],
        ["3", "6e0"],
        ["0x3", "6"],
        ["", "6"],
        ["3", "-1"],
        ["3", "NaN"],
        ["3", "1"],
        ["3", null],
      ] as [string, string | null][]
    ) {
      const r = await put(o, l, "");
      assert.equal(r.status, 400, `offset ${o} length ${l}: ${r.text}`);
      assert.equal(JSON.parse(r.text).error.code, "INVALID_ARGUMENT");
    }
    assert.equal(await server.store.blobs.partialSize(hash), 3, "the partial upload survives");
    assert.equal((await put("3", "6", "def")).status, 201);
    assert.equal(await server.store.blobs.has(hash), true);
  });
});

Deno.test("without tokens: a cross-site form post and a foreign Host header are refused", async () => {
  await withServer(async (server) => {
    const ev = created("p");
    // A browser may post text/plain anywhere without asking first: the server must refuse it.
    const plain = await fetch(`${server.url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ events: [ev] }),
    });
    assert.equal(plain.status, 415);
    assert.equal((await plain.json()).error.code, "INVALID_ARGUMENT");
    const n = await readOne<{ n: number }>(server.store, "SELECT count(*) AS n FROM events");
    assert.equal(n?.n, 0);
    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    const text = await rawHttp(
      server.port,
      "GET /v1/models HTTP/1.1\r\nHost: evil.example:" + server.port +
        "\r\nConnection: close\r\n\r\n",
    );
    assert.match(text, /^HTTP\/1\.1 403/);
    assert.match(text, /FORBIDDEN/);
    const ok = await rawHttp(
      server.port,
      `GET /v1/health HTTP/1.1\r\nHost: localhost:${server.port}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(ok, /^HTTP\/1\.1 200/);
    // Proper JSON posts still work.
    const good = await pushEvents(server.url, [ev]);
    assert.equal(good.status, 200);
    await good.body?.cancel();
  });
});

serverTest(
  "a project-limited token's model list pages without showing other projects' ids",
  async (backend) => {
    await withServer(
      async (server) => {
        const ids: string[] = [];
        const t0 = Date.now();
        // Newest first: other, other, vision, other, other, vision.
        for (let i = 0; i < 6; i++) {
          const id = newId();
          const project = i % 3 === 2 ? "vision" : "other";
          const r = await pushEvents(
            server.url,
            [created(project, id, hlc(t0 - i * 1000, 0, "d"))],
            ADMIN,
          );
          await r.body?.cancel();
          ids.push(id);
        }
        const others = ids.filter((_, i) => i % 3 !== 2);
        const seen: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 10; pages++) {
          const q: string = `${server.url}/v1/models?limit=2${after ? `&after=${after}` : ""}`;
          const res = await fetch(q, { headers: bearer(VISION) });
          const text = await res.text();
          assert.equal(res.status, 200, text);
          for (const o of others) assert.ok(!text.includes(o), "no id of another project");
          const body = JSON.parse(text);
          seen.push(...body.models.map((m: { id: string }) => m.id));
          after = body.next;
          if (!after) break;
        }
        assert.deepEqual(seen, ids.filter((_, i) => i % 3 === 2));
      },
      { tokens: TOKENS },
      backend,
    );
  },
);

Deno.test("a tokens file that is not JSON is refused without echoing its text", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "tokens.json");
    await Deno.writeTextFile(path, `{"tokens": [{"token": "${ADMIN}", role: admin}]}`);
    await assert.rejects(
      () => startServer({ port: 0, db: join(dir, "s.db"), tokens: path, log: () => {} }),
      (e: Error) => {
        assert.ok(!e.message.includes(ADMIN.slice(0, 8)), e.message);
        return true;
      },
    );
  });
});

async function fill(store: Store, n: number, project = "p"): Promise<void> {
  const task = await Task.init({ projectName: project, taskName: "t", store });
  const m = new OutputModel({ task, name: "m" });
  for (let i = 0; i < n; i++) m.reportScalar("loss", "train", i, i);
  await m.setMetadata("k", 1);
  await task.close();
}

serverTest(
  "after the server's database is reset, devices push again and pull everything new",
  async (backend) => {
    await withTempDir(async (dir) => {
      const a = await openStore({ home: join(dir, "a") });
      const b = await openStore({ home: join(dir, "b") });
      const first = (await backend.fresh(join(dir, "s1"))).serve;
      let server = await startServer({ port: 0, ...first, log: () => {} });
      const port = server.port;
      try {
        await fill(a, 30);
        const wa = new SyncWorker({ server: server.url, store: a, batchSize: 7 });
        await wa.sync();
        const aCount = Number(
          (await readOne<{ n: number }>(a, "SELECT count(*) AS n FROM events"))?.n,
        );
        assert.ok(aCount > 5);
        await server.close();
        // A new, empty database behind the same URL.
        const second = (await backend.fresh(join(dir, "s2"))).serve;
        server = await startServer({ port, ...second, log: () => {} });
        await fill(b, 1, "q");
        const wb = new SyncWorker({ server: server.url, store: b });
        await wb.sync();
        await wa.sync();
        const total = Number(
          (await readOne<{ n: number }>(server.store, "SELECT count(*) AS n FROM events"))?.n,
        );
        const bCount = Number(
          (await readOne<{ n: number }>(b, "SELECT count(*) AS n FROM events"))?.n,
        );
        assert.equal(total, aCount + bCount, "a pushed its events again");
        const aNow = Number(
          (await readOne<{ n: number }>(a, "SELECT count(*) AS n FROM events"))?.n,
        );
        assert.equal(aNow, aCount + bCount, "a pulled b's events despite its old cursor");
        await wb.sync();
        assert.deepEqual(await b.dump(), await a.dump());
      } finally {
        await server.close();
        await a.close();
        await b.close();
      }
    });
  },
);

Deno.test("garbage pull answers fail the round with SYNC_FAILED instead of looping or crashing", async () => {
  await withTempDir(async (dir) => {
    const answers: (() => Response)[] = [
      () => new Response("{not json", { headers: { "content-type": "application/json" } }),
      () => Response.json({ events: "nope", next: 1, more: false }),
      () => Response.json({ events: [], next: "x", more: false }),
      () => Response.json({ events: [], next: 0, more: true }),
      () => Response.json({ events: [], next: -5, more: false }),
    ];
    let which = 0;
    const fake = serve(() => answers[which]!());
    const store = await openStore({ home: join(dir, "a") });
    try {
      for (which = 0; which < answers.length; which++) {
        const w = new SyncWorker({ server: fake.url, store, maxRetries: 1 });
        const t0 = Date.now();
        await assert.rejects(
          () => w.pull(),
          (e: Error & { code?: string }) => {
            assert.equal(e.code, "SYNC_FAILED", `answer ${which}: ${e.message}`);
            return true;
          },
        );
        assert.ok(Date.now() - t0 < 5000);
      }
    } finally {
      await store.close();
      await fake.close();
    }
  });
});

Deno.test("stop() then start() without waiting leaves the loop running", async () => {
  await withServer(async (server, dir) => {
    const a = await openStore({ home: join(dir, "a") });
    const w = new SyncWorker({ server: server.url, store: a, intervalMs: 20 });
    try {
      w.start();
      const stopping = w.stop();
      w.start();
      await stopping;
      assert.equal((await w.status()).running, true, "the second start() holds");
      await fill(a, 3);
      await waitFor(async () => (await w.status()).pendingEvents === 0, {
        what: "the restarted loop to push",
      });
    } finally {
      await w.stop();
      await a.close();
    }
  });
});

serverTest(
  "a push nested deeper than any payload needs is refused with 400, and nothing applies",
  async (backend) => {
    await withServer(
      async (server) => {
        const id = newId();
        const deep = JSON.parse("[".repeat(5000) + "]".repeat(5000));
        const plot = craft(`model:${id}`, "metric.plot", {
          kind: "line",
          title: "t",
          series: "s",
          iteration: 0,
          figure: { data: [deep], layout: {} },
        }, hlc(Date.now(), 1, "dev1"));
        // A plain body parses at any depth; the event's check refuses it and names it.
        const res = await pushEvents(server.url, [created("p", id), plot]);
        assert.equal(res.status, 400);
        const body = await res.json();
        assert.equal(body.error.code, "INVALID_EVENT");
        assert.match(
          body.error.message,
          /^events\[1\]: .*event\.data.*must nest at most 61 levels/,
        );
        // A body with non-finite markers is parsed with a reviver: its depth is checked first.
        const marked = craft(`model:${id}`, "metric.plot", {
          kind: "line",
          title: "t",
          series: "s",
          iteration: 1,
          figure: { data: [deep], layout: { x: { $nf: "NaN" } } },
        }, hlc(Date.now(), 3, "dev1"));
        const res2 = await pushEvents(server.url, [created("p", id), marked]);
        assert.equal(res2.status, 400);
        const body2 = await res2.json();
        assert.equal(body2.error.code, "INVALID_ARGUMENT");
        assert.match(body2.error.message, /nests 50\d\d levels/);
        const n = await readOne<{ n: number }>(server.store, "SELECT count(*) AS n FROM events");
        assert.equal(Number(n?.n), 0);
        // Brackets inside strings do not count.
        const ok = await pushEvents(server.url, [
          craft(
            `model:${id}`,
            "model.created",
            { name: "[".repeat(5000) + '\\"{', project: "p" },
            hlc(Date.now(), 2, "dev1"),
          ),
        ]);
        assert.equal(ok.status, 200, await ok.text());
      },
      {},
      backend,
    );
  },
);

Deno.test("web UI: hostile names, tags, metadata, labels, plots and a bad hash render escaped", async () => {
  await withServer(async (server) => {
    const id = newId();
    const x = `</script><script>window.pwned=1</script><img src=x onerror=alert(1)>"'`;
    const at = (n: number) => hlc(Date.now(), n, "dev1");
    const events = [
      craft(
        `model:${id}`,
        "model.created",
        {
          name: x,
          project: x,
          framework: x,
          comment: x,
          configText: x,
          tags: [x, "javascript:alert(1)"],
          labels: { [x]: 1 },
          uri: `https://e.example/${encodeURIComponent(x)}`,
        },
        at(0),
        x,
      ),
      craft(
        `model:${id}`,
        "model.metadata_changed",
        {
          set: { [x]: { value: x, type: x as "str" } },
        },
        at(1),
        x,
      ),
      craft(
        `model:${id}`,
        "model.weights_updated",
        {
          uri: "javascript:alert(1)",
          hash: "../../../etc/passwd",
          size: 3,
        },
        at(2),
        x,
      ),
      craft(`model:${id}`, "metric.plot", {
        kind: x as "line",
        title: x,
        series: x,
        iteration: 1,
        figure: { data: [{ type: "scatter", name: x, x: [1], y: [2] }], layout: { title: x } },
      }, at(3)),
      craft(
        `model:${id}`,
        "metric.scalars",
        { title: x, series: x, iters: [1], values: [1] },
        at(4),
      ),
    ];
    // A hash that is no digest is refused by every store (push and ingest alike).
    const refused = await pushEvents(server.url, events);
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /events\[2\]: .*data\.hash/);
    await assert.rejects(() => server.store.ingest(events), /data\.hash/);
    await server.store.ingest(events.filter((_, i) => i !== 2));
    for (const path of [`/models/${id}`, `/?project=${encodeURIComponent(x)}`]) {
      const res = await fetch(server.url + path);
      const html = await res.text();
      assert.equal(res.status, 200, `${path}: ${html.slice(0, 300)}`);
      assert.ok(!html.includes("<script>window.pwned"), path);
      assert.ok(!html.includes("<img src=x"), path);
      assert.ok(!/href="javascript:/i.test(html), path);
    }
  }, { pages: uiPages });
});

Deno.test("a server restored from an older backup (its log behind the cursor) is pulled from 0 again", async () => {
  await withTempDir(async (dir) => {
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    let server = await startServer({ port: 0, db: join(dir, "s1", "modelog.db"), log: () => {} });
    const port = server.port;
    const id = await server.store.getState("server:id");
    assert.ok(id);
    try {
      await fill(b, 20);
      await new SyncWorker({ server: server.url, store: b }).sync();
      await new SyncWorker({ server: server.url, store: a }).sync();
      await server.close();
      // The backup: the same database identity, an empty log.
      const restored = await openStore({ home: join(dir, "s2") });
      await restored.setState("server:id", id);
      server = await startServer({ port, store: restored, log: () => {} });
      try {
        // Another device pushes one event: its server seq (1) is below a's pull cursor.
        const r = await pushEvents(server.url, [created("q")]);
        await r.body?.cancel();
        const before = Number(
          (await readOne<{ n: number }>(a, "SELECT count(*) AS n FROM events"))?.n,
        );
        await new SyncWorker({ server: server.url, store: a }).sync();
        const after = Number(
          (await readOne<{ n: number }>(a, "SELECT count(*) AS n FROM events"))?.n,
        );
        assert.equal(after, before + 1, "a pulled the new event though its seq is old");
        // b, whose events the restored server lost, pushes them again.
        await new SyncWorker({ server: server.url, store: b }).sync();
        const n = await readOne<{ n: number }>(server.store, "SELECT count(*) AS n FROM events");
        assert.equal(n?.n, before + 1, "b pushed what the restored server lost");
      } finally {
        await restored.close();
      }
    } finally {
      await server.close();
      await a.close();
      await b.close();
    }
  });
});

serverTest(
  "an event stamped far in the future is refused, so it cannot drag every clock along",
  async (backend) => {
    await withServer(
      async (server) => {
        const future = hlc(Date.now() + 30 * 24 * 3600 * 1000, 0, "dev1");
        const res = await pushEvents(server.url, [created("p"), created("p", newId(), future)]);
        assert.equal(res.status, 400);
        const body = await res.json();
        assert.equal(body.error.code, "INVALID_EVENT");
        assert.match(body.error.message, /events\[1\]: .*ahead of the server's clock/);
        const n = await readOne<{ n: number }>(server.store, "SELECT count(*) AS n FROM events");
        assert.equal(Number(n?.n), 0);
        const soon = await pushEvents(server.url, [
          created("p", newId(), hlc(Date.now() + 60_000, 0, "d")),
        ]);
        assert.equal(soon.status, 200, "a minute of skew is fine");
        await soon.body?.cancel();
      },
      {},
      backend,
    );
  },
);

Deno.test("the login cookie is Secure behind a TLS proxy, and HttpOnly SameSite=Strict always", async () => {
  await withServer(async (server) => {
    const login = async (headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: `token=${ADMIN}`,
        redirect: "manual",
      });
      await res.body?.cancel();
      assert.equal(res.status, 303);
      return res.headers.get("set-cookie") ?? "";
    };
    // Cookie attributes have no order: compare them as a set.
    // The session expires: Max-Age is its lifetime (12 h by default).
    const attributes = (cookie: string) => cookie.split(/;\s*/).slice(1).sort();
    const plain = await login();
    assert.deepEqual(attributes(plain), ["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=Strict"]);
    const tls = await login({ "x-forwarded-proto": "https" });
    assert.deepEqual(attributes(tls), [
      "HttpOnly",
      "Max-Age=43200",
      "Path=/",
      "SameSite=Strict",
      "Secure",
    ]);
  }, { tokens: TOKENS, pages: uiPages });
});

Deno.test("two devices uploading the same blob at once both finish, and the blob is right", async () => {
  await withServer(async (server, dir) => {
    const bytes = new Uint8Array(5 * 1024 * 1024 + 17).map((_, i) => (i * 31) % 251);
    const file = join(dir, "w.bin");
    await Deno.writeFile(file, bytes);
    const stores = [
      await openStore({ home: join(dir, "a") }),
      await openStore({ home: join(dir, "b") }),
    ];
    try {
      const hashes = await Promise.all(stores.map(async (s) => (await s.blobs.putFile(file)).hash));
      assert.equal(hashes[0], hashes[1]);
      const sent = await Promise.all(
        stores.map((s) => new SyncWorker({ server: server.url, store: s }).uploadBlob(hashes[0]!)),
      );
      assert.ok(sent[0]! + sent[1]! >= bytes.length, `sent ${sent}`);
      const res = await fetch(`${server.url}/v1/blobs/sha256/${hashes[0]}`);
      assert.deepEqual(await res.bytes(), bytes);
      // A PUT once the blob exists answers complete without taking the bytes.
      const again = await fetch(`${server.url}/v1/blobs/sha256/${hashes[0]}`, {
        method: "PUT",
        headers: { "Upload-Offset": "0", "Upload-Length": String(bytes.length) },
        body: "junk",
      });
      assert.equal(again.status, 200);
      assert.deepEqual(await again.json(), {
        hash: hashes[0],
        complete: true,
        offset: bytes.length,
      });
    } finally {
      for (const s of stores) await s.close();
    }
  });
});

// A synced model whose uri ends in `..%2F..%2Fx` must not make getWeights()/`models download`
// write outside DIR.
Deno.test({
  name: "getWeights({ targetDir }) keeps a synced model's file name inside targetDir",
  fn: async () => {
    await withTempDir(async (dir) => {
      const store = await openStore({ home: join(dir, "home") });
      try {
        const info = await store.blobs.putStream(new Blob(["pwned"]).stream());
        const id = newId();
        await store.ingest([
          craft(
            `model:${id}`,
            "model.created",
            { name: "x", project: "p" },
            hlc(Date.now(), 0, "d"),
          ),
          craft(`model:${id}`, "model.weights_updated", {
            uri: "https://e.example/a/..%2F..%2Fescaped.txt",
            hash: info.hash,
            size: 5,
          }, hlc(Date.now(), 1, "d")),
        ]);
        const m = await Model.get(id, { store });
        const target = join(dir, "target", "sub");
        const out = await m.getWeights({ targetDir: target });
        assert.ok(out?.startsWith(target + "/"), String(out));
        assert.equal(
          await Deno.stat(join(dir, "escaped.txt")).then(() => true, () => false),
          false,
        );
      } finally {
        await store.close();
      }
    });
  },
});
