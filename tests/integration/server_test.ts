/**
 * Server tests against real `cli.ts serve` processes on 127.0.0.1: tokens and roles, input
 * validation that applies nothing, blob names, binding without tokens, secrets kept out of the
 * log, the query API, Range reads, and `cli.ts sync` as a subprocess.
 */
import { readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model, openStore, OutputModel, type StoredEvent, Task } from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { craft, hlc, withTempDir } from "../fixtures/helpers.ts";
import {
  CLI,
  serverEvents,
  spawnDeno,
  spawnServer,
  writeTokensFile,
} from "../fixtures/sync_helpers.ts";
import { SyncWorker } from "../../mod.ts";
import { serverTest } from "../fixtures/server_backends.ts";

const TOKENS = {
  admin: "admin-token-5c1e0f3d9a",
  write: "write-token-77ab12ce09",
  read: "read-token-0d0d4e5f61",
  vision: "vision-token-a1b2c3d4e5",
};

function writeTokens(dir: string): Promise<string> {
  return writeTokensFile(dir, [
    { token: TOKENS.admin, role: "admin", name: "ops" },
    { token: TOKENS.write, role: "write", name: "ci" },
    { token: TOKENS.read, role: "read", name: "viewer" },
    { token: TOKENS.vision, role: "write", projects: ["vision"], name: "vision-team" },
  ]);
}

function created(project: string, id = newId(), at = hlc(Date.now(), 0, "dev1")): StoredEvent {
  return craft(`model:${id}`, "model.created", { name: `m-${project}`, project, tags: [] }, at);
}

