import assert from "node:assert/strict";
import { Model, ModelogError, openStore } from "../../mod.ts";
import { buildVariedStore, eventCount, withStore } from "../fixtures/helpers.ts";

Deno.test("rebuild() of a varied store gives exactly the incremental projections", async () => {
  await withStore(async (store, home) => {
    const made = await buildVariedStore(store, home);
    const before = await store.dump();
    assert.ok(before.models!.length >= 14, "models were projected");
    assert.ok(before.model_tags!.length > 20);
    assert.ok(before.model_metadata!.length > 40);
    assert.ok(before.metric_chunks!.length > 20);
    assert.ok(before.scalar_series!.length > 20);
    assert.ok(before.plots!.length >= 6);
    assert.equal(before.tasks!.length, 2);
    assert.ok(before.task_models!.length >= 3);
    const n = await eventCount(store);
    const r = await store.rebuild();
    assert.equal(r.events, n);
    assert.deepEqual(await store.dump(), before);
    // And twice is the same as once.
    await store.rebuild();
    assert.deepEqual(await store.dump(), before);
    for (const id of made.removed) {
      await assert.rejects(Model.get(id, { store }), { code: "MODEL_NOT_FOUND" });
    }
  });
});

Deno.test("a reopened store keeps every projection and rebuild still matches", async () => {
  await withStore(async (store, home) => {
    await buildVariedStore(store, home);
    const before = await store.dump();
    const again = await openStore({ home });
    try {
      assert.deepEqual(await again.dump(), before);
      await again.rebuild();
      assert.deepEqual(await again.dump(), before);
      assert.equal(again.origin, store.origin, "the device id is kept in the database");
    } finally {
      await again.close();
    }
  });
});

Deno.test("readEvents() pages in local order and ingest() of known events is a no-op", async () => {
  await withStore(async (store, home) => {
    await buildVariedStore(store, home);
    const all = await store.readEvents({ limit: 1e6 });
    assert.equal(all.length, await eventCount(store));
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.seq! > all[i - 1]!.seq!);
    const page1 = await store.readEvents({ limit: 10 });
    const page2 = await store.readEvents({ afterSeq: page1.at(-1)!.seq!, limit: 10 });
    assert.deepEqual([...page1, ...page2].map((e) => e.id), all.slice(0, 20).map((e) => e.id));
    const before = await store.dump();
    const fresh = await store.ingest(all);
    assert.equal(fresh.length, 0, "every event id is already stored");
    assert.equal(await eventCount(store), all.length);
    assert.deepEqual(await store.dump(), before);
  });
});

Deno.test("ingest() rejects a malformed event with INVALID_EVENT and stores nothing", async () => {
  await withStore(async (store, home) => {
    await buildVariedStore(store, home);
    const before = await store.dump();
    const n = await eventCount(store);
    const [good] = await store.readEvents({ limit: 1 });
    const bad = { ...good!, id: crypto.randomUUID(), at: "yesterday" };
    await assert.rejects(store.ingest([bad]), (e: unknown) => {
      assert.ok(e instanceof ModelogError);
      assert.equal(e.code, "INVALID_EVENT");
      assert.match(String((e as Error).message), /event\.at/);
      return true;
    });
    assert.equal(await eventCount(store), n);
    assert.deepEqual(await store.dump(), before);
  });
});

Deno.test("a closed store refuses reads and writes with STORE_CLOSED", async () => {
  const home = await Deno.makeTempDir();
  try {
    const store = await openStore({ home });
    await store.close();
    await store.close(); // idempotent
    assert.equal(store.closed, true);
    await assert.rejects(store.readEvents(), { code: "STORE_CLOSED" });
    await assert.rejects(
      store.append([{ stream: "task:abc", type: "task.closed", data: {} }]),
      { code: "STORE_CLOSED" },
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
