/**
 * The server's authorisation on every path, against real `cli.ts serve` processes: blobs are
 * read only through a readable model, uploads in progress belong to their uploader, pushes
 * reaching into other projects are refused, the actor is the token's name, uploads are bounded,
 * sign-in uses opaque sessions, a project-limited token sees its projects in the UI and the
 * API alike, scope changes reach limited devices, forbidden looks like missing, the admin role
 * has duties, a second server on the same files refuses to start, and health keeps answering
 * under abandoned and slow requests. Numbers in the test names are the points.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { statfs } from "node:fs/promises";
import type { StoredEvent } from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { decodeData } from "../../lib/events.ts";
import { craft, hlc, withTempDir } from "../fixtures/helpers.ts";
import {
  CLI,
  serverEvents,
  spawnDeno,
  spawnServer,
  writeTokensFile,
} from "../fixtures/sync_helpers.ts";

const T = {
  admin: "admin-token-5c1e0f3d9a",
  write: "write-token-77ab12ce09",
  vision: "vision-token-a1b2c3d4e5",
  visionRead: "vision-read-token-99aa88",
};

function writeTokens(dir: string): Promise<string> {
  return writeTokensFile(dir, [
    { token: T.admin, role: "admin", name: "ops" },
    { token: T.write, role: "write", name: "ci" },
    { token: T.vision, role: "write", projects: ["vision"], name: "vision-team" },
    { token: T.visionRead, role: "read", projects: ["vision"], name: "vision-viewer" },
  ]);
}

const auth = (t: string) => ({ authorization: `Bearer ${t}` });
let tick = 0;
const at = () => hlc(Date.now(), tick++, "dev1");

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A server with the test tokens, and small helpers over it. */
async function withServer(
  fn: (s: {
    url: string;
    dir: string;
    push: (token: string, events: StoredEvent[]) => Promise<Response>;
    put: (
      token: string,
      hash: string,
      body: Uint8Array,
      offset: number,
      total: number,
    ) => Promise<Response>;
    count: () => Promise<number>;
  }) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dir) => {
    const server = await spawnServer({
      db: join(dir, "server", "modelog.db"),
      tokens: await writeTokens(dir),
      quiet: true,
    });
    try {
      const url = server.url;
      await fn({
        url,
        dir,
        push: (token, events) =>
          fetch(`${url}/v1/events`, {
            method: "POST",
            headers: { "content-type": "application/json", ...auth(token) },
            body: JSON.stringify({ events }),
          }),
        put: (token, hash, body, offset, total) =>
          fetch(`${url}/v1/blobs/sha256/${hash}`, {
            method: "PUT",
            headers: {
              ...auth(token),
              "Upload-Offset": String(offset),
              "Upload-Length": String(total),
            },
            body: body as BodyInit,
          }),
        count: async () => (await serverEvents(url, T.admin)).length,
      });
    } finally {
      await server.stop();
    }
  });
}

const model = (project: string, id = newId(), extra: Record<string, unknown> = {}) =>
  craft(
    `model:${id}`,
    "model.created",
    { name: `m-${project}`, project, tags: [], ...extra },
    at(),
  );
const weights = (id: string, hash: string, size: number) =>
  craft(`model:${id}`, "model.weights_updated", { uri: `blob://${hash}`, hash, size }, at());

async function status(res: Response): Promise<[number, string]> {
  const text = await res.text();
  return [res.status, text];
}

