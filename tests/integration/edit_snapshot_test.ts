/**
 * A durable edit keeps, as its handle's snapshot, the model its transaction left: the same as a
 * reload right after, including what another writer of the same file wrote in between, and the
 * same projections as a rebuild of the log.
 */
import assert from "node:assert/strict";
import { Model, openStore, OutputModel, Task } from "../../mod.ts";
import { withTempDir } from "../fixtures/helpers.ts";

Deno.test("an edit's snapshot equals a reload, with another writer's changes in it", async () => {
  await withTempDir(async (home) => {
    const a = await openStore({ home });
    const b = await openStore({ home }); // a second writer on the same file
    try {
      const task = await Task.init({ projectName: "p", taskName: "t", store: a });
      const m = new OutputModel({ task, name: "n" });
      await m.addTags("mine");
      const other = await Model.get(m.id, { store: b });
      await other.addTags("theirs");
      await other.setMetadata("k", "v");
      await other.setName("renamed");
      // This handle has not seen the other writer: its edit reads the model as stored.
      assert.deepEqual(m.tags, ["mine"]);
      await m.setMetadata("epochs", 3);
      const reloaded = await Model.get(m.id, { store: a });
      assert.deepEqual(m.toJSON(), reloaded.toJSON());
      assert.deepEqual(m.tags, ["mine", "theirs"]);
      assert.equal(m.name, "renamed");
      assert.deepEqual(m.getAllMetadataCasted(), { epochs: 3, k: "v" });
      // An edit that changes nothing appends nothing but still refreshes the snapshot.
      await other.addTags("late");
      const before = (await a.streamEvents(`model:${m.id}`)).length;
      await m.setMetadata("epochs", 3);
      assert.equal((await a.streamEvents(`model:${m.id}`)).length, before);
      assert.deepEqual(m.tags, ["late", "mine", "theirs"]);
      await m.updateWeights({ registerUri: "https://example.com/w.pt", iteration: 7 });
      assert.deepEqual(m.toJSON(), (await Model.get(m.id, { store: b })).toJSON());
      await task.close();
      const live = await a.dump();
      await a.rebuild();
      assert.deepEqual(await a.dump(), live);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