serverTest(
  "tokens, roles and validation: refused requests apply nothing; tokens never logged",
  async (backend) => {
    await withTempDir(async (dir) => {
      const server = await spawnServer({
        ...(await backend.fresh(dir)).serve,
        tokens: await writeTokens(dir),
      });
      try {
        const url = server.url;
        const auth = (t?: string): Record<string, string> =>
          t ? { authorization: `Bearer ${t}` } : {};
        const post = (body: unknown, token?: string) =>
          fetch(`${url}/v1/events`, {
            method: "POST",
            headers: { "content-type": "application/json", ...auth(token) },
            body: typeof body === "string" ? body : JSON.stringify(body),
          });
        const count = async () => (await serverEvents(url, TOKENS.admin)).length;
        const expect = async (res: Response, status: number, code?: string) => {
          const text = await res.text();
          assert.equal(res.status, status, text);
          if (code) assert.equal(JSON.parse(text).error.code, code);
          for (const t of Object.values(TOKENS)) assert.ok(!text.includes(t), "no token echoed");
        };

        // A model in "other" made by the admin, one in "vision" by the vision token.
        const otherId = newId();
        await expect(await post({ events: [created("other", otherId)] }, TOKENS.admin), 200);
        const visionId = newId();
        await expect(await post({ events: [created("vision", visionId)] }, TOKENS.vision), 200);
        const n0 = await count();
        assert.equal(n0, 2);

        const fresh = () => ({ events: [created("vision")] });
        // No token, wrong token: 401 on every endpoint.
        await expect(await post(fresh()), 401, "UNAUTHORIZED");
        await expect(await post(fresh(), "not-a-real-token-xyz"), 401, "UNAUTHORIZED");
        await expect(
          await post(fresh(), TOKENS.write.slice(0, -1) + "0"),
          401,
          "UNAUTHORIZED",
        );
        await expect(await fetch(`${url}/v1/events?after=0`), 401, "UNAUTHORIZED");
        await expect(await fetch(`${url}/v1/models`), 401, "UNAUTHORIZED");
        await expect(await fetch(`${url}/v1/models/${otherId}`), 401, "UNAUTHORIZED");
        await expect(
          await fetch(`${url}/v1/models`, { headers: { authorization: `Basic ${TOKENS.admin}` } }),
          401,
          "UNAUTHORIZED",
        );
        const someHash = "ab".repeat(32);
        await expect(
          await fetch(`${url}/v1/blobs/sha256/${someHash}`, {
            method: "PUT",
            headers: { "Upload-Offset": "0", "Upload-Length": "3" },
            body: "abc",
          }),
          401,
        );
        // A read token cannot push events or blobs.
        await expect(await post(fresh(), TOKENS.read), 403, "FORBIDDEN");
        await expect(
          await fetch(`${url}/v1/blobs/sha256/${someHash}`, {
            method: "PUT",
            headers: { "Upload-Offset": "0", "Upload-Length": "3", ...auth(TOKENS.read) },
            body: "abc",
          }),
          403,
          "FORBIDDEN",
        );
        // A project token cannot write outside its projects, even mixed with allowed events.
        await expect(await post({ events: [created("other")] }, TOKENS.vision), 403, "FORBIDDEN");
        const renameOther = craft(
          `model:${otherId}`,
          "model.updated",
          { fields: { name: "hijacked" } },
          hlc(Date.now(), 1, "dev1"),
        );
        await expect(await post({ events: [renameOther] }, TOKENS.vision), 403, "FORBIDDEN");
        await expect(
          await post({ events: [created("vision"), renameOther] }, TOKENS.vision),
          403,
          "FORBIDDEN",
        );
        const moveOut = craft(
          `model:${visionId}`,
          "model.updated",
          { fields: { project: "other" } },
          hlc(Date.now(), 2, "dev1"),
        );
        await expect(await post({ events: [moveOut] }, TOKENS.vision), 403, "FORBIDDEN");
        assert.equal(await count(), n0, "nothing applied by refused pushes");

        // Malformed, unknown type, a bad event among good ones, not JSON, not {events}.
        const good = created("vision");
        const { id: _drop, ...noId } = created("vision");
        await expect(await post({ events: [noId] }, TOKENS.write), 400, "INVALID_EVENT");
        await expect(
          await post({ events: [{ ...created("vision"), type: "model.exploded" }] }, TOKENS.write),
          400,
          "INVALID_EVENT",
        );
        await expect(
          await post({ events: [good, { ...created("vision"), at: "yesterday" }] }, TOKENS.write),
          400,
          "INVALID_EVENT",
        );
        await expect(
          await post({
            events: [good, { ...created("vision"), stream: "task:" + newId() }],
          }, TOKENS.write),
          400,
          "INVALID_EVENT",
        );
        await expect(await post("{not json", TOKENS.write), 400, "INVALID_ARGUMENT");
        await expect(await post({ rows: [good] }, TOKENS.write), 400, "INVALID_ARGUMENT");
        // Over the limits: too many events, too large a body.
        const many = Array.from({ length: 5001 }, () => created("vision"));
        await expect(await post({ events: many }, TOKENS.write), 413, "PAYLOAD_TOO_LARGE");
        const huge = JSON.stringify({ events: [good], pad: "x".repeat(33 * 1024 * 1024) });
        await expect(await post(huge, TOKENS.write), 413, "PAYLOAD_TOO_LARGE");
        assert.equal(await count(), n0, "nothing applied by invalid pushes");

        // Path-like and non-hex blob names, for reads and writes.
        const badNames = [
          "..%2F..%2Fetc",
          "..%2F..%2F..%2Fetc%2Fpasswd",
          "%2e%2e",
          "g".repeat(64),
          "AB".repeat(32),
          "ab".repeat(31),
          "ab".repeat(33),
          "ab".repeat(32) + "%00",
        ];
        for (const name of badNames) {
          for (const method of ["GET", "HEAD", "PUT"]) {
            const res = await fetch(`${url}/v1/blobs/sha256/${name}`, {
              method,
              headers: { "Upload-Offset": "0", "Upload-Length": "3", ...auth(TOKENS.admin) },
              ...(method === "PUT" ? { body: "abc" } : {}),
            });
            await res.body?.cancel();
            assert.equal(res.status, 400, `${method} ${name}`);
          }
        }
        for (const path of ["/v1/blobs/sha256/ab/cd", "/v1/blobs/md5/" + "ab".repeat(16)]) {
          const res = await fetch(url + path, {
            method: "PUT",
            headers: auth(TOKENS.admin),
            body: "x",
          });
          await res.body?.cancel();
          assert.equal(res.status, 400, path);
        }
        const blobsDir = join(dir, "server", "blobs");
        const files: string[] = [];
        const walk = async (d: string) => {
          for await (const e of Deno.readDir(d)) {
            if (e.isDirectory) await walk(join(d, e.name));
            else files.push(join(d, e.name));
          }
        };
        await walk(blobsDir).catch(() => {});
        assert.deepEqual(files, [], "no blob bytes written");
        assert.equal(await count(), n0);

        // A project token reads only its projects.
        const seen = await serverEvents(url, TOKENS.vision);
        assert.deepEqual(seen.map((e) => e.stream), [`model:${visionId}`]);
        const models = await fetch(`${url}/v1/models`, { headers: auth(TOKENS.vision) })
          .then((r) => r.json());
        assert.deepEqual(models.models.map((m: { id: string }) => m.id), [visionId]);
        // Another project's model answers as a missing one (nothing tells it exists).
        await expect(
          await fetch(`${url}/v1/models/${otherId}`, { headers: auth(TOKENS.vision) }),
          404,
          "MODEL_NOT_FOUND",
        );

        // The log saw every request, and no token.
        await server.stop();
        const log = server.log();
        assert.match(log, /POST \/v1\/events 401/);
        assert.match(log, /POST \/v1\/events 403/);
        for (const t of Object.values(TOKENS)) assert.ok(!log.includes(t), "token not in the log");
      } finally {
        await server.crash();
      }
    });
  },
);

