/**
 * A device whose weights blob an admin quarantined on the server: the upload is refused
 * (`BLOB_QUARANTINED`), the push of the events naming it goes through, and the bytes stay
 * unserved until the blob is released.
 */
import assert from "node:assert/strict";
import { openStore, OutputModel, startServer, SyncWorker, Task } from "../../mod.ts";
import { withTempDir } from "../fixtures/helpers.ts";

Deno.test("a quarantined blob's upload is skipped and its events are pushed", async () => {
  await withTempDir(async (dir) => {
    const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
    const store = await openStore({ home: `${dir}/laptop` });
    try {
      const task = await Task.init({ projectName: "demo", taskName: "train", store });
      const file = `${dir}/net.bin`;
      await Deno.writeFile(file, new Uint8Array(1000).fill(7));
      const out = new OutputModel({ task, name: "net" });
      await out.updateWeights({ weightsFilename: file });
      await task.close();
      const hash = (await store.blobs.putFile(file)).hash;
      const q = await fetch(`${server.url}/v1/admin/blobs/${hash}/quarantine`, {
        method: "POST",
        body: JSON.stringify({ reason: "review" }),
      });
      assert.equal(q.status, 201, await q.text());

      const pushed = await new SyncWorker({ server: server.url, store }).push();
      assert.ok(pushed.events > 0);
      assert.equal(pushed.bytes, 0, "no byte of the quarantined blob was sent");
      const models = await fetch(`${server.url}/v1/models?limit=10`).then((r) => r.json());
      assert.equal(JSON.stringify(models).includes(out.id), true, "the model arrived");
      const get = await fetch(`${server.url}/v1/blobs/sha256/${hash}`);
      assert.equal(get.status, 404);
      await get.body?.cancel();

      const rel = await fetch(`${server.url}/v1/admin/blobs/${hash}/quarantine`, {
        method: "DELETE",
      });
      assert.equal(rel.status, 200, await rel.text());
      const gone = await fetch(`${server.url}/v1/blobs/sha256/${hash}`);
      assert.equal(gone.status, 404, "never uploaded: still missing after release");
      await gone.body?.cancel();
    } finally {
      await store.close();
      await server.close();
    }
  });
});
