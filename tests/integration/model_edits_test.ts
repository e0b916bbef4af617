/**
 * Model-side registry paper cuts: unique id prefixes, edits that change nothing, tags that could
 * never be matched, `addTags([...])`, and weights paths that arrived from another device.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  InputModel,
  InvalidArgumentError,
  Model,
  ModelNotFoundError,
  openStore,
  OutputModel,
  type Store,
  Task,
  WeightsNotFoundError,
} from "../../mod.ts";
import { AmbiguousIdError } from "../../lib/models/model.ts";
import { eventCount, withStore, withTempDir, writeFile } from "../fixtures/helpers.ts";

async function model(store: Store, name = "net"): Promise<OutputModel> {
  const task = Task.current() ?? await Task.init({ projectName: "p", taskName: "t", store });
  const m = new OutputModel({ task, name });
  await m.addTags("base");
  return m;
}

Deno.test("a unique id prefix of 6+ hex characters works in Model.get and InputModel.get", async () => {
  await withStore(async (store) => {
    const models = [];
    for (let i = 0; i < 40; i++) models.push(await model(store, `m${i}`));
    const m = models[0]!;
    // The shortest prefix of at least 6 characters that is unique among the 40 ids.
    let n = 6;
    while (models.some((o) => o !== m && o.id.startsWith(m.id.slice(0, n)))) n++;
    assert.equal((await Model.get(m.id.slice(0, n), { store })).id, m.id);
    assert.equal((await InputModel.get(m.id.slice(0, n).toUpperCase(), { store })).name, "m0");
    assert.equal((await InputModel.get({ modelId: m.id.slice(0, n), store })).id, m.id);
    await assert.rejects(() => Model.get(m.id.slice(0, 5), { store }), ModelNotFoundError);
    await assert.rejects(() => Model.get("ffffff0", { store }), ModelNotFoundError);
  });
});

Deno.test("an ambiguous id prefix is a typed error listing the matches", async () => {
  await withStore(async (store) => {
    const ids = ["abcdef01", "abcdef02"].map((p) => p + "0".repeat(24));
    for (const id of ids) {
      await store.append([{ stream: `model:${id}`, type: "model.created", data: { name: id } }]);
    }
    await assert.rejects(
      () => Model.get("abcdef", { store }),
      (e) =>
        e instanceof AmbiguousIdError && e instanceof InvalidArgumentError &&
        e.matches.length === 2 && e.message.includes(ids[0]!) && e.message.includes(ids[1]!),
    );
    assert.equal((await Model.get("abcdef02", { store })).id, ids[1]);
  });
});

Deno.test("edits that change nothing append nothing", async () => {
  await withStore(async (store) => {
    const m = await model(store);
    await m.setName("net");
    await m.setComment("c");
    await m.setMetadata("k", 1);
    await m.archive();
    const before = await eventCount(store);
    const last = m.lastUpdate.getTime();
    await m.addTags("base");
    await m.addTags(["base"]);
    await m.setTags(["base"]);
    await m.setName("net");
    await m.setComment("c");
    await m.setProject("p");
    await m.setMetadata("k", 1);
    await m.archive();
    await m.setSystemTags(["archived"]);
    assert.equal(await eventCount(store), before);
    await m.reload();
    assert.equal(m.lastUpdate.getTime(), last);
    await m.unarchive();
    await m.unarchive();
    await m.setMetadata("k", 2);
    assert.equal(await eventCount(store), before + 2);
    // A remove of something not seen here still appends: it may cancel another device's add.
    await m.removeTags("never-there");
    assert.equal(await eventCount(store), before + 3);
  });
});

Deno.test("tags with a comma or a leading - or __$ are refused; addTags takes a list", async () => {
  await withStore(async (store) => {
    const m = await model(store);
    for (const bad of ["a,b", "-draft", "__$not"]) {
      await assert.rejects(
        () => m.addTags(bad),
        (e) => e instanceof InvalidArgumentError && e.value === bad,
      );
    }
    assert.throws(
      () => new OutputModel({ task: Task.current()!, tags: ["x,y"] }),
      InvalidArgumentError,
    );
    await m.addTags(["a", "b"], "c");
    assert.deepEqual(m.tags, ["a", "b", "base", "c"]);
    await m.removeTags(["a", "b"]);
    assert.deepEqual(m.tags, ["base", "c"]);
  });
});

Deno.test("a file:// weights URI that arrived by pull is never deleted or read on this device", async () => {
  await withTempDir(async (dir) => {
    const a = await openStore({ home: join(dir, "a") });
    const b = await openStore({ home: join(dir, "b") });
    try {
      const task = await Task.init({ projectName: "p", taskName: "t", store: a });
      const weights = await writeFile(dir, "teammate/model.pt", "precious");
      const m = new OutputModel({ task, name: "net" });
      await m.updateWeights({ registerUri: weights });
      await task.close();
      await b.ingest(await a.readEvents({ afterSeq: 0, limit: 1000 }));
      const pulled = await Model.get(m.id, { store: b });
      assert.equal(pulled.url, m.url);
      // The blob is not on device b and the path is a's: it is not read there.
      await b.blobs.delete(pulled.hash).catch(() => {});
      await assert.rejects(
        () => pulled.getLocalCopy(),
        (e) => e instanceof WeightsNotFoundError && /another device/.test(e.message),
      );
      assert.equal(await Model.remove(pulled, { deleteWeightsFile: true }), true);
      assert.equal(await Deno.readTextFile(weights), "precious");
      // On the device that set it, the same URI is read (and removal may delete it).
      assert.ok(await (await Model.get(m.id, { store: a })).getLocalCopy());
    } finally {
      await a.close();
      await b.close();
    }
  });
});
