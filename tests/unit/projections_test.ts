/**
 * Database-free specs of the projection folds: given some events, when more arrive, then the
 * fold holds these rows. Each spec also checks the two properties the store relies on: the
 * same events in reverse order give the same rows, and the append path (load only the rows the
 * new events ask for, fold the new events, write back what changed) ends where a full replay
 * does.
 */
import assert from "node:assert/strict";
import type { StoredEvent } from "../../lib/events.ts";
import type { Fold } from "../../lib/projections/fold.ts";
import { emptyModel } from "../../lib/projections/project.ts";
import { modelsFold } from "../../lib/projections/folds/models.ts";
import { tagsFold } from "../../lib/projections/folds/tags.ts";
import { metadataFold } from "../../lib/projections/folds/metadata.ts";
import { tasksFold } from "../../lib/projections/folds/tasks.ts";
import { taskLinksFold } from "../../lib/projections/folds/task_links.ts";
import { scalarsFold } from "../../lib/projections/folds/scalars.ts";
import { plotsFold } from "../../lib/projections/folds/plots.ts";
import { PROJECTION_TABLES } from "../../lib/projections/schema.ts";
import { craft, hlc } from "../fixtures/helpers.ts";

type Tables = Record<string, object[]>;

/** Primary-key columns by table (the canonical dump's sort keys). */
const PK = new Map(PROJECTION_TABLES.map((t) => [t.name, t.orderBy.split(", ")]));

const pkOf = (table: string, r: object) =>
  JSON.stringify(PK.get(table)!.map((c) => (r as Record<string, unknown>)[c]));

function sorted(table: string, rows: readonly object[]): object[] {
  return [...rows].sort((a, b) => pkOf(table, a).localeCompare(pkOf(table, b)));
}

/** Every row a fold holds after folding `events` from its empty state, by table. */
function replay<S>(fold: Fold<S>, events: readonly StoredEvent[]): Tables {
  const s = fold.init();
  for (const e of events) fold.apply(s, e);
  const out: Tables = {};
  for (const o of fold.outputs) out[o.table] = sorted(o.table, o.rows(s, true));
  return out;
}

/** The append path without a database: `before` holds the stored rows. */
function append<S>(fold: Fold<S>, before: Tables, events: readonly StoredEvent[]): Tables {
  const s = fold.init();
  for (const p of fold.preload(events)) {
    const rows = (before[p.table] ?? []).filter((r) =>
      p.keys.some((k) =>
        p.columns.every((c, i) => String((r as Record<string, unknown>)[c]) === k[i])
      )
    ).map((r) => ({ ...r }));
    fold.load(
      s,
      p.table,
      p.keep ? rows.filter((r) => p.keep!(r as Record<string, unknown>)) : rows,
    );
  }
  for (const e of events) fold.apply(s, e);
  const out: Tables = {};
  for (const o of fold.outputs) {
    const merged = new Map((before[o.table] ?? []).map((r) => [pkOf(o.table, r), r]));
    for (const r of o.rows(s, false)) {
      const k = pkOf(o.table, r);
      const cur = merged.get(k) as { at?: string } | undefined;
      // A conflict clause (plots) keeps the newer row in SQL: do the same here.
      if (o.suffix && cur?.at !== undefined && cur.at >= (r as { at: string }).at) continue;
      merged.set(k, { ...r });
    }
    out[o.table] = sorted(o.table, [...merged.values()]);
  }
  return out;
}

/** `given(events).when(events).then(rows)` over one fold. */
function spec<S>(fold: Fold<S>) {
  return {
    given: (...given: StoredEvent[]) => ({
      when: (...when: StoredEvent[]) => ({
        then(expected: Tables): void {
          const all = [...given, ...when];
          const want: Tables = {};
          for (const [t, rows] of Object.entries(expected)) want[t] = sorted(t, rows);
          const full = replay(fold, all);
          for (const t of Object.keys(want)) {
            assert.deepEqual(full[t], want[t], `${fold.name}: ${t}`);
          }
          assert.deepEqual(replay(fold, [...all].reverse()), full, `${fold.name}: reverse order`);
          assert.deepEqual(append(fold, replay(fold, given), when), full, `${fold.name}: append`);
        },
      }),
    }),
  };
}

