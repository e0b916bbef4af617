import assert from "node:assert/strict";
import { Model, openStore, type Store, type StoredEvent } from "../../mod.ts";
import { newId } from "../../lib/clock.ts";
import { buildVariedStore, craft, hlc, rng, shuffle, withStore } from "../fixtures/helpers.ts";

const SEED = 20250611;

/**
 * Events from two other devices ("aaaa" and "bbbb") that edit the same model concurrently and
 * conflict on purpose: same field, same tag, same metadata key, archive versus unarchive,
 * weights with and without an iteration, two plots of the same iteration.
 */
function concurrentEvents(taskId: string, baseWall: number): {
  events: StoredEvent[];
  modelId: string;
  lateModelId: string;
} {
  const m = newId();
  const late = newId();
  const s = `model:${m}`;
  const w = baseWall;
  const figure = (y: number) => ({ data: [{ type: "bar", y: [y] }], layout: { title: "p" } });
  const events = [
    craft(s, "model.created", {
      name: "shared",
      project: "sync",
      task: taskId,
      originalTask: taskId,
      tags: ["a", "b"],
      labels: { x: 1 },
    }, hlc(w, 0, "aaaa")),
    // Both devices rename in the same millisecond: the origin breaks the tie (bbbb wins).
    craft(s, "model.updated", { fields: { name: "from-a" } }, hlc(w + 10, 0, "aaaa")),
    craft(s, "model.updated", { fields: { name: "from-b" } }, hlc(w + 10, 0, "bbbb")),
    // a comments later than b's comment; b changes labels later than a's labels.
    craft(
      s,
      "model.updated",
      { fields: { comment: "a2", labels: { x: 2 } } },
      hlc(w + 30, 0, "aaaa"),
    ),
    craft(
      s,
      "model.updated",
      { fields: { comment: "b1", labels: { y: 3 } } },
      hlc(w + 20, 0, "bbbb"),
    ),
    craft(s, "model.updated", { fields: { labels: { z: 4 } } }, hlc(w + 40, 0, "bbbb")),
    // Tag "a": removed by b, re-added by a later; tag "b": added by a, removed by b later.
    craft(s, "model.tags_changed", { remove: ["a"] }, hlc(w + 11, 0, "bbbb")),
    craft(s, "model.tags_changed", { add: ["a", "c"] }, hlc(w + 12, 0, "aaaa")),
    craft(s, "model.tags_changed", { add: ["b"] }, hlc(w + 13, 0, "aaaa")),
    craft(s, "model.tags_changed", { remove: ["b", "c"] }, hlc(w + 13, 1, "bbbb")),
    // Metadata key "k": set by both, b later; key "gone": set by a, removed by b later.
    craft(
      s,
      "model.metadata_changed",
      { set: { k: { value: "1", type: "int" } } },
      hlc(w + 14, 0, "aaaa"),
    ),
    craft(
      s,
      "model.metadata_changed",
      { set: { k: { value: "two", type: "str" } } },
      hlc(w + 14, 2, "bbbb"),
    ),
    craft(
      s,
      "model.metadata_changed",
      { set: { gone: { value: "true", type: "bool" } } },
      hlc(w + 15, 0, "aaaa"),
    ),
    craft(s, "model.metadata_changed", { remove: ["gone"] }, hlc(w + 16, 0, "bbbb")),
    // Archive by a, unarchive by b later, archive by a at the same ms with a smaller origin.
    craft(s, "model.archived", {}, hlc(w + 17, 0, "aaaa")),
    craft(s, "model.unarchived", {}, hlc(w + 18, 0, "bbbb")),
    craft(s, "model.archived", {}, hlc(w + 18, 0, "aaaa")),
    // Weights: the newer update carries no iteration, so the model keeps 5 from the older one.
    craft(s, "model.weights_updated", {
      uri: "https://example.com/w1.pt",
      hash: "1".repeat(64),
      size: 10,
      iteration: 5,
    }, hlc(w + 19, 0, "aaaa")),
    craft(s, "model.weights_updated", {
      uri: "https://example.com/w2.pt",
      hash: "2".repeat(64),
      size: 20,
    }, hlc(w + 19, 1, "bbbb")),
    // Publish twice (one-way; the first publish time is kept).
    craft(s, "model.published", {}, hlc(w + 21, 0, "bbbb")),
    craft(s, "model.published", {}, hlc(w + 22, 0, "aaaa")),
    // Scalars from both devices on the same series, and a plot re-reported at one iteration.
    craft(s, "metric.scalars", {
      title: "loss",
      series: "train",
      iters: [0, 1, 2],
      values: [3, 2, "NaN"],
    }, hlc(w + 23, 0, "aaaa")),
    craft(s, "metric.scalars", {
      title: "loss",
      series: "train",
      iters: [2, 3],
      values: [1.5, "Infinity"],
    }, hlc(w + 23, 0, "bbbb")),
    craft(s, "metric.plot", {
      kind: "histogram",
      title: "p",
      series: "s",
      iteration: 1,
      figure: figure(1),
    }, hlc(w + 24, 0, "aaaa")),
    craft(s, "metric.plot", {
      kind: "histogram",
      title: "p",
      series: "s",
      iteration: 1,
      figure: figure(2),
    }, hlc(w + 24, 0, "bbbb")),
    // A model whose events arrive before its creation in some orders, then is removed.
    craft(`model:${late}`, "model.tags_changed", { add: ["early"] }, hlc(w + 25, 0, "bbbb")),
    craft(
      `model:${late}`,
      "model.created",
      { name: "late", project: "sync" },
      hlc(w + 1, 0, "aaaa"),
    ),
    craft(`model:${late}`, "model.removed", { deleteWeightsFile: false }, hlc(w + 26, 0, "aaaa")),
    craft(`model:${late}`, "model.removed", {}, hlc(w + 26, 0, "bbbb")),
    // Task links from two devices under the same entry name.
    craft(
      `task:${taskId}`,
      "task.model_connected",
      { modelId: m, role: "output", name: "best" },
      hlc(w + 27, 0, "aaaa"),
    ),
    craft(
      `task:${taskId}`,
      "task.model_connected",
      { modelId: late, role: "output", name: "best" },
      hlc(w + 27, 0, "bbbb"),
    ),
  ];
  return { events, modelId: m, lateModelId: late };
}