// The binding does not depend on the server's database: libSQL only.
Deno.test("without tokens the server binds 127.0.0.1 only, even when asked for 0.0.0.0", async () => {
  await withTempDir(async (dir) => {
    const server = await spawnServer({ db: join(dir, "s.db"), hostname: "0.0.0.0" });
    try {
      assert.equal(new URL(server.url).hostname, "127.0.0.1");
      assert.match(server.log(), /127\.0\.0\.1 only/);
      const health = await fetch(`${server.url}/v1/health`).then((r) => r.json());
      assert.equal(health.ok, true);
      // Not reachable on any other interface of this machine.
      const others = Deno.networkInterfaces().filter((i) =>
        i.family === "IPv4" && !i.address.startsWith("127.")
      );
      for (const i of others) {
        await assert.rejects(
          async () => {
            const c = await Deno.connect({ hostname: i.address, port: server.port });
            c.close();
          },
          `not listening on ${i.address}`,
        );
      }
    } finally {
      await server.crash();
    }
  });
});

serverTest(
  "query API: tags, -tags and metadata filters; a model's record; Range reads of blobs",
  async (backend) => {
    await withTempDir(async (dir) => {
      const server = await spawnServer({ ...(await backend.fresh(dir)).serve, quiet: true });
      const store = await openStore({ home: join(dir, "dev") });
      try {
        const task = await Task.init({ projectName: "vision", taskName: "train", store });
        const mk = async (name: string, tags: string[], stage: string, epochs: number) => {
          const m = new OutputModel({ task, name, tags });
          await m.setMetadata("stage", stage);
          await m.setMetadata("epochs", epochs);
          return m;
        };
        const m1 = await mk("m1", ["best", "draft"], "prod", 10);
        const m2 = await mk("m2", ["best"], "prod", 20);
        const m3 = await mk("m3", ["draft"], "dev", 10);
        const bytes = new Uint8Array(100_000);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
        const src = join(dir, "w.safetensors");
        await Deno.writeFile(src, bytes);
        await m2.updateWeights({ weightsFilename: src, iteration: 3 });
        for (let i = 0; i < 5; i++) m2.reportScalar("loss", "train", 1 / (i + 1), i);
        m2.reportSingleValue("accuracy", 0.91);
        m2.reportHistogram({ title: "hist", series: "h", values: [1, 2, 3], iteration: 1 });
        await m2.flush();
        await task.close();
        await new SyncWorker({ server: server.url, store }).push();

        const ids = async (query: string) => {
          const res = await fetch(`${server.url}/v1/models?${query}`);
          assert.equal(res.status, 200, await res.clone().text());
          return ((await res.json()).models as { id: string }[]).map((m) => m.id).sort();
        };
        assert.deepEqual(await ids(""), [m1.id, m2.id, m3.id].sort());
        assert.deepEqual(await ids("tags=best"), [m1.id, m2.id].sort());
        assert.deepEqual(await ids("tags=best&tags=-draft"), [m2.id]);
        assert.deepEqual(await ids("tags=best,-draft"), [m2.id]);
        assert.deepEqual(await ids("tags=-best"), [m3.id]);
        assert.deepEqual(await ids("metadata=stage=prod"), [m1.id, m2.id].sort());
        assert.deepEqual(await ids("metadata.stage=prod&metadata.epochs=10"), [m1.id]);
        assert.deepEqual(await ids("metadata=stage=dev&tags=draft"), [m3.id]);
        assert.deepEqual(await ids("tags=best&metadata=epochs=10"), [m1.id]);
        assert.deepEqual(await ids("project=vision&name=m3"), [m3.id]);
        const bad = await fetch(`${server.url}/v1/models?metadata=novalue`);
        assert.equal(bad.status, 400);
        await bad.body?.cancel();

        const rec = await fetch(`${server.url}/v1/models/${m2.id}`).then((r) => r.json());
        assert.equal(rec.model.id, m2.id);
        assert.equal(rec.model.name, "m2");
        assert.equal(rec.metadata.stage.value, "prod");
        assert.equal(rec.metadata.epochs.value, "20");
        assert.ok(
          rec.scalarSummary.some((s: { title: string; series: string }) =>
            s.title === "loss" && s.series === "train"
          ),
        );
        assert.equal(rec.singleValues.accuracy, 0.91);
        assert.ok(rec.plots.length >= 1);
        const missing = await fetch(`${server.url}/v1/models/${"f".repeat(32)}`);
        assert.equal(missing.status, 404);
        await missing.body?.cancel();

        const remote = await Model.get(m2.id, { store });
        const blobUrl = `${server.url}/v1/blobs/sha256/${remote.hash}`;
        const r1 = await fetch(blobUrl, { headers: { range: "bytes=10-19" } });
        assert.equal(r1.status, 206);
        assert.equal(r1.headers.get("content-range"), `bytes 10-19/${bytes.length}`);
        assert.deepEqual(new Uint8Array(await r1.arrayBuffer()), bytes.slice(10, 20));
        const r2 = await fetch(blobUrl, { headers: { range: "bytes=99990-" } });
        assert.equal(r2.status, 206);
        assert.deepEqual(new Uint8Array(await r2.arrayBuffer()), bytes.slice(99990));
        const r3 = await fetch(blobUrl, { headers: { range: `bytes=${bytes.length}-` } });
        assert.equal(r3.status, 416);
        await r3.body?.cancel();
        const whole = await fetch(blobUrl);
        assert.equal(whole.status, 200);
        assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), bytes);
      } finally {
        await store.close();
        await server.crash();
      }
    });
  },
);

