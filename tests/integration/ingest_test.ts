import assert from "node:assert/strict";
import { join } from "node:path";
import { newId } from "../../lib/clock.ts";
import { decodeData, encodeData, type NewEvent, type StoredEvent } from "../../lib/events.ts";
import { JSON_ROW_TABLES, JSON_ROWS_MAX_BYTES } from "../../lib/store/ingest.ts";
import { readAll } from "../../lib/store/raw.ts";
import { openStore, type Store } from "../../mod.ts";

/** Every event row as stored, in local order (seq left out: each store numbers its own). */
async function logRows(store: Store): Promise<unknown[]> {
  return (await readAll<Record<string, unknown>>(
    store,
    "SELECT id, stream, type, at, origin, v, actor, data, checksum FROM events ORDER BY seq",
  )).map((r) => Object.values(r));
}

/** Plots, scalars and a model whose text holds what JSON escapes (and a NaN, an infinity). */
function awkwardEvents(modelId: string): NewEvent[] {
  const stream = `model:${modelId}`;
  const titles = [
    "plain",
    'quote " and \\ backslash',
    "é ünïcode 中文",
    "ctl\u0001char",
    "lone \ud800",
  ];
  const out: NewEvent[] = [{
    stream,
    type: "model.created",
    data: { name: "awkward", project: "p", tags: ["a", "b"], labels: { x: 1 } },
  }];
  for (let i = 0; i < 40; i++) {
    const title = titles[i % titles.length]!;
    out.push({
      stream,
      type: "metric.plot",
      data: {
        title,
        series: `s${i % 3}`,
        iteration: i,
        kind: "histogram",
        figure: { data: [{ type: "bar", y: [i, i === 7 ? NaN : 1, 2.5] }], layout: {} },
      },
    } as NewEvent);
    out.push({
      stream,
      type: "metric.scalars",
      data: {
        title,
        series: "loss",
        iters: [i * 2, i * 2 + 1],
        values: [i / 3, i === 9 ? "Infinity" : -i],
      },
    } as NewEvent);
  }
  return out;
}

