import assert from "node:assert/strict";
import { Model, openStore, OutputModel, startServer, SyncWorker, Task } from "../../mod.ts";

Deno.test("an empty weights file syncs and downloads on another device", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
  const a = await openStore({ home: `${dir}/a` });
  const b = await openStore({ home: `${dir}/b` });
  try {
    const task = await Task.init({ projectName: "p", taskName: "t", store: a });
    const m = new OutputModel({ task, name: "empty" });
    const f = `${dir}/empty.bin`;
    await Deno.writeFile(f, new Uint8Array());
    await m.updateWeights({ weightsFilename: f });
    const pushed = await new SyncWorker({ server: server.url, store: a }).push();
    assert.equal(pushed.blobs, 1);
    assert.equal(pushed.bytes, 0);
    const head = await fetch(`${server.url}/v1/blobs/sha256/${m.hash}`, { method: "HEAD" });
    await head.body?.cancel();
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "0");
    await new SyncWorker({ server: server.url, store: b }).pull();
    await Deno.remove(f);
    const copy = await (await Model.get(m.id, { store: b })).getLocalCopy();
    assert.equal((await Deno.stat(copy!)).size, 0);
    await task.close();
  } finally {
    await a.close();
    await b.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