// The CLI's flags and output do not depend on the server's database: libSQL only.
Deno.test("cli.ts sync push|pull|status print JSON and exit 0; bad flags exit non-zero", async () => {
  await withTempDir(async (dir) => {
    const server = await spawnServer({ db: join(dir, "server", "modelog.db"), quiet: true });
    try {
      const homeA = join(dir, "a");
      const homeB = join(dir, "b");
      const a = await openStore({ home: homeA });
      const task = await Task.init({ projectName: "cli", taskName: "t", store: a });
      const m = new OutputModel({ task, name: "from-cli" });
      const src = join(dir, "w.bin");
      await Deno.writeFile(src, new Uint8Array(4096).fill(7));
      await m.updateWeights({ weightsFilename: src });
      m.reportScalar("loss", "train", 0.5, 1);
      await m.flush();
      await task.close();
      const localEvents = Number(
        (await readOne<{ n: number }>(a, "SELECT count(*) AS n FROM events"))?.n,
      );
      await a.close();

      const env = { ...Deno.env.toObject() };
      delete env.MODELOG_SERVER;
      delete env.MODELOG_TOKEN;
      delete env.MODELOG_HOME;
      const cli = async (...args: string[]) => {
        const p = spawnDeno(CLI, args, { env });
        const st = await p.done;
        return { code: st.code, stdout: p.stdout(), stderr: p.stderr() };
      };
      const json = (s: string) => JSON.parse(s.trim());

      const st0 = await cli("sync", "status", "--home", homeA, "--server", server.url, "--json");
      assert.equal(st0.code, 0, st0.stderr);
      assert.equal(json(st0.stdout).pendingEvents, localEvents);
      const push = await cli("sync", "push", "--home", homeA, "--server", server.url, "--json");
      assert.equal(push.code, 0, push.stderr);
      assert.deepEqual(json(push.stdout), { events: localEvents, blobs: 1, bytes: 4096 });
      const st1 = await cli("sync", "status", "--home", homeA, "--server", server.url, "--json");
      assert.equal(st1.code, 0, st1.stderr);
      assert.equal(json(st1.stdout).pendingEvents, 0);
      const pull = await cli("sync", "pull", "--home", homeB, "--server", server.url, "--json");
      assert.equal(pull.code, 0, pull.stderr);
      assert.deepEqual(json(pull.stdout), { events: localEvents, fresh: localEvents });
      const b = await openStore({ home: homeB });
      try {
        const onB = await Model.get(m.id, { store: b });
        assert.equal(onB.name, "from-cli");
      } finally {
        await b.close();
      }

      const oneLine = (r: { code: number; stderr: string }, what: string) => {
        assert.notEqual(r.code, 0, what);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, `${what}: one error line, got ${r.stderr}`);
        assert.match(lines[0]!, /error/i);
      };
      oneLine(await cli("sync", "push", "--home", homeA, "--bogus"), "unknown flag");
      oneLine(await cli("sync", "push", "--home", homeA), "missing --server");
      oneLine(
        await cli("sync", "push", "--home", homeA, "--server", "ftp://example.com"),
        "bad --server",
      );
      oneLine(await cli("sync", "pull", "--home", homeA, "--server"), "flag without value");
      oneLine(await cli("serve", "--port", "nope", "--db", join(dir, "x.db")), "bad --port");
    } finally {
      await server.crash();
    }
  });
});