Deno.test("ingest through json_each stores the same rows and projections as a local append", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modelog-ingest-" });
  const [origin, viaObjects, viaPage] = await Promise.all(
    ["origin", "objects", "page"].map((h) => openStore({ home: join(dir, h) })),
  );
  try {
    await origin.append(awkwardEvents(newId()));
    await origin.append(awkwardEvents(newId()).slice(0, 7));
    const events = await origin.readEvents({ limit: 1000 });
    assert.equal(events.length, 81 + 7);
    const wire = events.map(({ seq: _s, ...e }) => e);

    // In batches by title: those whose text JSON escapes take the bound path, the others
    // json_each; as objects (payload text re-encoded), and as a pulled page is parsed (plain
    // text when the page holds no non-finite marker).
    const titleOf = (e: (typeof wire)[number]) => String((e.data as { title?: string }).title);
    const groups = new Map<string, typeof wire>();
    for (const e of wire) groups.set(titleOf(e), [...(groups.get(titleOf(e)) ?? []), e]);
    assert.ok([...groups.values()].some((g) => !JSON.stringify(g).includes("\\u")));
    let plainPages = 0;
    for (const group of groups.values()) {
      assert.equal((await viaObjects.ingest(group)).length, group.length);
      const marked = (e: (typeof wire)[number]) => encodeData(e.data).includes('"$nf"');
      for (const part of [group.filter(marked), group.filter((e) => !marked(e))]) {
        const text = encodeData({ events: part });
        const parsed = decodeData<{ events: StoredEvent[] }>(text).events;
        if (!text.includes('"$nf"')) plainPages++;
        assert.equal(
          (await viaPage.ingest(parsed, { plainData: !text.includes('"$nf"') })).length,
          part.length,
        );
      }
    }
    assert.ok(plainPages > 0);

    const want = await origin.dump();
    assert.deepEqual(await viaObjects.dump(), want);
    assert.deepEqual(await viaPage.dump(), want);
    const sorted = (r: unknown[]) => [...r].sort((a, b) => String(a).localeCompare(String(b)));
    const rows = sorted(await logRows(origin));
    assert.deepEqual(sorted(await logRows(viaObjects)), rows);
    assert.deepEqual(sorted(await logRows(viaPage)), rows);
    // A replay is a no-op, whichever way it comes; a batch keeps its order in the log.
    assert.deepEqual(await viaObjects.ingest(wire), []);
    const plain = wire.filter((e) => !encodeData(e.data).includes('"$nf"'));
    assert.deepEqual(await viaPage.ingest(plain, { plainData: true }), []);
    const fresh = await openStore({ home: join(dir, "ordered") });
    try {
      const clean = wire.filter((e) => !JSON.stringify(e).includes("\\u"));
      await fresh.ingest(clean);
      assert.deepEqual(
        (await fresh.readEvents({ limit: 1000 })).map((e) => e.id),
        clean.map((e) => e.id),
      );
    } finally {
      await fresh.close();
    }
    assert.deepEqual(await viaObjects.dump(), want);
  } finally {
    await Promise.all([origin, viaObjects, viaPage].map((s) => s.close()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a batch of large plots (bound, not sent as JSON) stores the rows a local append does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modelog-ingest-" });
  const [origin, copy] = await Promise.all(
    ["origin", "copy"].map((h) => openStore({ home: join(dir, h) })),
  );
  try {
    const modelId = newId();
    const stream = `model:${modelId}`;
    const big: NewEvent[] = [];
    for (let i = 0; i < 6; i++) {
      const y = Array.from({ length: 40_000 }, (_, k) => (k * 7919 + i) % 1000 / 7);
      big.push({
        stream,
        type: "metric.plot",
        data: {
          title: i === 2 ? "ctl\u0001char" : "big",
          series: "s",
          iteration: i,
          kind: "histogram",
          figure: { data: [{ type: "bar", y: i === 4 ? [NaN, ...y] : y }], layout: {} },
        },
      } as NewEvent);
    }
    await origin.append([awkwardEvents(modelId)[0]!, ...big]);
    const wire = (await origin.readEvents({ limit: 100 })).map(({ seq: _s, ...e }) => e);
    const bytes = wire.reduce((n, e) => n + encodeData(e.data).length, 0);
    assert.ok(bytes > JSON_ROWS_MAX_BYTES, `${bytes} characters of data`);
    assert.equal((await copy.ingest(wire)).length, wire.length);
    assert.deepEqual(await logRows(copy), await logRows(origin));
    assert.deepEqual(await copy.dump(), await origin.dump());
    assert.deepEqual(
      await copy.readEvents({ limit: 100 }),
      await origin.readEvents({ limit: 100 }),
    );
  } finally {
    await Promise.all([origin, copy].map((s) => s.close()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the json_each tables' INTEGER columns are INTEGER in the schema", async () => {
  const home = await Deno.makeTempDir({ prefix: "modelog-ingest-" });
  const store = await openStore({ home });
  try {
    for (const [table, ints] of Object.entries(JSON_ROW_TABLES)) {
      const cols = await readAll<{ name: string; type: string }>(
        store,
        `SELECT name, type FROM pragma_table_info('${table}')`,
      );
      assert.ok(cols.length > 0, `table ${table} exists`);
      for (const c of cols) {
        if (c.name === "seq") continue; // numbered by SQLite, never written
        assert.equal(c.type === "INTEGER", ints.includes(c.name), `${table}.${c.name}: ${c.type}`);
      }
    }
  } finally {
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a scalar batch carrying deep junk beside its points is refused naming event.data; the log is kept", async () => {
  const home = await Deno.makeTempDir();
  const store = await openStore({ home });
  try {
    const modelId = newId();
    const [created] = await store.append([{
      stream: `model:${modelId}`,
      type: "model.created",
      data: { name: "m", project: "p" },
    }]);
    const before = await logRows(store);
    let junk: unknown = 1;
    for (let i = 0; i < 100_000; i++) junk = [junk];
    const batch = {
      ...created!,
      id: crypto.randomUUID(),
      type: "metric.scalars",
      at: created!.at,
      data: { title: "loss", series: "train", iters: [0, 1], values: [0.5, 0.25], junk },
    };
    delete (batch as { checksum?: string }).checksum;
    await assert.rejects(
      () => store.ingest([batch]),
      (e: Error & { code?: string; field?: string }) => {
        assert.equal(e.code, "INVALID_EVENT");
        assert.equal(e.field, "event.data");
        return true;
      },
    );
    assert.deepEqual(await logRows(store), before);
  } finally {
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});
