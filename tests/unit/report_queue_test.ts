/**
 * The scalar hot path: the checks of `reportScalar`'s arguments (with their cache of the last
 * valid title and series) and the report queue's packing of points into `metric.scalars`
 * events (its cache of the last series, chunk stamps, NaN/Infinity, batch order).
 */
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../lib/errors.ts";
import type { NewEvent } from "../../lib/events.ts";
import { scalarValue } from "../../lib/models/reporting.ts";
import { ReportQueue } from "../../lib/store/report_queue.ts";

Deno.test("scalarValue() checks every call, also right after a valid title and series", () => {
  assert.equal(scalarValue("loss", "train", 0.5, 1), 0.5);
  assert.equal(scalarValue("loss", "train", 7n, 2), 7);
  for (
    const [t, s, v, i, field] of [
      ["", "train", 1, 1, "title"],
      [" ", "train", 1, 1, "title"],
      ["loss", "a\0b", 1, 1, "series"],
      ["loss", 3, 1, 1, "series"],
      [undefined, "train", 1, 1, "title"],
      ["loss", "train", "1", 1, "value"],
      ["loss", "train", 1, 1.5, "iteration"],
    ] as const
  ) {
    assert.throws(
      () => scalarValue(t, s, v, i),
      (e) => e instanceof InvalidArgumentError && e.field === field,
      `${String(t)}/${String(s)}/${String(v)}/${i}`,
    );
    // The cache still holds the last valid names: they pass again.
    assert.equal(scalarValue("loss", "train", 1, 3), 1);
  }
  assert.equal(scalarValue("loss", "", 1, 1), 1); // an empty series is allowed
});

Deno.test("the queue packs points per series into chunks, stamped when their first point came", async () => {
  const batches: NewEvent[][] = [];
  let clock = 0;
  const q = new ReportQueue({
    now: () => `t${String(clock++).padStart(3, "0")}`,
    append: (events) => {
      batches.push(events);
      return Promise.resolve();
    },
    closed: () => false,
  }, { reportBatchPoints: 1000, reportHighWater: 2000, reportFlushMs: 60_000, pointsPerEvent: 3 });
  try {
    // Interleaved series, two models, a non-finite value: the last-series cache must not mix them.
    for (let i = 0; i < 4; i++) {
      q.scalar("m1", "loss", "train", i === 2 ? NaN : i, i);
      q.scalar("m1", "loss", "val", -i, i);
      q.scalar("m2", "loss", "train", i === 3 ? -Infinity : 10 + i, i);
    }
    assert.equal(q.pending, 12);
    await q.flush();
    assert.equal(q.pending, 0);
    assert.equal(batches.length, 1);
    const got = batches[0]!.map((e) => [e.stream, e.at, e.data]);
    assert.deepEqual(got, [
      ["model:m1", "t000", {
        title: "loss",
        series: "train",
        iters: [0, 1, 2],
        values: [0, 1, "NaN"],
      }],
      ["model:m1", "t003", { title: "loss", series: "train", iters: [3], values: [3] }],
      ["model:m1", "t001", {
        title: "loss",
        series: "val",
        iters: [0, 1, 2],
        values: [-0, -1, -2],
      }],
      ["model:m1", "t004", { title: "loss", series: "val", iters: [3], values: [-3] }],
      ["model:m2", "t002", {
        title: "loss",
        series: "train",
        iters: [0, 1, 2],
        values: [10, 11, 12],
      }],
      ["model:m2", "t005", { title: "loss", series: "train", iters: [3], values: ["-Infinity"] }],
    ]);
    // After a batch the cache is reset: the next point starts a fresh series and chunk.
    q.scalar("m1", "loss", "train", 5, 9);
    await q.flush();
    assert.deepEqual(batches[1]!.map((e) => [e.at, e.data]), [
      ["t006", { title: "loss", series: "train", iters: [9], values: [5] }],
    ]);
  } finally {
    q.dispose();
  }
});
