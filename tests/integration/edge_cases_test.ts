import { readAll } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  InvalidArgumentError,
  Model,
  ModelNotFoundError,
  openStore,
  OutputModel,
  SyncWorker,
  Task,
} from "../../mod.ts";
import { eventCount, withStore } from "../fixtures/helpers.ts";

Deno.test("a floating model whose creation fails surfaces the error at flush(), not as an unhandled rejection", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const m = new OutputModel({ task, baseModelId: "0123456789abcdef0123456789abcdef" });
    const before = await eventCount(store);
    m.reportScalar("loss", "train", 1, 0); // not awaited, as report calls usually are
    await assert.rejects(() => store.flush(), ModelNotFoundError);
    await store.flush(); // the error is reported once
    assert.equal(await eventCount(store), before);
    await task.close();
  });
});

Deno.test("report names with NUL, bad read filters and an unwritable CSV path get typed errors", async () => {
  await withStore(async (store, home) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const m = new OutputModel({ task, name: "m" });
    m.reportScalar("loss", "train", 1, 0);
    await m.flush();
    const before = await store.dump();
    const cases: [string, () => unknown][] = [
      ["title", () => m.reportScalar("a\0b", "c", 1, 0)],
      ["series", () => m.reportScalar("a", "b\0c", 1, 0)],
      ["name", () => m.reportSingleValue("x\0", 1)],
      ["title", () => m.reportHistogram({ title: "h\0", series: "s", values: [1] })],
    ];
    for (const [field, call] of cases) {
      assert.throws(call, (e) => e instanceof InvalidArgumentError && e.field === field);
    }
    await assert.rejects(
      () => m.getReportedScalars({ title: 5 as unknown as string }),
      (e) => e instanceof InvalidArgumentError && e.field === "title",
    );
    await assert.rejects(
      () => m.getReportedPlots({ iteration: "x" as unknown as number }),
      (e) => e instanceof InvalidArgumentError && e.field === "iteration",
    );
    await assert.rejects(
      () => m.exportScalarsCsv(join(home, "missing", "dir", "s.csv")),
      (e) => e instanceof InvalidArgumentError && e.field === "path",
    );
    await m.flush();
    assert.deepEqual(await store.dump(), before);
    await task.close();
  });
});

Deno.test("concurrent importModel() calls with one URL create one model; the others report reuse", async () => {
  await withStore(async (store) => {
    const { InputModel } = await import("../../mod.ts");
    const url = "https://models.example.com/zoo/resnet.pt";
    const got = await Promise.all(
      Array.from(
        { length: 5 },
        (_, i) => InputModel.importModel({ weightsUrl: url, name: `r${i}`, store }),
      ),
    );
    assert.equal(new Set(got.map((m) => m.id)).size, 1);
    assert.deepEqual(got.map((m) => m.reused), [false, true, true, true, true]);
    const rows = await readAll<{ n: number }>(
      store,
      "SELECT count(*) AS n FROM models WHERE uri = ?",
      [
        url,
      ],
    );
    assert.equal(rows[0]!.n, 1);
  });
});

Deno.test("GET /v1/models pages by default and refuses oversized pages", async () => {
  const { startServer } = await import("../../mod.ts");
  const dir = await Deno.makeTempDir();
  const server = await startServer({ port: 0, db: join(dir, "server.db"), log: () => {} });
  try {
    const task = await Task.init({ projectName: "p", taskName: "t", store: server.store });
    for (let i = 0; i < 3; i++) await new OutputModel({ task, name: `m${i}` }).addTags("x");
    const all = await (await fetch(`${server.url}/v1/models`)).json();
    assert.equal(all.models.length, 3);
    assert.equal(all.next, null);
    const page = await (await fetch(`${server.url}/v1/models?limit=2`)).json();
    assert.equal(page.models.length, 2);
    assert.ok(page.next);
    const rest =
      await (await fetch(`${server.url}/v1/models?limit=2&after=${encodeURIComponent(page.next)}`))
        .json();
    assert.deepEqual(
      [...page.models, ...rest.models].map((m: { id: string }) => m.id),
      all.models.map((m: { id: string }) => m.id),
    );
    const big = await fetch(`${server.url}/v1/models?limit=10001`);
    assert.equal(big.status, 400);
    assert.equal((await big.json()).error.code, "INVALID_ARGUMENT");
    await task.close();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pushes beyond the server's bytes in flight wait their turn and all land", async () => {
  const { startServer } = await import("../../mod.ts");
  const dir = await Deno.makeTempDir();
  // A budget smaller than any push: each runs alone, none is refused or lost.
  const server = await startServer({
    port: 0,
    db: join(dir, "server.db"),
    log: () => {},
    pushBytesInFlight: 1,
  });
  const devices = await Promise.all(
    [0, 1, 2, 3].map((i) => openStore({ home: join(dir, `d${i}`) })),
  );
  try {
    await Promise.all(devices.map(async (store, i) => {
      const task = await Task.init({ projectName: "p", taskName: `t${i}`, store });
      for (let k = 0; k < 5; k++) await new OutputModel({ task, name: `m${i}-${k}` }).addTags("x");
    }));
    const pushed = await Promise.all(
      devices.map((store) => new SyncWorker({ server: server.url, store, batchSize: 4 }).push()),
    );
    let held = 0;
    for (const d of devices) held += (await d.readEvents({ limit: 1000 })).length;
    assert.equal(pushed.reduce((n, p) => n + p.events, 0), held);
    assert.equal((await server.store.readEvents({ limit: 1000 })).length, held);
    const models = await Model.queryModels({ projectName: "p", store: server.store });
    assert.equal(models.length, 20);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
