/**
 * Model edits on a PostgreSQL store: the one-transaction edit path (read the model, plan, write,
 * keep the folded model as the snapshot) runs on PostgreSQL too, and its snapshot is what a
 * fresh read gives.
 */
import assert from "node:assert/strict";
import { Model, openStore, OutputModel, Task } from "../../mod.ts";
import { checkPostgres, startPostgres } from "../fixtures/postgres.ts";
import { serviceGate } from "../fixtures/services.ts";

const gate = serviceGate("PostgreSQL", await checkPostgres());

Deno.test({
  name: "pg edits: create, metadata, tags and weights edits read back as a fresh load does",
  ignore: gate.ignore,
  async fn() {
    gate.requireService();
    const pg = await startPostgres();
    const home = await Deno.makeTempDir();
    try {
      const store = await openStore({ home, url: pg.url });
      const task = await Task.init({ projectName: "p", taskName: "t", store });
      const m = new OutputModel({ task, name: "n" });
      await m.setMetadata("a", 1);
      await m.addTags("x", "y");
      await m.setMetadata("a", 1); // unchanged: nothing appended
      await m.updateWeights({ registerUri: "https://example.com/w.pt", iteration: 3 });
      const fresh = await Model.get(m.id, { store });
      assert.deepEqual(fresh.tags, ["x", "y"]);
      assert.equal(fresh.getMetadataCasted("a"), 1);
      assert.equal(m.iteration, 3);
      assert.deepEqual(m.toJSON(), fresh.toJSON());
      const metadataEvents = (await store.streamEvents(`model:${m.id}`))
        .filter((e) => e.type === "model.metadata_changed");
      assert.equal(metadataEvents.length, 1);
      await task.close();
      await store.close();
    } finally {
      await pg.stop();
      await Deno.remove(home, { recursive: true });
    }
  },
});