const M = "m1";
const ms = `model:${M}`;
const T = "t1";
const ts = `task:${T}`;
const at = (wall: number, origin = "aaaa", counter = 0) =>
  hlc(1_700_000_000_000 + wall, counter, origin);

Deno.test("models fold: fields are last-writer-wins registers, whatever the order", () => {
  const created = craft(ms, "model.created", { name: "first", project: "p", task: T }, at(1));
  const renameA = craft(ms, "model.updated", { fields: { name: "from-a" } }, at(5, "aaaa"));
  const renameB = craft(ms, "model.updated", { fields: { name: "from-b" } }, at(5, "bbbb"));
  spec(modelsFold).given(created, renameB).when(renameA).then({
    models: [{
      ...emptyModel(M),
      created: 1,
      created_at: at(1),
      name: "from-b",
      project: "p",
      task: T,
      original_task: T,
      last_update: at(5, "bbbb"),
      clock: JSON.stringify({ name: at(5, "bbbb"), project: at(1), task: at(1) }),
    }],
  });
});

Deno.test("models fold: publish and removal are one-way and keep their earliest time", () => {
  const created = craft(ms, "model.created", {}, at(1));
  spec(modelsFold).given(created, craft(ms, "model.published", {}, at(3))).when(
    craft(ms, "model.published", {}, at(2)),
    craft(ms, "model.removed", {}, at(4)),
  ).then({
    models: [{
      ...emptyModel(M),
      created: 1,
      created_at: at(1),
      published: 1,
      published_at: at(2),
      removed: 1,
      removed_at: at(4),
      last_update: at(4),
    }],
  });
});

Deno.test("models fold: a newer weights update without an iteration keeps the older iteration", () => {
  const w1 = craft(
    ms,
    "model.weights_updated",
    { uri: "file:///a.pt", iteration: 5, size: 3 },
    at(2),
  );
  const w2 = craft(ms, "model.weights_updated", { uri: "file:///b.pt" }, at(3));
  spec(modelsFold).given(w1).when(w2).then({
    models: [{
      ...emptyModel(M),
      uri: "file:///b.pt",
      iteration: 5,
      last_update: at(3),
      clock: JSON.stringify({ iteration: at(2), weights: at(3) }),
    }],
  });
});

Deno.test("tags fold: each tag is its own element; a later remove beats an earlier add", () => {
  spec(tagsFold).given(craft(ms, "model.created", { tags: ["a", "b"] }, at(1))).when(
    craft(ms, "model.tags_changed", { remove: ["a"] }, at(2)),
    craft(ms, "model.tags_changed", { add: ["c"] }, at(3)),
  ).then({
    model_tags: [
      { model_id: M, tag: "a", present: 0, at: at(2) },
      { model_id: M, tag: "b", present: 1, at: at(1) },
      { model_id: M, tag: "c", present: 1, at: at(3) },
    ],
  });
});

Deno.test("metadata fold: the newest set or remove of a key wins", () => {
  spec(metadataFold).given(
    craft(ms, "model.metadata_changed", { set: { k: { value: "1", type: "int" } } }, at(1)),
  ).when(
    craft(ms, "model.metadata_changed", { set: { k: { value: "two", type: "str" } } }, at(2)),
    craft(ms, "model.metadata_changed", { remove: ["gone"] }, at(3)),
  ).then({
    model_metadata: [
      { model_id: M, key: "gone", type: "str", value: "", present: 0, at: at(3) },
      { model_id: M, key: "k", type: "str", value: "two", present: 1, at: at(2) },
    ],
  });
});

Deno.test("tasks fold: the earliest task.created names the task and closing is one-way", () => {
  spec(tasksFold).given(
    craft(ts, "task.created", { project: "p", name: "late" }, at(2)),
  ).when(
    craft(ts, "task.created", { project: "p", name: "early", tags: ["x"] }, at(1)),
    craft(ts, "task.closed", {}, at(3)),
  ).then({
    tasks: [{
      id: T,
      created: 1,
      project: "p",
      name: "early",
      task_type: "training",
      tags: '["x"]',
      output_uri: "",
      closed: 1,
      created_at: at(1),
      last_update: at(3),
    }],
  });
});