Deno.test("1, 6, 12: blobs only through a readable model; partials per uploader; forbidden looks missing", async () => {
  await withServer(async ({ url, push, put, count }) => {
    // The admin stores a blob for a model of "other".
    const secret = new TextEncoder().encode("weights of project other");
    const h = await sha256(secret);
    assert.equal((await status(await put(T.admin, h, secret, 0, secret.length)))[0], 201);
    const otherId = newId();
    assert.equal((await status(await push(T.admin, [model("other", otherId)])))[0], 200);
    assert.equal((await status(await push(T.admin, [weights(otherId, h, secret.length)])))[0], 200);

    // The vision token names that hash on its own model: refused, nothing applied.
    const visionId = newId();
    assert.equal((await status(await push(T.vision, [model("vision", visionId)])))[0], 200);
    const n0 = await count();
    const [code, body] = await status(await push(T.vision, [weights(visionId, h, secret.length)]));
    assert.equal(code, 403, body);
    assert.equal(await count(), n0, "nothing applied");

    // Its tokens cannot read the bytes, and the answer is that of a blob that does not exist.
    const missing = await fetch(`${url}/v1/blobs/sha256/${"0".repeat(64)}`, {
      headers: auth(T.vision),
    });
    const missingText = await missing.text();
    for (const t of [T.vision, T.visionRead]) {
      const res = await fetch(`${url}/v1/blobs/sha256/${h}`, { headers: auth(t) });
      assert.deepEqual([res.status, await res.text()], [missing.status, missingText]);
      const head = await fetch(`${url}/v1/blobs/sha256/${h}`, { method: "HEAD", headers: auth(t) });
      await head.body?.cancel();
      assert.equal(head.status, 404, "HEAD tells nothing either");
    }
    // A model of another project answers as a missing one.
    const a = await fetch(`${url}/v1/models/${otherId}`, { headers: auth(T.vision) });
    const b = await fetch(`${url}/v1/models/${newId()}`, { headers: auth(T.vision) });
    const [ja, jb] = [await a.json(), await b.json()];
    assert.equal(a.status, 404);
    assert.equal(a.status, b.status);
    assert.equal(ja.error.code, jb.error.code);

    // Holding the bytes is proof: the vision token uploads them itself, then may name them.
    assert.equal((await status(await put(T.vision, h, secret, 0, secret.length)))[0], 201);
    assert.equal(
      (await status(await push(T.vision, [weights(visionId, h, secret.length)])))[0],
      200,
    );
    const own = await fetch(`${url}/v1/blobs/sha256/${h}`, { headers: auth(T.visionRead) });
    assert.equal(await own.text(), "weights of project other");

    // 6: an upload in progress belongs to its uploader: a vision byte does not poison it.
    const big = crypto.getRandomValues(new Uint8Array(4096));
    const bh = await sha256(big);
    assert.equal(
      (await status(await put(T.admin, bh, big.subarray(0, 1000), 0, big.length)))[0],
      202,
    );
    const poison = await put(T.vision, bh, new Uint8Array([1]), 0, big.length);
    await poison.body?.cancel();
    assert.equal(poison.status, 202, "goes to the vision token's own partial");
    const rest = await put(T.admin, bh, big.subarray(1000), 1000, big.length);
    assert.equal(rest.status, 201, await rest.text());
    const back = await fetch(`${url}/v1/blobs/sha256/${bh}`, { headers: auth(T.admin) });
    assert.deepEqual(new Uint8Array(await back.arrayBuffer()), big);
  });
});

Deno.test("4, 5: cross-project links refused with nothing applied; the actor is the token's name", async () => {
  await withServer(async ({ url, push, count }) => {
    const otherId = newId();
    assert.equal((await status(await push(T.admin, [model("other", otherId)])))[0], 200);
    const taskId = newId();
    const task = craft(`task:${taskId}`, "task.created", { project: "vision", name: "t" }, at());
    assert.equal((await status(await push(T.vision, [task])))[0], 200);
    const n0 = await count();
    const attempts: StoredEvent[][] = [
      [craft(`task:${taskId}`, "task.model_connected", {
        modelId: otherId,
        role: "input",
        name: "in",
      }, at())],
      [model("vision", newId(), { parent: otherId })],
      [
        model("vision", newId()),
        craft(`model:${newId()}`, "model.created", {
          name: "x",
          project: "vision",
          originalTask: taskId,
        }, at()),
        model("vision", newId(), { parent: otherId }),
      ],
    ];
    for (const events of attempts) {
      const [code, body] = await status(await push(T.vision, events));
      assert.equal(code, 403, body);
      assert.match(body, /outside this token's projects/);
    }
    assert.equal(await count(), n0, "nothing applied");

    // 5: whatever the device wrote, the pulled actor is the token's name.
    const forged = { ...model("vision"), actor: "ops (approved)" };
    assert.equal((await status(await push(T.vision, [forged])))[0], 200);
    const all = await serverEvents(url, T.admin);
    const mine = all.find((e) => e.id === forged.id)!;
    assert.equal(mine.actor, "vision-team");
    assert.ok(!all.some((e) => e.actor === "ops (approved)"));
  });
});

Deno.test("7: uploads are bounded: largest blob, free space; nothing written", async () => {
  await withServer(async ({ put, dir }) => {
    const h = "ab".repeat(32);
    const [code, body] = await status(await put(T.write, h, new Uint8Array(10), 0, 1e12));
    assert.equal(code, 413, body);
    const fs = await statfs(dir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    const length = free + 2 ** 30;
    if (length < 256 * 2 ** 30) {
      const [c2, b2] = await status(await put(T.write, h, new Uint8Array(10), 0, length));
      assert.equal(c2, 507, b2);
    }
    const partials: string[] = [];
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(d)) {
        if (e.isDirectory) await walk(join(d, e.name));
        else partials.push(e.name);
      }
    };
    await walk(join(dir, "server", "blobs")).catch(() => {});
    assert.deepEqual(partials, [], "no partial bytes kept");
  });
});

