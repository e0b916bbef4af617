/**
 * Scope moves as a project-limited device sees them, against a real `cli.ts serve` process:
 * after an admin moves one model out of the device's project and one in, the device's pull
 * shows the one that came in and stops showing the one that left (its events stay in the
 * log; a rebuild changes nothing), `Model.get` says why, and moving it back shows it again.
 * Issue 10, point 11.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model, ModelogError, openStore, type StoredEvent, SyncWorker } from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { craft, hlc, withTempDir } from "../fixtures/helpers.ts";
import { spawnServer, writeTokensFile } from "../fixtures/sync_helpers.ts";

const ADMIN = "admin-token-0a9b8c7d6e";
const VISION = "vision-read-token-1f2e3d";

let tick = 0;
const at = () => hlc(Date.now(), tick++, "dev1");
const created = (id: string, project: string, name: string) =>
  craft(`model:${id}`, "model.created", { name, project, tags: [] }, at());
const move = (id: string, project: string) =>
  craft(`model:${id}`, "model.updated", { fields: { project } }, at());

Deno.test("11: a vision device stops showing a model moved out of vision, shows the one moved in", async () => {
  await withTempDir(async (dir) => {
    const tokens = await writeTokensFile(dir, [
      { token: ADMIN, role: "admin", name: "ops" },
      { token: VISION, role: "read", projects: ["vision"], name: "vision-viewer" },
    ]);
    const server = await spawnServer({
      db: join(dir, "server", "modelog.db"),
      tokens,
      quiet: true,
    });
    const store = await openStore({ home: join(dir, "device") });
    try {
      const push = async (events: StoredEvent[]) => {
        const res = await fetch(`${server.url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
          body: JSON.stringify({ events }),
        });
        assert.equal(res.status, 200, await res.text());
      };
      const worker = new SyncWorker({ server: server.url, token: VISION, store });
      const listed = async (projectName?: string) =>
        (await Model.queryModels({ store, ...(projectName ? { projectName } : {}) }))
          .map((m) => m.name).sort();

      const a = newId(), b = newId(), c = newId();
      await push([created(a, "vision", "a"), created(b, "other", "b"), created(c, "vision", "c")]);
      await worker.pull();
      assert.deepEqual(await listed(), ["a", "c"]);

      // The admin moves a out of vision and b into it.
      await push([move(a, "other"), move(b, "vision")]);
      await worker.pull();
      assert.deepEqual(await listed(), ["b", "c"], "b came in, a is gone");
      assert.deepEqual(await listed("other"), [], "a is not shown under its new project either");
      assert.deepEqual(await listed("vision"), ["b", "c"]);
      await assert.rejects(() => Model.get(a, { store }), (e: unknown) => {
        assert.ok(e instanceof ModelogError);
        assert.equal(e.code, "MODEL_NOT_FOUND");
        assert.match(e.message, /left this device's scope on server/);
        assert.ok(e.message.includes(server.url), e.message);
        return true;
      });
      assert.equal((await Model.get(b, { store })).project, "vision");

      // Nothing left the log, and a rebuild (projections only) changes nothing.
      const before = await store.dump();
      assert.ok(before.models!.some((r) => r[0] === a), "a's row is still projected");
      await store.rebuild();
      assert.deepEqual(await store.dump(), before);
      assert.deepEqual(await listed(), ["b", "c"], "the mark survives a rebuild");

      // A pull with nothing new keeps the mark.
      assert.deepEqual(await worker.pull(), { events: 0, fresh: 0 });
      assert.deepEqual(await listed(), ["b", "c"]);

      // Moved back: its move arrives by pull and it shows again.
      await push([move(a, "vision")]);
      await worker.pull();
      assert.deepEqual(await listed(), ["a", "b", "c"]);
      assert.equal((await Model.get(a, { store })).project, "vision");
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
