/**
 * The append path's statements without a database: which tables may be read through JSON, how
 * a changed row is written back, the text order of held tags, and when `max_at` is written.
 */
import assert from "node:assert/strict";
import { MIGRATIONS, PROJECTION_TABLES } from "../../lib/projections/schema.ts";
import { byCodePoint, Projection } from "../../lib/projections/project.ts";
import { maxAtStatement, REAL_TABLES } from "../../lib/store/append.ts";
import type { StoredEvent } from "../../lib/events.ts";
import { craft, hlc } from "../fixtures/helpers.ts";

Deno.test("only the projection tables with a REAL column are kept out of the JSON read", () => {
  const real = new Set<string>();
  for (const stmt of MIGRATIONS.flat()) {
    const m = /CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\)/.exec(stmt);
    if (m && /\bREAL\b/i.test(m[2]!)) real.add(m[1]!);
  }
  const projections = new Set(PROJECTION_TABLES.map((t) => t.name));
  assert.deepEqual(
    [...real].filter((t) => projections.has(t)).sort(),
    [...REAL_TABLES].sort(),
  );
});

Deno.test("held tags sort as SQLite's BINARY collation: by code point", () => {
  const tags = ["b", "a", "\u{1F600}", "\uFF5E", "B", "\u00e9"];
  // UTF-8 byte order, which is code point order (an astral character sorts after U+FFFF).
  const bytes = (s: string) => [...new TextEncoder().encode(s)];
  const want = [...tags].sort((x, y) => {
    const a = bytes(x), b = bytes(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  assert.deepEqual([...tags].sort(byCodePoint), want);
});

Deno.test("a loaded row that changed is written back as an UPDATE of its changed columns", () => {
  const p = new Projection();
  const [models, tags, metadata] = p.modelPreloads("m1");
  const row = {
    id: "m1",
    created: 1,
    created_at: hlc(1, 0, "o"),
    name: "n",
    comment: "",
    project: "p",
    framework: "",
    config_text: "",
    labels: "{}",
    parent: "",
    task: "",
    original_task: "",
    uri: "",
    hash: "",
    size: 0,
    iteration: null,
    is_package: 0,
    published: 0,
    published_at: "",
    archived: 0,
    removed: 0,
    removed_at: "",
    last_update: hlc(1, 0, "o"),
    clock: "{}",
  };
  p.load(models!, [row]);
  p.load(tags!, []);
  p.load(metadata!, [{
    model_id: "m1",
    key: "k",
    type: "int",
    value: "1",
    present: 1,
    at: hlc(1, 0, "o"),
  }]);
  const at = hlc(2, 0, "o");
  p.apply(
    craft("model:m1", "model.metadata_changed", { set: { k: { value: "2", type: "int" } } }, at),
  );
  const sql = p.statements().map((s) => typeof s === "string" ? s : s.sql);
  assert.deepEqual(sql, [
    "UPDATE models SET last_update = ? WHERE id = ?",
    "UPDATE model_metadata SET value = ?, at = ? WHERE model_id = ? AND key = ?",
  ]);
  const held = p.model("m1")!;
  assert.equal(held.row.last_update, at);
  assert.deepEqual(held.metadata, { k: { value: "2", type: "int" } });
  assert.deepEqual(held.tags, []);
});

Deno.test("max_at is written only when the new last event is not the log's newest", () => {
  const ev = (at: string) => craft("model:m", "model.archived", {}, at) as StoredEvent;
  const [t1, t2, t3] = [hlc(1, 0, "o"), hlc(2, 0, "o"), hlc(3, 0, "o")];
  // Stamped now: later than the old last event, in order.
  assert.equal(maxAtStatement([ev(t2), ev(t3)], { maxAt: t1, tailAt: t1 }), undefined);
  // An earlier time after a later one (a queued report, an ingested event): written.
  assert.deepEqual(maxAtStatement([ev(t3), ev(t2)], { maxAt: t1, tailAt: t1 })?.args, [t3]);
  // Earlier than the old last event (a clock that refused a far-future time): written.
  assert.deepEqual(maxAtStatement([ev(t2)], { maxAt: t1, tailAt: t3 })?.args, [t2]);
  // Nothing read for the clock (ingest): always written.
  assert.deepEqual(maxAtStatement([ev(t2)], undefined)?.args, [t2]);
  assert.equal(maxAtStatement([], undefined), undefined);
});