Deno.test("10, 13: sign-in checks Origin, uses an opaque expiring session, logs out, limits attempts; a limited token's UI shows its projects", async () => {
  await withServer(async ({ url, push }) => {
    const otherId = newId();
    await (await push(T.admin, [model("other", otherId)])).body?.cancel();
    await (await push(T.admin, [model("vision")])).body?.cancel();
    const login = (token: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/login`, {
        method: "POST",
        headers,
        body: new URLSearchParams({ token }),
        redirect: "manual",
      });
    const foreign = await login(T.vision, { origin: "https://evil.example" });
    await foreign.body?.cancel();
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get("set-cookie"), null);

    const good = await login(T.vision, { origin: url });
    await good.body?.cancel();
    assert.equal(good.status, 303);
    const setCookie = good.headers.get("set-cookie")!;
    assert.ok(!setCookie.includes(T.vision), "the cookie is not the token");
    assert.match(setCookie, /Max-Age=\d+/);
    const cookie = setCookie.split(";")[0]!;
    const who = await fetch(`${url}/login`, { headers: { cookie } }).then((r) => r.text());
    assert.match(who, /Signed in as <strong id="signed-in-as">vision-team<\/strong>/);
    const list = await fetch(`${url}/`, { headers: { cookie } });
    const html = await list.text();
    assert.equal(list.status, 200);
    assert.match(html, /m-vision/);
    assert.ok(!html.includes("m-other"), "another project's model is not listed");
    const page = await fetch(`${url}/models/${otherId}`, { headers: { cookie } });
    await page.body?.cancel();
    assert.equal(page.status, 404);

    const out = await fetch(`${url}/logout`, {
      method: "POST",
      headers: { cookie, origin: url },
      redirect: "manual",
    });
    await out.body?.cancel();
    assert.equal(out.status, 303);
    const after = await fetch(`${url}/`, { headers: { cookie }, redirect: "manual" });
    await after.body?.cancel();
    assert.equal(after.status, 303, "the old session id no longer signs in");

    let last = 0;
    for (let i = 0; i < 11; i++) {
      const r = await login(`wrong-token-${i}-abcdef`);
      await r.body?.cancel();
      last = r.status;
    }
    assert.equal(last, 429);
    const blocked = await login(T.vision);
    await blocked.body?.cancel();
    assert.equal(blocked.status, 429, "even a good token waits out the limit");
  });
});

Deno.test("11: a model moved into a limited token's scope arrives whole; one moved out is reported gone", async () => {
  await withServer(async ({ url, push }) => {
    const x = newId(), y = newId();
    await (await push(T.admin, [model("vision", x), model("other", y)])).body?.cancel();
    await (await push(T.admin, [
      craft(`model:${y}`, "model.tags_changed", { add: ["early"] }, at()),
    ])).body?.cancel();
    const pull = async (after: number) =>
      decodeData<{ events: StoredEvent[]; next: number; gone?: string[] }>(
        await fetch(`${url}/v1/events?after=${after}`, { headers: auth(T.visionRead) })
          .then((r) => r.text()),
      );
    const first = await pull(0);
    assert.deepEqual(first.events.map((e) => e.stream), [`model:${x}`]);
    const move = (id: string, project: string) =>
      craft(`model:${id}`, "model.updated", { fields: { project } }, at());
    await (await push(T.admin, [move(x, "other"), move(y, "vision")])).body?.cancel();
    const second = await pull(first.next);
    const ys = second.events.filter((e) => e.stream === `model:${y}`).map((e) => e.type);
    assert.deepEqual(ys, ["model.created", "model.tags_changed", "model.updated"]);
    assert.deepEqual(second.gone, [x]);
    const unlimited = await fetch(`${url}/v1/events?after=${first.next}`, {
      headers: auth(T.admin),
    }).then((r) => r.json());
    assert.equal(unlimited.gone, undefined, "unlimited pulls are unchanged");
  });
});

Deno.test("12: admin duties: token list without secrets, stats, blob garbage collection", async () => {
  await withServer(async ({ url, put }) => {
    const refused = await fetch(`${url}/v1/admin/tokens`, { headers: auth(T.write) });
    await refused.body?.cancel();
    assert.equal(refused.status, 403);
    const text = await fetch(`${url}/v1/admin/tokens`, { headers: auth(T.admin) }).then((r) =>
      r.text()
    );
    for (const t of Object.values(T)) assert.ok(!text.includes(t), "no secret listed");
    assert.deepEqual(JSON.parse(text).tokens.map((t: { name: string }) => t.name), [
      "ops",
      "ci",
      "vision-team",
      "vision-viewer",
    ]);
    const orphan = new TextEncoder().encode("nobody names me");
    const oh = await sha256(orphan);
    await (await put(T.write, oh, orphan, 0, orphan.length)).body?.cancel();
    const stats = await fetch(`${url}/v1/admin/stats`, { headers: auth(T.admin) }).then((r) =>
      r.json()
    );
    assert.equal(stats.blobs, 1);
    const gc = await fetch(`${url}/v1/admin/blobs/gc?graceMs=0`, {
      method: "POST",
      headers: auth(T.admin),
    }).then((r) => r.json());
    assert.deepEqual(gc.deleted, [oh]);
    const gone = await fetch(`${url}/v1/blobs/sha256/${oh}`, { headers: auth(T.admin) });
    await gone.body?.cancel();
    assert.equal(gone.status, 404);
  });
});

Deno.test("12: admin quarantine of a blob: never served, kept by GC, uploads refused, released", async () => {
  await withServer(async ({ url, push, put, count }) => {
    const bytes = new TextEncoder().encode("weights under review");
    const h = await sha256(bytes);
    const id = newId();
    assert.equal((await status(await put(T.vision, h, bytes, 0, bytes.length)))[0], 201);
    assert.equal(
      (await status(await push(T.vision, [model("vision", id), weights(id, h, bytes.length)])))[0],
      200,
    );
    const blob = (token: string, method = "GET") =>
      fetch(`${url}/v1/blobs/sha256/${h}`, { method, headers: auth(token) });
    const q = (method: string, token: string, hash = h, body?: string) =>
      fetch(`${url}/v1/admin/blobs/${hash}/quarantine`, {
        method,
        headers: { "content-type": "application/json", ...auth(token) },
        body,
      });
    const list = async () =>
      (await fetch(`${url}/v1/admin/blobs/quarantine`, { headers: auth(T.admin) }).then((r) =>
        r.json()
      )).blobs as { hash: string; reason: string; since: number; by: string }[];

    // Only an admin may quarantine, release or list; a refusal changes nothing.
    for (const t of [T.write, T.vision, T.visionRead]) {
      const [st] = await status(await q("POST", t, h, JSON.stringify({ reason: "x" })));
      assert.equal(st, 403);
      const [ls] = await status(
        await fetch(`${url}/v1/admin/blobs/quarantine`, { headers: auth(t) }),
      );
      assert.equal(ls, 403);
    }
    const [anon] = await status(
      await fetch(`${url}/v1/admin/blobs/${h}/quarantine`, {
        method: "POST",
      }),
    );
    assert.equal(anon, 401);
    assert.deepEqual(await list(), []);
    // A bad hash is a typed error naming it.
    const [bad, badText] = await status(await q("POST", T.admin, "ABC"));
    assert.equal(bad, 400);
    assert.match(badText, /INVALID_ARGUMENT.*Invalid hash \\"ABC\\"/);
    const [badBody, badBodyText] = await status(
      await q("POST", T.admin, h, JSON.stringify({ reason: 7 })),
    );
    assert.equal(badBody, 400);
    assert.match(badBodyText, /Invalid reason 7/);

    // Served before.
    assert.equal((await status(await blob(T.visionRead)))[0], 200);
    const [qs, qText] = await status(
      await q("POST", T.admin, h, JSON.stringify({ reason: "licence check" })),
    );
    assert.equal(qs, 201, qText);
    const missing = new TextEncoder().encode("never stored");
    const [, missingBody] = await status(
      await fetch(`${url}/v1/blobs/sha256/${await sha256(missing)}`, { headers: auth(T.admin) }),
    );
    for (const t of [T.admin, T.visionRead, T.vision]) {
      const [st, text] = await status(await blob(t));
      assert.equal(st, 404);
      assert.equal(text, missingBody, "looks exactly like a missing blob");
      assert.equal((await status(await blob(t, "HEAD")))[0], 404);
    }
    const [entry] = await list();
    assert.equal(entry?.hash, h);
    assert.equal(entry?.reason, "licence check");
    assert.equal(entry?.by, "ops");
    assert.ok(Math.abs(Date.now() - (entry?.since ?? 0)) < 600_000);

    // Events naming it are accepted; its bytes are not.
    const before = await count();
    const id2 = newId();
    const [pushed, pushText] = await status(
      await push(T.admin, [model("vision", id2), weights(id2, h, bytes.length)]),
    );
    assert.equal(pushed, 200, pushText);
    assert.equal(await count(), before + 2);
    for (const t of [T.admin, T.write]) {
      const [up, upText] = await status(await put(t, h, bytes, 0, bytes.length));
      assert.equal(up, 403);
      assert.match(upText, /BLOB_QUARANTINED/);
    }
    assert.equal((await status(await blob(T.visionRead)))[0], 404);

    // GC keeps it even when no model names it any more.
    const orphanBytes = new TextEncoder().encode("quarantined orphan");
    const orphan = await sha256(orphanBytes);
    assert.equal(
      (await status(await put(T.write, orphan, orphanBytes, 0, orphanBytes.length)))[0],
      201,
    );
    assert.equal((await status(await q("POST", T.admin, orphan)))[0], 201);
    const gc = await fetch(`${url}/v1/admin/blobs/gc?graceMs=0`, {
      method: "POST",
      headers: auth(T.admin),
    }).then((r) => r.json());
    assert.deepEqual(gc.deleted, []);
    assert.deepEqual((await list()).map((e) => [e.hash, e.reason]), [[h, "licence check"], [
      orphan,
      "",
    ]]);

    // A non-admin cannot release; an admin can, and the bytes are served again.
    assert.equal((await status(await q("DELETE", T.write)))[0], 403);
    assert.equal((await status(await blob(T.visionRead)))[0], 404);
    const [rel, relText] = await status(await q("DELETE", T.admin));
    assert.equal(rel, 200, relText);
    assert.equal((await status(await q("DELETE", T.admin)))[0], 404);
    const back = await blob(T.visionRead);
    assert.equal(back.status, 200);
    assert.equal(await back.text(), "weights under review");
    assert.deepEqual((await list()).map((e) => e.hash), [orphan]);
    const stats = await fetch(`${url}/v1/admin/stats`, { headers: auth(T.admin) }).then((r) =>
      r.json()
    );
    assert.equal(stats.blobs, 2, "the quarantined orphan is still stored");
  });
});

Deno.test("14: a second server on the same database refuses to start; a crashed one's lock is taken over", async () => {
  await withTempDir(async (dir) => {
    const db = join(dir, "server", "modelog.db");
    const first = await spawnServer({ db, quiet: true });
    try {
      const second = spawnDeno(CLI, ["serve", "--port", "0", "--db", db, "--quiet"]);
      const st = await second.done;
      assert.notEqual(st.code, 0);
      assert.match(second.stdout() + second.stderr(), /Another modelog server \(pid \d+/);
    } finally {
      await first.crash();
    }
    const third = await spawnServer({ db, quiet: true });
    const health = await fetch(`${third.url}/v1/health`).then((r) => r.json());
    assert.equal(health.ok, true);
    await third.stop();
  });
});

/**
 * `GET /v1/health` over a fresh TCP connection (not the test's fetch pool, whose connections
 * the abandoned requests hold): the status line and body as text.
 */
async function rawHealth(port: number): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(
      new TextEncoder().encode(
        "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      ),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    c.close();
  }
}

Deno.test("8, 9: abandoned heavy requests and half-sent requests do not stall health", async () => {
  await withServer(async ({ url, push }) => {
    const many = Array.from({ length: 300 }, () => model("vision"));
    await (await push(T.admin, many)).body?.cancel();
    const port = Number(new URL(url).port);
    const slow: Deno.TcpConn[] = [];
    for (let i = 0; i < 200; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(new TextEncoder().encode("GET /v1/models HTTP/1.1\r\nHost: x\r\n"));
      slow.push(c);
    }
    const abandoned = Array.from({ length: 40 }, async () => {
      const ac = new AbortController();
      const p = fetch(`${url}/v1/models?limit=10000`, {
        headers: auth(T.vision),
        signal: ac.signal,
      })
        .then((r) => r.body?.cancel()).catch(() => {});
      setTimeout(() => ac.abort(), 50);
      await p;
    });
    try {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const h = await rawHealth(port);
        times.push(performance.now() - t0);
        assert.match(h, /"ok":true/);
      }
      // Half-sent requests are held (Deno.serve has no header timeout to set), and with them
      // open one probe may wait about a second: bounded here at 5 s, the figures printed.
      console.log(`health under load, ms: ${times.map(Math.round).join(",")}`);
      assert.ok(Math.max(...times) < 5000, `health answers: ${times.map(Math.round)}`);
    } finally {
      await Promise.all(abandoned);
      for (const c of slow) c.close();
    }
  });
});
