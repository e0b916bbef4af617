/**
 * Regression tests from a review of the core (store, fold, models, events): each pins a bug that
 * was found by trying to break the public API.
 */
import { readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  InvalidArgumentError,
  Model,
  ModelNotFoundError,
  ModelogError,
  openStore,
  OutputModel,
  Task,
} from "../../mod.ts";
import { MAX_HLC_WALL } from "../../lib/clock.ts";
import { craft, eventCount, hlc, withStore, writeFile } from "../fixtures/helpers.ts";
import { waitFor } from "../fixtures/wait.ts";

const ID = "0123456789abcdef0123456789abcdef";

async function newTask(store: Awaited<ReturnType<typeof openStore>>): Promise<Task> {
  return await Task.init({ projectName: "review", taskName: "core", store });
}

Deno.test("updateWeights() refuses an iteration beyond the safe integer range and stores nothing", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "big" });
    await m.setName("big");
    const before = await store.dump();
    const n = await eventCount(store);
    await assert.rejects(
      m.updateWeights({ registerUri: "https://example.com/w.pt", iteration: 2 ** 60 }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === "iteration",
    );
    assert.equal(await eventCount(store), n);
    assert.deepEqual(await store.dump(), before, "the model row can still be read");
    await Model.get(m.id, { store });
  });
});

Deno.test("setAllMetadata() with replace removes stored keys named like Object.prototype members", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "proto" });
    for (const k of ["toString", "constructor", "hasOwnProperty", "__proto__", "plain"]) {
      await m.setMetadata(k, k.length);
    }
    await m.setAllMetadata({ kept: { value: 1 } });
    assert.deepEqual(Object.keys(m.getAllMetadata()), ["kept"]);
    const again = await Model.get(m.id, { store });
    assert.deepEqual(Object.keys(again.getAllMetadata()), ["kept"]);
    assert.equal(again.getMetadata("toString"), undefined);
    assert.equal(again.getMetadataCasted("constructor"), undefined);
  });
});

Deno.test("getLocalCopy({ targetDir }) replaces a different file of the same name", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "w" });
    await m.updateWeights({
      weightsFilename: await writeFile(join(home, "src"), "model.pt", "NEW"),
    });
    const target = join(home, "target");
    await writeFile(target, "model.pt", "STALE BYTES");
    const p = await m.getLocalCopy({ targetDir: target });
    assert.equal(p, join(target, "model.pt"));
    assert.equal(await Deno.readTextFile(p!), "NEW");
    // The same bytes already there are kept as they are.
    assert.equal(await m.getLocalCopy({ targetDir: target }), p);
    assert.equal(await Deno.readTextFile(p!), "NEW");
  });
});

Deno.test("getWeightsPackage({ targetDir }) extracts the package without leaving the zip there", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "pkg" });
    const src = join(home, "pkg");
    await writeFile(src, "a.txt", "A");
    await writeFile(src, "sub/b.txt", "B");
    await m.updateWeightsPackage({ weightsPath: src, autoDeleteFile: false });
    const target = join(home, "out");
    const names = await m.getWeightsPackage({ targetDir: target });
    assert.deepEqual(names, [join(target, "a.txt"), join(target, "sub")]);
    assert.equal(await Deno.readTextFile(join(target, "sub", "b.txt")), "B");
  });
});

Deno.test("concurrent setTags() calls on one model end with exactly one of the given sets", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const floating = new OutputModel({ task, name: "floating" });
    await Promise.all([floating.setTags(["a"]), floating.setTags(["b"]), floating.setTags(["c"])]);
    assert.deepEqual((await Model.get(floating.id, { store })).tags, ["c"]);
    const stored = await Model.get(floating.id, { store });
    const other = await Model.get(floating.id, { store });
    await Promise.all([stored.setTags(["x", "y"]), other.setTags(["z"])]);
    assert.deepEqual((await Model.get(floating.id, { store })).tags, ["z"]);
    await Promise.all([
      stored.setAllMetadata({ one: { value: 1 } }),
      other.setAllMetadata({ two: { value: 2 } }),
    ]);
    assert.deepEqual(Object.keys((await Model.get(floating.id, { store })).getAllMetadata()), [
      "two",
    ]);
  });
});

