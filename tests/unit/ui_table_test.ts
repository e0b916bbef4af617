import assert from "node:assert/strict";
import { Model, openStore, OutputModel, Task } from "../../mod.ts";
import { compileModelQuery } from "../../lib/query.ts";
import { parseModelQuery } from "../../lib/query_text.ts";
import { modelIdsWithPrefix, modelTablePage } from "../../lib/projections/read.ts";
import { parseColumn } from "../../lib/server/ui_list.ts";
import { comparedIds } from "../../lib/server/ui_compare.ts";
import { foldRuns, wallTimes } from "../../lib/server/ui_model.ts";
import { uiRoutes } from "../../lib/server/ui.ts";
import { formatHlc } from "../../lib/clock.ts";

Deno.test("queryModels() matches a name exactly unless partialName is set", async () => {
  const home = await Deno.makeTempDir();
  const store = await openStore({ home });
  try {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    for (const name of ["ResNet-50", "resnet_18", "bert", "50%off"]) {
      await new OutputModel({ task, name }).addTags("t"); // created on its first write
    }
    await task.close();
    const names = async (o: Record<string, unknown>) =>
      (await Model.queryModels({ ...o, store })).map((m) => m.name).sort();
    assert.deepEqual(await names({ modelName: "resnet" }), []);
    assert.deepEqual(await names({ modelName: "resnet", partialName: true }), [
      "ResNet-50",
      "resnet_18",
    ]);
    // LIKE wildcards in the text are literal.
    assert.deepEqual(await names({ modelName: "%", partialName: true }), ["50%off"]);
    assert.deepEqual(await names({ modelName: "t_5", partialName: true }), []); // "_" is no wildcard
    assert.deepEqual(parseModelQuery(new URLSearchParams("name=res&partial=yes")), {
      modelName: "res",
      partialName: true,
    });
    await assert.rejects(
      () => Model.queryModels({ partialName: "yes" as unknown as boolean, store }),
      /partialName/,
    );
  } finally {
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("modelTablePage() sorts by a metric or metadata in SQL, missing values last, and counts", async () => {
  const home = await Deno.makeTempDir();
  const store = await openStore({ home });
  try {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const specs: [string, number | null, number | string][] = [
      ["a", 0.5, 10],
      ["b", 0.1, 9],
      ["c", null, "x"],
      ["d", 0.9, 100],
    ];
    for (const [name, loss, md] of specs) {
      const m = new OutputModel({ task, name });
      if (loss !== null) await m.reportScalar("loss", "val", loss, 1);
      await m.setMetadata("k", md);
      await m.flush();
    }
    await task.close();
    const order = async (o: Parameters<typeof modelTablePage>[2]["order"], offset = 0) => {
      const p = await modelTablePage(store, {}, { order: o, offset, limit: 3 });
      return [p.total, p.views.map((v) => v.row.name)];
    };
    const metric = { by: "metric", title: "loss", series: "val", stat: "last" } as const;
    assert.deepEqual(await order({ ...metric, desc: false }), [4, ["b", "a", "d"]]);
    assert.deepEqual(await order({ ...metric, desc: false }, 3), [4, ["c"]]);
    assert.deepEqual(await order({ ...metric, desc: true }), [4, ["d", "a", "b"]]);
    // Numbers as numbers (9 < 10 < 100), then text.
    assert.deepEqual(await order({ by: "metadata", key: "k", desc: false }), [4, ["b", "a", "d"]]);
    assert.deepEqual(await order({ by: "name", desc: true }), [4, ["d", "c", "b"]]);
    assert.throws(
      () =>
        compileModelQuery({ after: { lastUpdate: "x", id: "y" } }, {
          order: { by: "name", desc: false },
        }),
      /after/,
    );
  } finally {
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("an id prefix in a UI URL opens its model; an ambiguous one lists the matches", async () => {
  const home = await Deno.makeTempDir();
  const store = await openStore({ home });
  try {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const m = new OutputModel({ task, name: "net" });
    await m.addTags("t");
    await task.close();
    await store.flush();
    assert.deepEqual(await modelIdsWithPrefix(store, m.id.slice(0, 8)), [m.id]);
    const ui = uiRoutes(store);
    const res = await ui.request(`/models/${m.id.slice(0, 8)}`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<h1>net/);
    const short = await ui.request(`/models/${m.id.slice(0, 3)}`);
    assert.equal(short.status, 404);
    await short.body?.cancel();
    const none = await ui.request("/models/ffffffffff");
    assert.equal(none.status, 404);
    await none.body?.cancel();
    // Read-only by default: no write forms, and posts refused.
    const post = await ui.request(`/models/${m.id}/publish`, {
      method: "POST",
      headers: { origin: "http://localhost", "content-type": "application/x-www-form-urlencoded" },
      body: "csrf=x",
    });
    assert.equal(post.status, 403);
    await post.body?.cancel();
  } finally {
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("table columns, compared ids, folded history and wall times parse as documented", () => {
  assert.deepEqual(parseColumn("last:loss/train").key, {
    by: "metric",
    title: "loss",
    series: "train",
    stat: "last",
  });
  assert.deepEqual(parseColumn("meta:lr").key, { by: "metadata", key: "lr" });
  assert.throws(() => parseColumn("avg:loss/train"), /Invalid col/);
  assert.throws(() => parseColumn("last:loss"), /Invalid col/);
  assert.deepEqual(comparedIds(new URLSearchParams("ids=a,b&ids=c&ids=a")), ["a", "b", "c"]);
  const row = (type: string, at: string) => ({
    id: at,
    type,
    at,
    actor: "",
    origin: "",
    data: "{}",
  });
  const runs = foldRuns([row("w", "3"), row("w", "2"), row("t", "1"), row("w", "0")]);
  assert.deepEqual(runs.map((r) => [r.type, r.rows.length]), [["w", 2], ["t", 1], ["w", 1]]);
  const at = (ms: number) => formatHlc({ wall: ms, counter: 0, origin: "o" });
  const spans = [
    { title: "l", series: "s", minIter: 0, maxIter: 9, at: at(1000) },
    { title: "l", series: "s", minIter: 10, maxIter: 19, at: at(2000) },
  ];
  assert.deepEqual(wallTimes([0, 9, 10, 19], spans), [1000, 1000, 1100, 2000]);
});