async function ingestInBatches(store: Store, events: StoredEvent[], rand: () => number) {
  let i = 0;
  while (i < events.length) {
    const n = 1 + Math.floor(rand() * Math.min(events.length - i, rand() < 0.3 ? 5 : 80));
    await store.ingest(events.slice(i, i + n));
    i += n;
  }
}

Deno.test("50 random orders and batchings of the same events converge to one state", async () => {
  await withStore(async (store, home) => {
    const made = await buildVariedStore(store, home);
    const conc = concurrentEvents(made.tasks[0]!, Date.now() + 1000);
    await store.ingest(conc.events);
    const original = await store.dump();
    const events = await store.readEvents({ limit: 1e6 });
    assert.ok(events.length > 150, `a varied log (${events.length} events)`);

    // The concurrent edits resolved as last-writer-wins by HLC.
    const shared = await Model.get(conc.modelId, { store });
    assert.equal(shared.name, "from-b");
    assert.equal(shared.comment, "a2");
    assert.deepEqual(shared.labels, { z: 4 });
    assert.deepEqual(shared.tags, ["a"]);
    assert.equal(shared.getMetadata("k"), "two");
    assert.equal(shared.getMetadata("gone"), undefined);
    assert.equal(shared.archived, false, "bbbb's unarchive wins the tie in the same ms");
    assert.equal(shared.url, "https://example.com/w2.pt");
    assert.equal(shared.size, 20);
    assert.equal(shared.iteration, 5);
    assert.equal(shared.published, true);
    await assert.rejects(Model.get(conc.lateModelId, { store }), { code: "MODEL_NOT_FOUND" });
    const plots = await shared.getReportedPlots();
    assert.equal(plots.length, 1);
    assert.deepEqual((plots[0]!.figure.data[0] as { y: number[] }).y, [2]);

    const rand = rng(SEED);
    for (let round = 0; round < 50; round++) {
      const home2 = await Deno.makeTempDir({ prefix: "modelog-conv-" });
      const other = await openStore({ home: home2 });
      try {
        const order = shuffle(events, rand);
        if (round % 5 === 0) await other.ingest(order);
        else await ingestInBatches(other, order, rand);
        // Replaying a random part again changes nothing (ingest is idempotent).
        await other.ingest(order.slice(0, Math.floor(rand() * order.length)));
        const dump = await other.dump();
        assert.deepEqual(dump, original, `round ${round} (seed ${SEED}) diverged`);
        if (round % 10 === 0) {
          await other.rebuild();
          assert.deepEqual(await other.dump(), original, `round ${round}: rebuild diverged`);
        }
      } finally {
        await other.close();
        await Deno.remove(home2, { recursive: true });
      }
    }
  });
});

Deno.test("two devices that exchange their logs both end with the same models", async () => {
  await withStore(async (a, homeA) => {
    await withStore(async (b, homeB) => {
      await buildVariedStore(a, homeA);
      await buildVariedStore(b, homeB);
      const fromA = await a.readEvents({ limit: 1e6 });
      const fromB = await b.readEvents({ limit: 1e6 });
      await a.ingest(fromB);
      await b.ingest(fromA);
      const dumpA = await a.dump();
      assert.deepEqual(await b.dump(), dumpA);
      assert.equal(
        (await Model.queryModels({ store: a, includeArchived: true })).length,
        (await Model.queryModels({ store: b, includeArchived: true })).length,
      );
      await a.rebuild();
      assert.deepEqual(await a.dump(), dumpA);
    });
  });
});