Deno.test("edits on a removed model fail with MODEL_NOT_FOUND and store nothing", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "gone" });
    await m.setMetadata("k", 1);
    const stale = await Model.get(m.id, { store });
    await Model.remove(m);
    const before = await store.dump();
    const n = await eventCount(store);
    for (
      const edit of [
        () => stale.setName("zombie"),
        () => stale.addTags("zombie"),
        () => stale.setMetadata("zombie", 1),
        () => stale.archive(),
        () => m.setComment("zombie"),
      ]
    ) {
      await assert.rejects(edit(), ModelNotFoundError);
    }
    assert.throws(() => m.reportScalar("loss", "train", 1, 1), ModelNotFoundError);
    await store.flush();
    assert.equal(await eventCount(store), n, "no event was written");
    assert.deepEqual(await store.dump(), before);
  });
});

Deno.test("close() writes the reports queued while it was closing", async () => {
  const home = await Deno.makeTempDir({ prefix: "modelog-test-" });
  try {
    const store = await openStore({ home });
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "late" });
    await m.setName("late");
    const closing = store.close();
    m.reportScalar("loss", "train", 1, 1);
    await closing;
    assert.throws(() => m.reportScalar("loss", "train", 2, 2), { code: "STORE_CLOSED" });
    const again = await openStore({ home });
    try {
      const read = await Model.get(m.id, { store: again });
      assert.deepEqual(await read.getReportedScalars(), { loss: { train: { x: [1], y: [1] } } });
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("reports queued while a flush waits for the writer are written within reportFlushMs", async () => {
  const home = await Deno.makeTempDir({ prefix: "modelog-test-" });
  const store = await openStore({ home, reportBatchPoints: 10, reportFlushMs: 1 });
  try {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "slow" });
    await m.setName("slow");
    // Enough events for a rebuild of several pages, so it is still running when the reports go.
    const filler = Array.from({ length: 150_001 }, () => ({
      stream: `task:${task.id}`,
      type: "task.closed" as const,
      data: {},
    }));
    await store.append(filler);
    let pages = 0;
    let rebuildDone = false;
    const rebuilt = store.rebuild({ onProgress: () => pages++ }).finally(() => {
      rebuildDone = true;
    });
    // rebuild() folds its pages beside the live tables, without the write lock: reports queued
    // while it runs are written by their flush and timer before it ends.
    await waitFor(() => pages > 0, { what: "the rebuild's first page" });
    for (let i = 0; i < 10; i++) m.reportScalar("loss", "train", i, i); // a batch: flushes
    for (let i = 10; i < 13; i++) m.reportScalar("loss", "train", i, i); // queued behind it
    await waitFor(() => store.pendingReports === 0, { what: "the reports, during the rebuild" });
    assert.equal(rebuildDone, false, "the reports were written while the rebuild ran");
    await rebuilt;
    await waitFor(() => store.pendingReports === 0, { what: "the timer flush of the 3 reports" });
    await store.flush();
    const points = (await m.getReportedScalars()).loss!.train!.x;
    assert.deepEqual(points, Array.from({ length: 13 }, (_, i) => i));
    assert.equal(store.pendingReports, 0, "the reports left behind were flushed by a timer");
  } finally {
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("ingest() rejects non-string framework, taskType and outputUri with INVALID_EVENT", async () => {
  await withStore(async (store) => {
    const at = hlc(Date.now(), 0, "peer");
    await store.ingest([craft(`model:${ID}`, "model.created", { name: "m" }, at)]);
    const before = await store.dump();
    const n = await eventCount(store);
    const t = Date.now() + 1;
    const cases: [string, unknown][] = [
      [
        "data.framework",
        craft(`model:${ID}`, "model.weights_updated", {
          uri: "x",
          framework: {} as unknown as string,
        }, hlc(t, 0, "peer")),
      ],
      [
        "data.framework",
        craft(`model:${ID}`, "model.weights_updated", {
          uri: "x",
          framework: 5 as unknown as string,
        }, hlc(t, 1, "peer")),
      ],
      [
        "data.taskType",
        craft(`task:${ID}`, "task.created", {
          project: "p",
          name: "n",
          taskType: {} as unknown as string,
        }, hlc(t, 2, "peer")),
      ],
      [
        "data.outputUri",
        craft(`task:${ID}`, "task.created", {
          project: "p",
          name: "n",
          outputUri: [1] as unknown as string,
        }, hlc(t, 3, "peer")),
      ],
    ];
    for (const [field, e] of cases) {
      await assert.rejects(store.ingest([e]), (err: unknown) => {
        assert.ok(err instanceof ModelogError, String(err));
        assert.equal(err.code, "INVALID_EVENT");
        assert.match(err.message, new RegExp(field.replace(".", "\\.")));
        return true;
      });
    }
    assert.equal(await eventCount(store), n);
    assert.deepEqual(await store.dump(), before);
  });
});

Deno.test("the fold ignores model.updated fields named like Object.prototype members", async () => {
  await withStore(async (store) => {
    const t = Date.now();
    await store.ingest([
      craft(`model:${ID}`, "model.created", { name: "m" }, hlc(t, 0, "peer")),
      craft(`model:${ID}`, "model.updated", {
        fields: JSON.parse('{"constructor": "x", "toString": "y", "__proto__": "z", "name": "n"}'),
      }, hlc(t + 1, 0, "peer")),
    ]);
    const row = await readOne<{ clock: string; name: string }>(
      store,
      "SELECT clock, name FROM models WHERE id = ?",
      [ID],
    );
    assert.equal(row!.name, "n");
    assert.deepEqual(Object.keys(JSON.parse(row!.clock)), ["name"]);
  });
});

Deno.test("ingest() refuses an HLC wall near the 16th digit, so local writes keep sorting after every event", async () => {
  await withStore(async (store) => {
    const t = Date.now();
    await store.ingest([craft(`model:${ID}`, "model.created", { name: "m" }, hlc(t, 0, "peer"))]);
    const n = await eventCount(store);
    await assert.rejects(
      store.ingest([
        craft(
          `model:${ID}`,
          "model.updated",
          { fields: { name: "far" } },
          hlc(1e15 - 1, 999999, "peer"),
        ),
      ]),
      (e: unknown) =>
        e instanceof ModelogError && e.code === "INVALID_EVENT" && /event\.at/.test(e.message),
    );
    assert.equal(await eventCount(store), n);
    // The latest wall accepted: a local write still sorts after it and is valid for peers.
    const max = MAX_HLC_WALL;
    await store.ingest([
      craft(`model:${ID}`, "model.updated", { fields: { name: "late" } }, hlc(max, 5, "peer")),
    ]);
    const m = await Model.get(ID, { store });
    await m.setName("local");
    assert.equal((await Model.get(ID, { store })).name, "local");
    const mine = (await store.readEvents({ localOnly: true })).at(-1)!;
    const home2 = await Deno.makeTempDir({ prefix: "modelog-test-" });
    const peer = await openStore({ home: home2 });
    try {
      assert.equal((await peer.ingest([mine])).length, 1, "a peer accepts the local event");
    } finally {
      await peer.close();
      await Deno.remove(home2, { recursive: true });
    }
  });
});

Deno.test("Model.remove(), history() and dump() give typed errors for bad ids, limits and a closed store", async () => {
  const home = await Deno.makeTempDir({ prefix: "modelog-test-" });
  try {
    const store = await openStore({ home });
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "h" });
    await m.setName("h");
    await assert.rejects(
      Model.remove(5 as unknown as string, { store }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === "model",
    );
    for (const limit of [NaN, -1, 1.5, "3" as unknown as number]) {
      await assert.rejects(
        m.history({ limit }),
        (e: unknown) => e instanceof InvalidArgumentError && e.field === "limit",
      );
    }
    assert.equal((await m.history({ limit: 1 })).length, 1);
    await task.close();
    await store.close();
    await assert.rejects(store.dump(), { code: "STORE_CLOSED" });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