Deno.test("task links fold: the newest connect of a role and name wins", () => {
  const link = (modelId: string, wall: number) =>
    craft(ts, "task.model_connected", { modelId, role: "output", name: "best" }, at(wall));
  spec(taskLinksFold).given(link("m2", 3)).when(
    link("m1", 2),
    craft(ts, "task.model_connected", { modelId: "m1", role: "input", name: "best" }, at(1)),
  ).then({
    task_models: [
      { task_id: T, role: "input", name: "best", model_id: "m1", at: at(1) },
      { task_id: T, role: "output", name: "best", model_id: "m2", at: at(3) },
    ],
  });
});

Deno.test("scalars fold: a series sums counts, keeps finite extremes and the newest point", () => {
  const c1 = craft(ms, "metric.scalars", {
    title: "loss",
    series: "train",
    iters: [0, 1],
    values: [3, "NaN"],
  }, at(1));
  const c2 = craft(ms, "metric.scalars", {
    title: "loss",
    series: "train",
    iters: [2],
    values: [0.5],
  }, at(2));
  spec(scalarsFold).given(c1).when(c2).then({
    scalar_series: [{
      model_id: M,
      title: "loss",
      series: "train",
      count: 3,
      min: 0.5,
      max: 3,
      last: "0.5",
      last_iter: 2,
      last_at: at(2),
      max_iter: 2,
    }],
    metric_chunks: [
      {
        event_id: c1.id,
        model_id: M,
        title: "loss",
        series: "train",
        n: 2,
        min_iter: 0,
        max_iter: 1,
        at: at(1),
      },
      {
        event_id: c2.id,
        model_id: M,
        title: "loss",
        series: "train",
        n: 1,
        min_iter: 2,
        max_iter: 2,
        at: at(2),
      },
    ],
  });
});

Deno.test("plots fold: the newest plot of an iteration wins, with nothing preloaded", () => {
  const plot = (y: number, wall: number) =>
    craft(ms, "metric.plot", {
      kind: "histogram",
      title: "h",
      series: "s",
      iteration: 1,
      figure: { data: [{ y: [y] }], layout: {} },
    }, at(wall));
  const newer = plot(2, 5);
  assert.deepEqual(plotsFold.preload([newer]), []);
  spec(plotsFold).given(newer).when(plot(1, 4)).then({
    plots: [{
      model_id: M,
      title: "h",
      series: "s",
      iteration: 1,
      kind: "histogram",
      event_id: newer.id,
      at: at(5),
    }],
  });
});

Deno.test("folds preload only the rows their events touch", () => {
  const events = [
    craft(ms, "model.tags_changed", { add: ["a"] }, at(1)),
    craft(ts, "task.model_connected", { modelId: M, role: "input", name: "x" }, at(2)),
    craft(ms, "metric.scalars", { title: "t", series: "s", iters: [1], values: [1] }, at(3)),
  ];
  assert.deepEqual(modelsFold.preload(events), [{ table: "models", columns: ["id"], keys: [[M]] }]);
  assert.deepEqual(tagsFold.preload(events), [{
    table: "model_tags",
    columns: ["model_id"],
    keys: [[M]],
  }]);
  assert.deepEqual(metadataFold.preload(events), []);
  assert.deepEqual(tasksFold.preload(events), [{ table: "tasks", columns: ["id"], keys: [[T]] }]);
  assert.deepEqual(taskLinksFold.preload(events), [{
    table: "task_models",
    columns: ["task_id", "role", "name"],
    keys: [[T, "input", "x"]],
  }]);
  const [series] = scalarsFold.preload(events);
  assert.deepEqual(series?.keys, [[M]]);
  assert.equal(series?.keep?.({ model_id: M, title: "t", series: "s" }), true);
  assert.equal(series?.keep?.({ model_id: M, title: "t", series: "other" }), false);
});
