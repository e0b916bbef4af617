/**
 * The `report*` methods through the model API (`Model`, `InputModel`, `OutputModel`): read-back
 * of scalars, single values and plots, last-report-wins, typed arrays, NaN/Infinity, the
 * per-series summary, CSV export, floating and published models, bad input leaving the store
 * untouched, and the auto-flush at program exit (child processes).
 *
 * Figure shapes are unit-tested in `figures_test.ts`; here every figure read back must equal what
 * the builder makes from the same options (so storage round-trips it exactly), plus a spot check
 * that each option reached the stored figure.
 */
import { readAll } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { jsonSafe } from "../../lib/models/read_back.ts";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  type BaseModel,
  InputModel,
  InvalidArgumentError,
  Model,
  ModelogError,
  openStore,
  OutputModel,
  type PlotResult,
  SINGLE_VALUE_ITERATION,
  type Store,
  Task,
} from "../../mod.ts";
import {
  confusionMatrixFigure,
  histogramFigure,
  linePlotFigure,
  scatter2dFigure,
  scatter3dFigure,
  surfaceFigure,
  tableFigure,
  vectorFigure,
} from "../../lib/reports/figures.ts";
import { csvParse } from "../../lib/deps.ts";
import { eventCount, serve, withStore, withTempDir, writeFile } from "../fixtures/helpers.ts";

const CHILD = fileURLToPath(new URL("../fixtures/report_child.ts", import.meta.url));

type Kind = "Model" | "InputModel" | "OutputModel";
const KINDS: Kind[] = ["Model", "InputModel", "OutputModel"];

let urlCounter = 0;

/**
 * A handle of the given kind: `Model` via `Model.get`, `InputModel` via `importModel` +
 * `InputModel.get`, and a floating `OutputModel` (created by its first report).
 */
async function handle(kind: Kind, store: Store, task: Task): Promise<BaseModel> {
  if (kind === "OutputModel") return new OutputModel({ task, name: `out-${urlCounter++}` });
  if (kind === "InputModel") {
    const imported = await InputModel.importModel({
      weightsUrl: `https://example.com/weights/m${urlCounter++}.pt`,
      name: "imported",
      store,
    });
    return await InputModel.get(imported.id, { store });
  }
  const out = new OutputModel({ task, name: `made-${urlCounter++}` });
  await out.setComment("created");
  return await Model.get(out.id, { store });
}

async function withTask(fn: (store: Store, task: Task, home: string) => Promise<void>) {
  await withStore(async (store, home) => {
    const task = await Task.init({ projectName: "reports", taskName: "t", store });
    try {
      await fn(store, task, home);
    } finally {
      await task.close();
    }
  });
}

// ------------------------------------------------------------------------------ scalars

Deno.test("reportScalar() reads back every title and series, sorted by iteration, with filters", async (t) => {
  await withTask(async (store, task) => {
    for (const kind of KINDS) {
      await t.step(kind, async () => {
        const m = await handle(kind, store, task);
        const want: Record<string, Record<string, { x: number[]; y: number[] }>> = {
          loss: { train: { x: [], y: [] }, val: { x: [], y: [] } },
          'acc, top-1 "quoted"': { "": { x: [], y: [] } },
          lr: { schedule: { x: [], y: [] } },
        };
        // Reported out of order: read-back is sorted by iteration.
        const iters = [5, 0, 3, 1, 4, 2, -7, 1_000_000];
        for (const it of iters) {
          await m.reportScalar("loss", "train", 1 / (it + 10), it);
          if (it % 2 === 0) await m.reportScalar("loss", "val", it * 0.25, it);
          await m.reportScalar('acc, top-1 "quoted"', "", it / 100, it);
          if (it >= 0 && it < 3) await m.reportScalar("lr", "schedule", 0.1 * 2 ** -it, it);
        }
        for (const it of [...iters].sort((a, b) => a - b)) {
          want.loss!.train!.x.push(it);
          want.loss!.train!.y.push(1 / (it + 10));
          if (it % 2 === 0) {
            want.loss!.val!.x.push(it);
            want.loss!.val!.y.push(it * 0.25);
          }
          want['acc, top-1 "quoted"']![""]!.x.push(it);
          want['acc, top-1 "quoted"']![""]!.y.push(it / 100);
          if (it >= 0 && it < 3) {
            want.lr!.schedule!.x.push(it);
            want.lr!.schedule!.y.push(0.1 * 2 ** -it);
          }
        }
        assert.deepEqual(await m.getReportedScalars(), want);
        assert.deepEqual(await m.getReportedScalars({ title: "loss" }), { loss: want.loss });
        assert.deepEqual(await m.getReportedScalars({ series: "val" }), {
          loss: { val: want.loss!.val },
        });
        assert.deepEqual(await m.getReportedScalars({ title: "lr", series: "schedule" }), {
          lr: want.lr,
        });
        assert.deepEqual(await m.getReportedScalars({ title: "loss", series: "schedule" }), {});
        assert.deepEqual(await m.getReportedScalars({ title: "nope" }), {});
        // Another handle on the same model reads the same.
        const again = await Model.get(m.id, { store });
        assert.deepEqual(await again.getReportedScalars(), want);
      });
    }
  });
});

Deno.test("reportSingleValue() stores title Summary at iteration -2^31 and reads back by name", async (t) => {
  await withTask(async (store, task) => {
    for (const kind of KINDS) {
      await t.step(kind, async () => {
        const m = await handle(kind, store, task);
        await m.reportSingleValue("accuracy", 0.93);
        await m.reportSingleValue("f1", 0.5);
        await m.reportSingleValue("f1", 0.75); // last wins
        await m.reportSingleValue("bad", NaN);
        await m.reportSingleValue("huge", Infinity);
        await m.reportSingleValue("tiny", -Infinity);
        // A real scalar under the title "Summary" is a scalar, not a single value.
        await m.reportScalar("Summary", "epoch", 3, 0);
        assert.equal(SINGLE_VALUE_ITERATION, -(2 ** 31));
        assert.deepEqual(await m.getReportedSingleValues(), {
          accuracy: 0.93,
          f1: 0.75,
          bad: NaN,
          huge: Infinity,
          tiny: -Infinity,
        });
        assert.deepEqual(await m.getReportedScalars(), {
          Summary: { epoch: { x: [0], y: [3] } },
        });
        const summary = await m.getScalarSummary();
        const acc = summary.find((s) => s.series === "accuracy")!;
        assert.equal(acc.title, "Summary");
        assert.equal(acc.lastIteration, -(2 ** 31));
        assert.equal(acc.last, 0.93);
        // The stored event is ClearML's: metric "Summary", variant = name, iter = -2^31.
        const events = await store.streamEvents(`model:${m.id}`);
        const sv = events.filter((e) => e.type === "metric.scalars").map((e) =>
          e.data as { title: string; series: string; iters: number[] }
        ).filter((d) => d.series === "accuracy");
        assert.deepEqual(sv.map((d) => [d.title, d.iters]), [["Summary", [-(2 ** 31)]]]);
      });
    }
  });
});

Deno.test("the last report wins for the same title, series and iteration, also across flushes", async (t) => {
  await withTask(async (store, task) => {
    for (const kind of KINDS) {
      await t.step(kind, async () => {
        const m = await handle(kind, store, task);
        // In one batch.
        await m.reportScalar("loss", "train", 1, 0);
        await m.reportScalar("loss", "train", 2, 1);
        await m.reportScalar("loss", "train", 3, 1);
        await m.reportHistogram({ title: "h", series: "s", values: [1, 1], iteration: 1 });
        await m.reportHistogram({ title: "h", series: "s", values: [2, 2], iteration: 1 });
        await m.reportSingleValue("best", 1);
        await m.flush();
        assert.deepEqual(await m.getReportedScalars(), {
          loss: { train: { x: [0, 1], y: [1, 3] } },
        });
        // Across flushes: later batches overwrite earlier ones.
        await m.reportScalar("loss", "train", 9, 0);
        await m.reportHistogram({ title: "h", series: "s", values: [3, 3], iteration: 1 });
        await m.reportHistogram({ title: "h", series: "s", values: [4], iteration: 2 });
        await m.reportSingleValue("best", 2);
        await m.flush();
        await m.reportScalar("loss", "train", 10, 1);
        await m.reportSingleValue("best", 3);
        assert.deepEqual(await m.getReportedScalars(), {
          loss: { train: { x: [0, 1], y: [9, 10] } },
        });
        assert.deepEqual(await m.getReportedSingleValues(), { best: 3 });
        const plots = await m.getReportedPlots({ title: "h" });
        assert.deepEqual(plots.map((p) => [p.iteration, (p.figure.data[0] as { y: number[] }).y]), [
          [1, [3, 3]],
          [2, [4]],
        ]);
        // The summary's last is the newest report; the log keeps every report (Decision 14), and
        // the summary counts every reported point, re-reports included.
        const s = (await m.getScalarSummary()).find((r) => r.title === "loss")!;
        assert.equal(s.last, 10);
        assert.equal(s.lastIteration, 1);
        assert.equal(s.count, 5);
        const events = await store.streamEvents(`model:${m.id}`);
        assert.equal(events.filter((e) => e.type === "metric.plot").length, 4);
      });
    }
  });
});

Deno.test("NaN and ±Infinity are stored; plots read them back as ClearML's strings; summary min/max skip them", async () => {
  await withTask(async (store, task) => {
    const m = await handle("OutputModel", store, task);
    const ys = [0.5, NaN, Infinity, -2, -Infinity, 4, NaN];
    for (let i = 0; i < ys.length; i++) await m.reportScalar("loss", "train", ys[i]!, i);
    await m.reportScalar("loss", "allnan", NaN, 0);
    await m.reportScalar("loss", "allnan", NaN, 1);
    await m.reportScalar("loss", "inf", Infinity, 0);
    await m.flush();
    // A second batch: the summary folds across events.
    await m.reportScalar("loss", "train", -3, 10);
    await m.reportScalar("loss", "train", NaN, 11);
    const got = await m.getReportedScalars();
    assert.deepEqual(got.loss!.train, {
      x: [0, 1, 2, 3, 4, 5, 6, 10, 11],
      y: [...ys, -3, NaN],
    });
    assert.deepEqual(got.loss!.allnan, { x: [0, 1], y: [NaN, NaN] });
    assert.deepEqual(got.loss!.inf, { x: [0], y: [Infinity] });
    const summary = Object.fromEntries((await m.getScalarSummary()).map((s) => [s.series, s]));
    assert.deepEqual(summary.train, {
      title: "loss",
      series: "train",
      last: NaN,
      lastIteration: 11,
      min: -3,
      max: 4,
      count: 9,
      maxIteration: 11,
    });
    // min/max cover finite values only (libSQL cannot bind NaN/±Infinity): none → null.
    assert.equal(summary.allnan!.min, null);
    assert.equal(summary.allnan!.max, null);
    assert.equal(summary.inf!.last, Infinity);
    assert.equal(summary.inf!.max, null);
    // Plots keep non-finite numbers in their data.
    await m.reportScatter2d({
      title: "s",
      series: "a",
      scatter: [[0, NaN], [Infinity, -Infinity]],
    });
    await m.reportMatrix({ title: "m", series: "a", matrix: [[NaN, 1], [Infinity, -Infinity]] });
    await m.reportTable({ title: "t", series: "a", tablePlot: [["v"], [NaN], [Infinity]] });
    const plots = Object.fromEntries((await m.getReportedPlots()).map((p) => [p.title, p]));
    const sc = plots.s!.figure.data[0] as { x: number[]; y: number[] };
    // Plots read back with ClearML's strings (they survive JSON.stringify); tables as pandas'.
    assert.deepEqual([sc.x, sc.y], [[0, "inf"], ["nan", "-inf"]]);
    assert.deepEqual((plots.m!.figure.data[0] as { z: number[][] }).z, [
      ["nan", 1],
      ["inf", "-inf"],
    ]);
    assert.deepEqual(
      (plots.t!.figure.data[0] as { cells: { values: unknown[][] } }).cells.values,
      [["NaN", "Inf"]],
    );
  });
});

Deno.test("getScalarSummary() keeps last, min, max, count, last and max iteration per series", async () => {
  await withTask(async (store, task) => {
    const m = await handle("Model", store, task);
    for (let i = 0; i < 100; i++) {
      await m.reportScalar("loss", "train", Math.cos(i / 10) * 10, i);
      if (i % 10 === 0) await m.reportScalar("loss", "val", 100 - i, i * 2);
    }
    await m.reportScalar("acc", "top1", 0.7, 5);
    await m.reportScalar("acc", "top1", 0.6, 3); // reported last, at an earlier iteration
    await m.reportSingleValue("f1", 0.8);
    const cos = Array.from({ length: 100 }, (_, i) => Math.cos(i / 10) * 10);
    assert.deepEqual(await m.getScalarSummary(), [
      {
        title: "Summary",
        series: "f1",
        last: 0.8,
        lastIteration: -(2 ** 31),
        min: 0.8,
        max: 0.8,
        count: 1,
        maxIteration: -(2 ** 31),
      },
      {
        title: "acc",
        series: "top1",
        last: 0.6,
        lastIteration: 3,
        min: 0.6,
        max: 0.7,
        count: 2,
        maxIteration: 5,
      },
      {
        title: "loss",
        series: "train",
        last: cos[99],
        lastIteration: 99,
        min: Math.min(...cos),
        max: Math.max(...cos),
        count: 100,
        maxIteration: 99,
      },
      {
        title: "loss",
        series: "val",
        last: 10,
        lastIteration: 180,
        min: 10,
        max: 100,
        count: 10,
        maxIteration: 180,
      },
    ]);
    // The summary equals a rebuild of the log.
    const before = await store.dump({ tables: ["scalar_series"] });
    await store.rebuild();
    assert.deepEqual(await store.dump({ tables: ["scalar_series"] }), before);
  });
});

Deno.test("exportScalarsCsv() writes every point and single value; parsing it back gives the same", async () => {
  await withTask(async (store, task) => {
    await withTempDir(async (dir) => {
      const m = await handle("InputModel", store, task);
      await m.reportScalar("loss", "train", 0.5, 0);
      await m.reportScalar("loss", "train", NaN, 1);
      await m.reportScalar("loss", "train", 0.25, 1); // last wins in the export too
      await m.reportScalar('a,"b"', "line\nbreak", Infinity, 2);
      await m.reportScalar("loss", "val", -Infinity, 0);
      await m.reportScalar("loss", "val", 1e-300, 3);
      await m.reportSingleValue("acc", 0.1 + 0.2);
      const path = join(dir, "scalars.csv");
      const n = await m.exportScalarsCsv(path);
      const rows = csvParse(await Deno.readTextFile(path)) as string[][];
      assert.deepEqual(rows[0], ["title", "series", "iteration", "value"]);
      assert.equal(rows.length - 1, n);
      const parsed = rows.slice(1).map(([title, series, it, v]) => ({
        title,
        series,
        iteration: Number(it),
        value: Number(v), // Number("NaN") is NaN, Number("-Infinity") is -Infinity
      }));
      const sortKey = (r: { title?: string; series?: string; iteration: number }) =>
        `${r.title}\u0000${r.series}\u0000${String(r.iteration + 2 ** 40).padStart(16, "0")}`;
      const expected = [
        { title: "loss", series: "train", iteration: 0, value: 0.5 },
        { title: "loss", series: "train", iteration: 1, value: 0.25 },
        { title: 'a,"b"', series: "line\nbreak", iteration: 2, value: Infinity },
        { title: "loss", series: "val", iteration: 0, value: -Infinity },
        { title: "loss", series: "val", iteration: 3, value: 1e-300 },
        { title: "Summary", series: "acc", iteration: -(2 ** 31), value: 0.1 + 0.2 },
      ];
      const by = (a: typeof expected[number], b: typeof expected[number]) =>
        sortKey(a) < sortKey(b) ? -1 : 1;
      assert.deepEqual([...parsed].sort(by), [...expected].sort(by));
      // The same points as the read-back API, and iterations ascending within each series.
      const scalars = await m.getReportedScalars();
      for (const [title, bySeries] of Object.entries(scalars)) {
        for (const [series, p] of Object.entries(bySeries)) {
          const rowsOf = parsed.filter((r) => r.title === title && r.series === series);
          assert.deepEqual(rowsOf.map((r) => r.iteration), p.x);
          assert.deepEqual(rowsOf.map((r) => r.value), p.y);
        }
      }
      // A model with no scalars exports just the header.
      const empty = await handle("Model", store, task);
      assert.equal(await empty.exportScalarsCsv(join(dir, "empty.csv")), 0);
      assert.equal(
        await Deno.readTextFile(join(dir, "empty.csv")),
        "title,series,iteration,value\n",
      );
    });
  });
});

// ------------------------------------------------------------------------------ plots

interface PlotCase {
  /** The method to call. */
  method: keyof BaseModel & `report${string}`;
  /** Its options. */
  opts: Record<string, unknown>;
  /** The figure the builder makes from the same options (what must be read back). */
  expected: () => PlotResult;
  /** Spot checks that the options reached the figure. */
  check: (p: PlotResult) => void;
}

const CSV_TEXT = ",num_legs,num_wings\nfalcon,2,2\ndog,4,0\n";

type Trace = Record<string, unknown>;
const trace = (p: PlotResult, i = 0) => p.figure.data[i] as Trace;
const layoutOf = (p: PlotResult) => p.figure.layout as Record<string, Record<string, unknown>>;

function plotCases(csvPath: string, csvUrl: string): PlotCase[] {
  const extra = { height: 480, margin: { t: 40 } };
  const hist = {
    title: "hist",
    series: "weights",
    values: [[1, 2, 3], Float64Array.of(4, 5, 6)],
    iteration: 3,
    labels: ["w", "b"],
    xlabels: ["x", "y", "z"],
    xaxis: "bucket",
    yaxis: "count",
    mode: "stack",
    dataArgs: { opacity: 0.5 },
    extraLayout: extra,
  };
  const vec = {
    title: "vec",
    series: "v",
    values: Float32Array.of(0.5, 1.5, 2.5),
    iteration: 3,
    labels: ["only"],
    xaxis: "i",
    yaxis: "v",
    mode: "relative",
    extraLayout: { height: 300 },
  };
  const tblRows = {
    title: "tbl",
    series: "rows",
    iteration: 3,
    tablePlot: [["name", "n", "ok"], ["a", 1, true], ["b", NaN, null]],
    extraLayout: { height: 300 },
  };
  const tblRecords = {
    title: "tbl",
    series: "records",
    iteration: 3,
    tablePlot: [{ a: 1, b: "x" }, { a: 2, c: true }],
  };
  const line = {
    title: "lines",
    series: [
      { name: "a", data: [[0, 1], [1, NaN]], labels: ["p", "q"] },
      { name: "b", data: [Float64Array.of(0, 2), Float64Array.of(1, 3)] },
    ],
    xaxis: "recall",
    yaxis: "precision",
    mode: "lines+markers",
    iteration: 3,
    reverseXaxis: true,
    comment: "validation",
    extraLayout: extra,
  };
  const sc2 = {
    title: "sc2",
    series: "s",
    scatter: [Int32Array.of(0, 1), Int32Array.of(1, 4)],
    iteration: 3,
    xaxis: "x",
    yaxis: "y",
    labels: ["u", "v"],
    mode: "markers",
    comment: "c",
    extraLayout: extra,
  };
  const sc2Default = { title: "sc2-default", series: "s", scatter: [[0, 1], [1, 2]] };
  const sc3 = {
    title: "sc3",
    series: "s3",
    scatter: [[0, 1, 2], Float32Array.of(3, 4, Infinity)],
    iteration: 3,
    xaxis: "x",
    yaxis: "y",
    zaxis: "z",
    labels: ["p", "q"],
    mode: "lines",
    fill: true,
    comment: "c3",
    extraLayout: extra,
  };
  const sc3Multi = {
    title: "sc3m",
    series: ["cats", "dogs"],
    scatter: [[[0, 0, 0]], [[1, 1, 1], [2, 2, 2]]],
    labels: [["c"], ["d1", "d2"]],
  };
  const cm = {
    title: "cm",
    series: "val",
    matrix: [Int32Array.of(5, 1), Int32Array.of(0, 7)],
    iteration: 3,
    xaxis: "predicted",
    yaxis: "actual",
    xlabels: ["cat", "dog"],
    ylabels: ["cat", "dog"],
    yaxisReversed: true,
    comment: "cm comment",
  };
  const mx = {
    title: "mx",
    series: "m",
    matrix: [[0.1, NaN], [0.3, 0.4]],
    iteration: 3,
    xaxis: "c",
    yaxis: "r",
    xlabels: ["c0", "c1"],
    ylabels: ["r0", "r1"],
    yaxisReversed: false,
    extraLayout: { height: 200 },
  };
  const surf = {
    title: "surf",
    series: "grid",
    matrix: [Float32Array.of(0.5, 1.5, 2), Float32Array.of(2.5, NaN, -1)],
    iteration: 3,
    xaxis: "lr",
    yaxis: "decay",
    zaxis: "loss",
    xlabels: ["a", "b", "c"],
    ylabels: ["r", "s"],
    camera: [1.5, 1.25, 0.5],
    comment: "surface",
    extraLayout: { height: 500 },
  };
  // deno-lint-ignore no-explicit-any
  const o = (x: unknown) => x as any;
  return [
    {
      method: "reportHistogram",
      opts: hist,
      expected: () => histogramFigure(o(hist)),
      check(p) {
        assert.equal(p.kind, "histogram");
        assert.deepEqual(trace(p, 1), {
          name: "b",
          y: [4, 5, 6],
          x: ["x", "y", "z"],
          type: "bar",
          opacity: 0.5,
        });
        assert.equal(layoutOf(p).barmode, "stack");
        assert.equal(layoutOf(p).height, 480);
        assert.deepEqual(layoutOf(p).margin, { t: 40 });
        assert.deepEqual(layoutOf(p).xaxis, { title: "bucket" });
      },
    },
    {
      method: "reportVector",
      opts: vec,
      expected: () => vectorFigure(o(vec)),
      check(p) {
        assert.equal(p.kind, "vector");
        assert.deepEqual(trace(p), { name: "only", y: [0.5, 1.5, 2.5], x: [0, 1, 2], type: "bar" });
        assert.equal(layoutOf(p).barmode, "relative");
        assert.deepEqual(layoutOf(p).yaxis, { title: "v" });
      },
    },
    {
      method: "reportTable",
      opts: tblRows,
      expected: () => tableFigure(o(tblRows)),
      check(p) {
        assert.equal(p.kind, "table");
        const t = trace(p) as { header: { values: unknown[] }; cells: { values: unknown[][] } };
        assert.deepEqual(t.header.values, ["name", "n", "ok"]);
        assert.deepEqual(t.cells.values, [["a", "b"], [1, "NaN"], [true, null]]);
        assert.equal(layoutOf(p).height, 300);
      },
    },
    {
      method: "reportTable",
      opts: tblRecords,
      expected: () => tableFigure(o(tblRecords)),
      check(p) {
        const t = trace(p) as { header: { values: unknown[] }; cells: { values: unknown[][] } };
        assert.deepEqual(t.header.values, ["a", "b", "c"]);
        assert.deepEqual(t.cells.values, [[1, 2], ["x", null], [null, true]]);
      },
    },
    {
      method: "reportTable",
      opts: { title: "tbl", series: "csv", iteration: 3, csv: csvPath },
      expected: () => tableFigure({ title: "tbl", series: "csv", iteration: 3, csvText: CSV_TEXT }),
      check(p) {
        const t = trace(p) as { header: { values: unknown[] }; cells: { values: unknown[][] } };
        assert.deepEqual(t.header.values, [[""], ["num_legs"], ["num_wings"]]);
        assert.deepEqual(t.cells.values, [["falcon", "dog"], [2, 4], [2, 0]]);
      },
    },
    {
      method: "reportTable",
      opts: { title: "tbl", series: "url", iteration: 3, url: csvUrl, extraLayout: { h: 1 } },
      expected: () =>
        tableFigure({
          title: "tbl",
          series: "url",
          iteration: 3,
          csvText: CSV_TEXT,
          extraLayout: { h: 1 },
        }),
      check(p) {
        const t = trace(p) as { cells: { values: unknown[][] } };
        assert.deepEqual(t.cells.values, [["falcon", "dog"], [2, 4], [2, 0]]);
        assert.equal(layoutOf(p).h, 1);
      },
    },
    {
      method: "reportLinePlot",
      opts: line,
      expected: () => linePlotFigure(o(line)),
      check(p) {
        assert.equal(p.kind, "line");
        assert.equal(p.series, "");
        assert.deepEqual(trace(p, 0), {
          name: "a",
          x: [0, 1],
          y: [1, "nan"],
          mode: "lines+markers",
          text: ["p", "q"],
          type: "scatter",
        });
        assert.deepEqual([trace(p, 1).x, trace(p, 1).y], [[0, 1], [2, 3]]);
        assert.equal(layoutOf(p).title, "lines<br><sup>validation</sup>");
        assert.equal(layoutOf(p).xaxis!.autorange, "reversed");
        assert.equal(layoutOf(p).xaxis!.title, "recall");
        assert.equal(layoutOf(p).height, 480);
      },
    },
    {
      method: "reportScatter2d",
      opts: sc2,
      expected: () => scatter2dFigure(o(sc2)),
      check(p) {
        assert.equal(p.kind, "scatter2d");
        assert.equal(p.series, "s");
        assert.deepEqual(trace(p), {
          name: "s",
          x: [0, 1],
          y: [1, 4],
          mode: "markers",
          text: ["u", "v"],
          type: "scatter",
        });
        assert.equal(layoutOf(p).title, "sc2<br><sup>c</sup>");
      },
    },
    {
      method: "reportScatter2d",
      opts: sc2Default,
      expected: () => scatter2dFigure(o(sc2Default)),
      check(p) {
        assert.equal(trace(p).mode, "lines"); // Decision 10
        assert.equal(p.iteration, 0); // iteration defaults to 0
      },
    },
    {
      method: "reportScatter3d",
      opts: sc3,
      expected: () => scatter3dFigure(o(sc3)),
      check(p) {
        assert.equal(p.kind, "scatter3d");
        assert.equal(p.series, "s3");
        const t = trace(p);
        assert.equal(t.name, null);
        assert.deepEqual([t.x, t.y, t.z, t.text, t.mode], [
          [0, 3],
          [1, 4],
          [2, "inf"],
          ["p", "q"],
          "lines",
        ]);
        assert.deepEqual(layoutOf(p).scene!.zaxis, { title: "z" });
        assert.equal(layoutOf(p).title, "sc3<br><sup>c3</sup>");
      },
    },
    {
      method: "reportScatter3d",
      opts: sc3Multi,
      expected: () => scatter3dFigure(o(sc3Multi)),
      check(p) {
        assert.equal(p.series, "");
        assert.deepEqual(p.figure.data.map((d) => (d as Trace).name), ["cats", "dogs"]);
        assert.deepEqual(trace(p, 1).text, ["d1", "d2"]);
      },
    },
    {
      method: "reportConfusionMatrix",
      opts: cm,
      expected: () => confusionMatrixFigure(o(cm), "confusion_matrix"),
      check(p) {
        assert.equal(p.kind, "confusion_matrix");
        const t = trace(p);
        assert.deepEqual([t.z, t.x, t.y, t.type], [[[5, 1], [0, 7]], ["cat", "dog"], [
          "cat",
          "dog",
        ], "heatmap"]);
        assert.ok(Array.isArray(t.colorscale));
        assert.deepEqual(layoutOf(p).yaxis, { title: "actual", autorange: "reversed" });
        assert.equal(layoutOf(p).title, "cm<br><sup>cm comment</sup>");
      },
    },
    {
      method: "reportMatrix",
      opts: mx,
      expected: () => confusionMatrixFigure(o(mx), "matrix"),
      check(p) {
        assert.equal(p.kind, "matrix");
        const t = trace(p);
        assert.deepEqual(t.z, [[0.1, "nan"], [0.3, 0.4]]);
        assert.equal(t.colorscale, undefined); // extraLayout given: no colour scale
        assert.equal(t.height, 200); // and it is merged into the trace too, as ClearML does
        assert.equal(layoutOf(p).height, 200);
      },
    },
    {
      method: "reportSurface",
      opts: surf,
      expected: () => surfaceFigure(o(surf)),
      check(p) {
        assert.equal(p.kind, "surface");
        assert.deepEqual(trace(p).z, [[0.5, 1.5, 2], [2.5, "nan", -1]]);
        const scene = layoutOf(p).scene as Record<string, Record<string, unknown>>;
        assert.deepEqual(scene.camera, { eye: { x: 1.5, y: 1.25, z: 0.5 } });
        assert.deepEqual(scene.xaxis!.ticktext, ["a", "b", "c"]);
        assert.deepEqual(scene.yaxis!.tickvals, [0, 1]);
        assert.equal(scene.zaxis!.title, "loss");
        assert.equal(layoutOf(p).title, "surf/grid<br><sup>surface</sup>");
        assert.equal(layoutOf(p).height, 500);
      },
    },
  ];
}

function plotKey(p: { title: string; series: string }): string {
  return `${p.title}|${p.series}`;
}

Deno.test("every report method stores its figure with its options, on Model, InputModel and OutputModel", async (t) => {
  await withTask(async (store, task, home) => {
    const csvPath = await writeFile(home, "animals.csv", CSV_TEXT);
    const server = serve((req) =>
      new URL(req.url).pathname === "/animals.csv"
        ? new Response(CSV_TEXT, { headers: { "content-type": "text/csv" } })
        : new Response("not found", { status: 404 })
    );
    try {
      const cases = plotCases(csvPath, `${server.url}/animals.csv`);
      for (const kind of KINDS) {
        await t.step(kind, async () => {
          const m = await handle(kind, store, task);
          for (const c of cases) {
            const fn = m[c.method] as (o: unknown) => void | Promise<void>;
            await fn.call(m, c.opts);
          }
          await m.reportScalar("loss", "train", 1, 0);
          await m.reportSingleValue("acc", 0.5);
          const plots = await m.getReportedPlots();
          assert.equal(plots.length, cases.length);
          const byKey = new Map(plots.map((p) => [plotKey(p), p]));
          for (const c of cases) {
            const want = c.expected();
            const got = byKey.get(plotKey(want));
            assert.ok(got, `${c.method} ${plotKey(want)} was read back`);
            assert.ok(got.reportedAt instanceof Date && !isNaN(got.reportedAt.getTime()));
            const { reportedAt: _, ...payload } = got;
            const readable = { ...want, figure: jsonSafe(want.figure, want.kind === "table") };
            assert.deepEqual(payload, readable, `${c.method} ${plotKey(want)} round-trips`);
            c.check(got);
          }
          // Ordered by title, series, iteration; filters.
          const keys = plots.map((p) => [p.title, p.series]);
          assert.deepEqual(keys, [...keys].sort((a, b) => (a.join("\0") < b.join("\0") ? -1 : 1)));
          const tables = await m.getReportedPlots({ title: "tbl" });
          assert.deepEqual(tables.map((p) => p.series), ["csv", "records", "rows", "url"]);
          assert.deepEqual(
            (await m.getReportedPlots({ title: "tbl", series: "url" })).map((p) => p.kind),
            ["table"],
          );
          assert.equal((await m.getReportedPlots({ iteration: 0 })).length, 2);
          assert.equal((await m.getReportedPlots({ iteration: 3 })).length, cases.length - 2);
          assert.deepEqual(await m.getReportedPlots({ title: "nope" }), []);
          // Another handle (and the other classes) on the same id read the same plots.
          const other = await InputModel.get(m.id, { store });
          assert.deepEqual(await other.getReportedPlots(), plots);
        });
      }
      assert.ok(server.requests.filter((r) => r === "/animals.csv").length === KINDS.length);
    } finally {
      await server.close();
    }
  });
});

Deno.test("typed arrays are accepted in values, points and matrices and read back as numbers", async () => {
  await withTask(async (store, task) => {
    const m = await handle("Model", store, task);
    const f32 = Float32Array.of(0.25, -1.5, 3);
    const f64 = Float64Array.of(Math.PI, NaN, -Infinity);
    const i32 = Int32Array.of(-7, 0, 2 ** 31 - 1);
    for (let i = 0; i < f32.length; i++) await m.reportScalar("typed", "f32", f32[i]!, i);
    await m.reportHistogram({ title: "f32", series: "s", values: f32 });
    await m.reportHistogram({ title: "f64", series: "s", values: f64 });
    await m.reportVector({ title: "i32", series: "s", values: i32 });
    await m.reportHistogram({ title: "rows", series: "s", values: [f32, f64, i32] });
    await m.reportScatter2d({
      title: "pts",
      series: "s",
      scatter: [f32.subarray(0, 2), i32.subarray(1)],
    });
    await m.reportConfusionMatrix({ title: "cm", series: "s", matrix: [i32, i32] });
    await m.reportSurface({ title: "sf", series: "s", matrix: [f64, f32] });
    await m.reportScatter3d({ title: "p3", series: "s", scatter: [f64, f32] });
    await m.reportLinePlot({ title: "lp", series: [{ name: "a", data: [f32.subarray(1)] }] });
    const plots = Object.fromEntries((await m.getReportedPlots()).map((p) => [p.title, p]));
    const y = (t: string, i = 0) => (plots[t]!.figure.data[i] as { y: unknown }).y;
    assert.deepEqual(y("f32"), [0.25, -1.5, 3]);
    assert.deepEqual(y("f64"), [Math.PI, "nan", "-inf"]);
    assert.deepEqual(y("i32"), [-7, 0, 2 ** 31 - 1]);
    assert.deepEqual([y("rows", 0), y("rows", 1), y("rows", 2)], [
      [0.25, -1.5, 3],
      [Math.PI, "nan", "-inf"],
      [-7, 0, 2 ** 31 - 1],
    ]);
    const pts = plots.pts!.figure.data[0] as { x: unknown; y: unknown };
    assert.deepEqual([pts.x, pts.y], [[0.25, 0], [-1.5, 2 ** 31 - 1]]);
    assert.deepEqual((plots.cm!.figure.data[0] as { z: unknown }).z, [
      [-7, 0, 2 ** 31 - 1],
      [-7, 0, 2 ** 31 - 1],
    ]);
    assert.deepEqual((plots.sf!.figure.data[0] as { z: unknown }).z, [
      [Math.PI, "nan", "-inf"],
      [0.25, -1.5, 3],
    ]);
    const p3 = plots.p3!.figure.data[0] as { x: unknown; y: unknown; z: unknown };
    assert.deepEqual([p3.x, p3.y, p3.z], [[Math.PI, 0.25], ["nan", -1.5], ["-inf", 3]]);
    assert.deepEqual(y("lp"), [3]);
    // Stored as plain JSON arrays, not typed-array objects.
    for (const p of Object.values(plots)) {
      for (const d of p.figure.data as Record<string, unknown>[]) {
        for (const k of ["x", "y", "z"]) {
          if (d[k] !== undefined && d[k] !== null) {
            assert.ok(Array.isArray(d[k]), `${p.title}.${k}`);
          }
        }
      }
    }
    assert.deepEqual(await m.getReportedScalars(), {
      typed: { f32: { x: [0, 1, 2], y: [0.25, -1.5, 3] } },
    });
  });
});

// ------------------------------------------------------------------------------ models

Deno.test("reporting on a floating OutputModel creates it and links it to its task", async (t) => {
  await withTask(async (store, task) => {
    for (
      const [what, report] of [
        ["reportScalar", (m: OutputModel) => m.reportScalar("loss", "train", 1, 0)],
        ["reportSingleValue", (m: OutputModel) => m.reportSingleValue("acc", 1)],
        [
          "reportHistogram",
          (m: OutputModel) => m.reportHistogram({ title: "h", series: "s", values: [1] }),
        ],
        [
          "reportTable",
          (m: OutputModel) => m.reportTable({ title: "t", series: "s", tablePlot: [["a"], [1]] }),
        ],
      ] as const
    ) {
      await t.step(what, async () => {
        const m = new OutputModel({ task, name: `floating-${what}`, tags: ["f"] });
        assert.equal(m.exists, false);
        await assert.rejects(Model.get(m.id, { store }), { code: "MODEL_NOT_FOUND" });
        const r = report(m);
        assert.ok(r instanceof Promise, "a floating model's first report returns a promise");
        await r;
        assert.equal(m.exists, true);
        const got = await Model.get(m.id, { store });
        assert.equal(got.name, `floating-${what}`);
        assert.deepEqual(got.tags, ["f"]);
        assert.equal(got.task, task.id);
        assert.ok(task.models.output.some((x) => x.id === m.id));
        // Once created, scalar reports are queued synchronously.
        assert.equal(m.reportScalar("loss", "train", 2, 1), undefined);
        await m.flush();
        const events = await store.streamEvents(`model:${m.id}`);
        assert.equal(events.filter((e) => e.type === "model.created").length, 1);
      });
    }
    // Many reports before the creation finished still create exactly one model.
    const m = new OutputModel({ task, name: "burst" });
    const pending = [];
    for (let i = 0; i < 50; i++) pending.push(m.reportScalar("loss", "train", i, i));
    await Promise.all(pending);
    const got = await Model.get(m.id, { store });
    assert.deepEqual((await got.getReportedScalars()).loss!.train!.x.length, 50);
    const created = await readAll(
      store,
      "SELECT id FROM events WHERE stream = ? AND type = 'model.created'",
      [
        `model:${m.id}`,
      ],
    );
    assert.equal(created.length, 1);
  });
});

Deno.test("reports on a published model are stored (Decision 8)", async (t) => {
  await withTask(async (store, task) => {
    for (const kind of KINDS) {
      await t.step(kind, async () => {
        const m = await handle(kind, store, task);
        await m.publish();
        assert.equal(m.published, true);
        await m.reportScalar("loss", "train", 0.5, 7);
        await m.reportSingleValue("acc", 0.9);
        await m.reportConfusionMatrix({ title: "cm", series: "val", matrix: [[1, 0], [0, 1]] });
        await m.reportTable({ title: "t", series: "s", tablePlot: [["a"], [1]] });
        assert.deepEqual(await m.getReportedScalars(), { loss: { train: { x: [7], y: [0.5] } } });
        assert.deepEqual(await m.getReportedSingleValues(), { acc: 0.9 });
        assert.deepEqual((await m.getReportedPlots()).map((p) => p.kind), [
          "confusion_matrix",
          "table",
        ]);
        // Still published and locked.
        const again = await Model.get(m.id, { store });
        assert.equal(again.published, true);
      });
    }
  });
});

// ------------------------------------------------------------------------------ bad input

interface BadContext {
  csvPath: string;
  url: string;
  missing: string;
  raggedPath: string;
  raggedUrl: string;
}

interface BadCase {
  name: string;
  field: string;
  call: (m: BaseModel, ctx: BadContext) => unknown;
}

const BAD: BadCase[] = [
  // reportScalar
  {
    name: "scalar value string",
    field: "value",
    call: (m) => m.reportScalar("l", "s", "1" as never, 0),
  },
  {
    name: "scalar value null",
    field: "value",
    call: (m) => m.reportScalar("l", "s", null as never, 0),
  },
  {
    name: "scalar value undefined",
    field: "value",
    call: (m) => m.reportScalar("l", "s", undefined as never, 0),
  },
  {
    name: "scalar value object",
    field: "value",
    call: (m) => m.reportScalar("l", "s", {} as never, 0),
  },
  {
    name: "scalar value array",
    field: "value",
    call: (m) => m.reportScalar("l", "s", [1] as never, 0),
  },
  {
    name: "scalar iteration 1.5",
    field: "iteration",
    call: (m) => m.reportScalar("l", "s", 1, 1.5),
  },
  {
    name: "scalar iteration NaN",
    field: "iteration",
    call: (m) => m.reportScalar("l", "s", 1, NaN),
  },
  {
    name: "scalar iteration Infinity",
    field: "iteration",
    call: (m) => m.reportScalar("l", "s", 1, Infinity),
  },
  {
    name: "scalar iteration string",
    field: "iteration",
    call: (m) => m.reportScalar("l", "s", 1, "3" as never),
  },
  {
    name: "scalar iteration missing",
    field: "iteration",
    call: (m) => (m.reportScalar as (...a: unknown[]) => unknown)("l", "s", 1),
  },
  {
    name: "scalar iteration unsafe",
    field: "iteration",
    call: (m) => m.reportScalar("l", "s", 1, 2 ** 60),
  },
  { name: "scalar empty title", field: "title", call: (m) => m.reportScalar("", "s", 1, 0) },
  { name: "scalar blank title", field: "title", call: (m) => m.reportScalar("  ", "s", 1, 0) },
  {
    name: "scalar series not a string",
    field: "series",
    call: (m) => m.reportScalar("l", 3 as never, 1, 0),
  },
  // reportSingleValue
  { name: "single value empty name", field: "name", call: (m) => m.reportSingleValue("", 1) },
  {
    name: "single value string",
    field: "value",
    call: (m) => m.reportSingleValue("n", "1" as never),
  },
  {
    name: "single value null",
    field: "value",
    call: (m) => m.reportSingleValue("n", null as never),
  },
  {
    name: "single value undefined",
    field: "value",
    call: (m) => m.reportSingleValue("n", undefined as never),
  },
  {
    name: "single value object",
    field: "value",
    call: (m) => m.reportSingleValue("n", { v: 1 } as never),
  },
  // reportHistogram / reportVector
  {
    name: "histogram ragged",
    field: "values",
    call: (m) => m.reportHistogram({ title: "h", series: "s", values: [[1, 2], [3]] }),
  },
  {
    name: "histogram string value",
    field: "values",
    call: (m) => m.reportHistogram({ title: "h", series: "s", values: [1, "2" as never] }),
  },
  {
    name: "histogram null value",
    field: "values",
    call: (m) => m.reportHistogram({ title: "h", series: "s", values: [1, null as never] }),
  },
  {
    name: "histogram labels count",
    field: "labels",
    call: (m) =>
      m.reportHistogram({ title: "h", series: "s", values: [[1], [2]], labels: ["a", "b", "c"] }),
  },
  {
    name: "histogram xlabels count",
    field: "xlabels",
    call: (m) => m.reportHistogram({ title: "h", series: "s", values: [1, 2], xlabels: ["a"] }),
  },
  {
    name: "histogram empty title",
    field: "title",
    call: (m) => m.reportHistogram({ title: "", series: "s", values: [1] }),
  },
  {
    name: "histogram iteration 0.5",
    field: "iteration",
    call: (m) => m.reportHistogram({ title: "h", series: "s", values: [1], iteration: 0.5 }),
  },
  {
    name: "vector ragged",
    field: "values",
    call: (m) =>
      m.reportVector({
        title: "v",
        series: "s",
        values: [Float32Array.of(1, 2), Float32Array.of(3)],
      }),
  },
  {
    name: "vector object value",
    field: "values",
    call: (m) => m.reportVector({ title: "v", series: "s", values: [{} as never] }),
  },
  {
    name: "vector empty title",
    field: "title",
    call: (m) => m.reportVector({ title: "", series: "s", values: [1] }),
  },
  {
    name: "vector iteration 1.1",
    field: "iteration",
    call: (m) => m.reportVector({ title: "v", series: "s", values: [1], iteration: 1.1 }),
  },
  // reportTable
  {
    name: "table tablePlot and csv",
    field: "tablePlot/csv/url",
    call: (m, c) => m.reportTable({ title: "t", series: "s", tablePlot: [["a"]], csv: c.csvPath }),
  },
  {
    name: "table csv and url",
    field: "tablePlot/csv/url",
    call: (m, c) => m.reportTable({ title: "t", series: "s", csv: c.csvPath, url: c.url }),
  },
  {
    name: "table all three",
    field: "tablePlot/csv/url",
    call: (m, c) =>
      m.reportTable({ title: "t", series: "s", tablePlot: [["a"]], csv: c.csvPath, url: c.url }),
  },
  {
    name: "table none",
    field: "tablePlot/csv/url",
    call: (m) => m.reportTable({ title: "t", series: "s" }),
  },
  {
    name: "table ragged rows",
    field: "tablePlot",
    call: (m) => m.reportTable({ title: "t", series: "s", tablePlot: [["a", "b"], [1]] }),
  },
  {
    name: "table object cell",
    field: "tablePlot",
    call: (m) => m.reportTable({ title: "t", series: "s", tablePlot: [["a"], [{}]] }),
  },
  {
    name: "table missing csv file",
    field: "csv",
    call: (m, c) => m.reportTable({ title: "t", series: "s", csv: c.missing }),
  },
  {
    name: "table url 404",
    field: "url",
    call: (m, c) => m.reportTable({ title: "t", series: "s", url: c.url + "/nope" }),
  },
  {
    name: "table ragged csv file",
    field: "csv",
    call: (m, c) => m.reportTable({ title: "t", series: "s", csv: c.raggedPath }),
  },
  {
    name: "table ragged csv url",
    field: "url",
    call: (m, c) => m.reportTable({ title: "t", series: "s", url: c.raggedUrl }),
  },
  {
    name: "table empty title",
    field: "title",
    call: (m) => m.reportTable({ title: "", series: "s", tablePlot: [["a"]] }),
  },
  {
    name: "table iteration 2.5",
    field: "iteration",
    call: (m) => m.reportTable({ title: "t", series: "s", tablePlot: [["a"]], iteration: 2.5 }),
  },
  // reportLinePlot
  {
    name: "line plot N×3 points",
    field: "series[0].data",
    call: (m) => m.reportLinePlot({ title: "l", series: [{ name: "a", data: [[1, 2, 3]] }] }),
  },
  {
    name: "line plot labels count",
    field: "series[0].labels",
    call: (m) =>
      m.reportLinePlot({ title: "l", series: [{ name: "a", data: [[1, 2]], labels: ["x", "y"] }] }),
  },
  {
    name: "line plot string point",
    field: "series[0].data",
    call: (m) =>
      m.reportLinePlot({ title: "l", series: [{ name: "a", data: [[1, "2" as never]] }] }),
  },
  {
    name: "line plot empty title",
    field: "title",
    call: (m) => m.reportLinePlot({ title: "", series: [{ name: "a", data: [[1, 2]] }] }),
  },
  {
    name: "line plot iteration 1.5",
    field: "iteration",
    call: (m) =>
      m.reportLinePlot({ title: "l", series: [{ name: "a", data: [[1, 2]] }], iteration: 1.5 }),
  },
  // reportScatter2d
  {
    name: "scatter2d ragged points",
    field: "scatter",
    call: (m) => m.reportScatter2d({ title: "s", series: "s", scatter: [[1, 2], [3]] }),
  },
  {
    name: "scatter2d labels count",
    field: "labels",
    call: (m) => m.reportScatter2d({ title: "s", series: "s", scatter: [[1, 2]], labels: [] }),
  },
  {
    name: "scatter2d mode line",
    field: "mode",
    call: (m) => m.reportScatter2d({ title: "s", series: "s", scatter: [[1, 2]], mode: "line" }),
  },
  {
    name: "scatter2d undefined value",
    field: "scatter",
    call: (m) => m.reportScatter2d({ title: "s", series: "s", scatter: [[1, undefined as never]] }),
  },
  {
    name: "scatter2d empty title",
    field: "title",
    call: (m) => m.reportScatter2d({ title: "", series: "s", scatter: [[1, 2]] }),
  },
  {
    name: "scatter2d iteration 1.5",
    field: "iteration",
    call: (m) => m.reportScatter2d({ title: "s", series: "s", scatter: [[1, 2]], iteration: 1.5 }),
  },
  // reportScatter3d
  {
    name: "scatter3d N×2 points",
    field: "scatter",
    call: (m) => m.reportScatter3d({ title: "s", series: "s", scatter: [[1, 2]] }),
  },
  {
    name: "scatter3d series count",
    field: "series",
    call: (m) =>
      m.reportScatter3d({ title: "s", series: ["a"], scatter: [[[1, 2, 3]], [[1, 2, 3]]] }),
  },
  {
    name: "scatter3d labels count",
    field: "labels",
    call: (m) =>
      m.reportScatter3d({ title: "s", series: "s", scatter: [[1, 2, 3]], labels: ["a", "b"] }),
  },
  {
    name: "scatter3d empty title",
    field: "title",
    call: (m) => m.reportScatter3d({ title: "", series: "s", scatter: [[1, 2, 3]] }),
  },
  {
    name: "scatter3d iteration 0.1",
    field: "iteration",
    call: (m) =>
      m.reportScatter3d({ title: "s", series: "s", scatter: [[1, 2, 3]], iteration: 0.1 }),
  },
  // reportConfusionMatrix / reportMatrix
  {
    name: "confusion matrix ragged",
    field: "matrix",
    call: (m) => m.reportConfusionMatrix({ title: "c", series: "s", matrix: [[1, 2], [3]] }),
  },
  {
    name: "confusion matrix xlabels count",
    field: "xlabels",
    call: (m) =>
      m.reportConfusionMatrix({ title: "c", series: "s", matrix: [[1, 2]], xlabels: ["a"] }),
  },
  {
    name: "confusion matrix ylabels count",
    field: "ylabels",
    call: (m) =>
      m.reportConfusionMatrix({ title: "c", series: "s", matrix: [[1, 2]], ylabels: ["a", "b"] }),
  },
  {
    name: "confusion matrix string",
    field: "matrix",
    call: (m) => m.reportConfusionMatrix({ title: "c", series: "s", matrix: [["1" as never]] }),
  },
  {
    name: "confusion matrix 1-D",
    field: "matrix",
    call: (m) => m.reportConfusionMatrix({ title: "c", series: "s", matrix: [1, 2] }),
  },
  {
    name: "confusion matrix empty title",
    field: "title",
    call: (m) => m.reportConfusionMatrix({ title: "", series: "s", matrix: [[1]] }),
  },
  {
    name: "confusion matrix iteration 1.5",
    field: "iteration",
    call: (m) =>
      m.reportConfusionMatrix({ title: "c", series: "s", matrix: [[1]], iteration: 1.5 }),
  },
  {
    name: "matrix ragged typed rows",
    field: "matrix",
    call: (m) =>
      m.reportMatrix({ title: "m", series: "s", matrix: [Int32Array.of(1, 2), Int32Array.of(3)] }),
  },
  {
    name: "matrix xlabels count",
    field: "xlabels",
    call: (m) =>
      m.reportMatrix({ title: "m", series: "s", matrix: [[1, 2]], xlabels: ["a", "b", "c"] }),
  },
  {
    name: "matrix empty title",
    field: "title",
    call: (m) => m.reportMatrix({ title: "", series: "s", matrix: [[1]] }),
  },
  {
    name: "matrix iteration 1.5",
    field: "iteration",
    call: (m) => m.reportMatrix({ title: "m", series: "s", matrix: [[1]], iteration: 1.5 }),
  },
  // reportSurface
  {
    name: "surface ragged",
    field: "matrix",
    call: (m) => m.reportSurface({ title: "s", series: "s", matrix: [[1, 2], [3]] }),
  },
  {
    name: "surface ylabels count",
    field: "ylabels",
    call: (m) => m.reportSurface({ title: "s", series: "s", matrix: [[1, 2]], ylabels: [] }),
  },
  {
    name: "surface camera",
    field: "camera",
    call: (m) =>
      m.reportSurface({ title: "s", series: "s", matrix: [[1]], camera: [1, 2] as never }),
  },
  {
    name: "surface null cell",
    field: "matrix",
    call: (m) => m.reportSurface({ title: "s", series: "s", matrix: [[null as never]] }),
  },
  {
    name: "surface empty title",
    field: "title",
    call: (m) => m.reportSurface({ title: "", series: "s", matrix: [[1]] }),
  },
  {
    name: "surface iteration 1.5",
    field: "iteration",
    call: (m) => m.reportSurface({ title: "s", series: "s", matrix: [[1]], iteration: 1.5 }),
  },
];

Deno.test("bad report input throws InvalidArgumentError naming the field and writes nothing", async (t) => {
  await withTask(async (store, task, home) => {
    const csvPath = await writeFile(home, "ok.csv", "a,b\n1,2\n");
    const RAGGED = "a,b\n1,2\n3\n";
    const raggedPath = await writeFile(home, "ragged.csv", RAGGED);
    const server = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/t.csv") return new Response("a,b\n1,2\n");
      if (path === "/ragged.csv") return new Response(RAGGED);
      return new Response("not found", { status: 404 });
    });
    try {
      const ctx: BadContext = {
        csvPath,
        url: `${server.url}/t.csv`,
        missing: join(home, "missing.csv"),
        raggedPath,
        raggedUrl: `${server.url}/ragged.csv`,
      };
      // The calls covered by the issue, on a created model and on a floating output model.
      const created = await handle("Model", store, task);
      await created.reportScalar("loss", "train", 1, 0);
      await created.reportHistogram({ title: "h", series: "s", values: [1] });
      const floating = new OutputModel({ task, name: "stays-floating" });
      for (const [label, m] of [["created", created], ["floating", floating]] as const) {
        for (const c of BAD) {
          await t.step(`${label}: ${c.name} -> ${c.field}`, async () => {
            await store.flush();
            const before = { dump: await store.dump(), events: await eventCount(store) };
            let err: unknown;
            let sync = true;
            try {
              const r = c.call(m, ctx);
              if (r instanceof Promise) {
                sync = false;
                await r;
              }
            } catch (e) {
              err = e;
            }
            assert.ok(err instanceof InvalidArgumentError, `${c.name}: got ${err}`);
            assert.ok(err instanceof ModelogError);
            assert.equal(err.code, "INVALID_ARGUMENT");
            assert.equal(err.field, c.field, err.message);
            assert.ok(err.message.length > 0);
            // reportTable (which may read a file or URL) rejects; the others throw at once.
            assert.equal(sync, !c.name.startsWith("table"), c.name);
            assert.equal(store.pendingReports, 0);
            await store.flush();
            assert.deepEqual(await store.dump(), before.dump);
            assert.equal(await eventCount(store), before.events);
          });
        }
      }
      assert.equal(floating.exists, false);
      // The good reports before are intact.
      assert.deepEqual(await created.getReportedScalars(), { loss: { train: { x: [0], y: [1] } } });
    } finally {
      await server.close();
    }
  });
});

// ------------------------------------------------------------------------------ exit

async function runChild(
  home: string,
  mode: "normal" | "exit",
  n: number,
  flushMs: number,
): Promise<{ modelId: string; code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, home, mode, String(n), String(flushMs)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const modelId = /model ([0-9a-f]{32})/.exec(stdout)?.[1];
  assert.ok(modelId, `child printed its model id: ${stdout}\n${stderr}`);
  return { modelId, code: out.code, stderr };
}

function expectBatch(
  scalars: Record<string, Record<string, { x: number[]; y: number[] }>>,
  tag: string,
  n: number,
): void {
  const s = scalars[`loss-${tag}`];
  assert.ok(s, `batch ${tag} is stored`);
  const x = Array.from({ length: n }, (_, i) => i);
  assert.deepEqual(s.train!.x, x);
  assert.deepEqual(s.train!.y, x.map((i) => i / n));
  assert.deepEqual(s.val!.y, x.map((i) => (i % 7 === 3 ? NaN : 1 - i / n)));
}

Deno.test("a program that ends normally without flush() or close() still writes every report", async () => {
  await withTempDir(async (home) => {
    // 2 × 30,000 points: more than one background batch (20,000) is in flight at exit.
    const n = 30_000;
    const { modelId, code, stderr } = await runChild(home, "normal", n, 1000);
    assert.equal(code, 0, stderr);
    assert.equal(stderr.trim(), "");
    const store = await openStore({ home });
    try {
      const m = await Model.get(modelId, { store });
      assert.equal(m.name, "child-normal"); // the floating model was created by its reports
      expectBatch(await m.getReportedScalars(), "a", n);
      assert.deepEqual(await m.getReportedSingleValues(), { "final-a": n });
      assert.deepEqual((await m.getReportedPlots()).map((p) => p.title), ["hist-a", "scatter-a"]);
      const sum = (await m.getScalarSummary()).find((s) => s.series === "train")!;
      assert.equal(sum.count, n);
    } finally {
      await store.close();
    }
  });
});

Deno.test("Deno.exit() right after reporting loses only the reports of the last reportFlushMs", async () => {
  await withTempDir(async (home) => {
    // Documented in store.ts: Deno.exit() skips beforeunload, so reports still queued are lost;
    // everything queued more than reportFlushMs earlier has been written by the timer.
    const n = 2_000;
    const { modelId, code, stderr } = await runChild(home, "exit", n, 100);
    assert.equal(code, 0, stderr);
    const store = await openStore({ home });
    try {
      const m = await Model.get(modelId, { store });
      const scalars = await m.getReportedScalars();
      expectBatch(scalars, "a", n);
      assert.equal(scalars["loss-b"], undefined, "batch b, queued just before Deno.exit, is lost");
      assert.deepEqual(await m.getReportedSingleValues(), { "final-a": n });
      assert.deepEqual((await m.getReportedPlots()).map((p) => p.title), ["hist-a", "scatter-a"]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("reports keep the time they were reported, so history() puts them before a later publish", async () => {
  await withTask(async (_store, task) => {
    const m = new OutputModel({ task, name: "timed" });
    await m.setMetadata("k", 1);
    m.reportScalar("loss", "train", 0.5, 1);
    m.reportHistogram({ title: "h", series: "s", values: [1, 2] });
    await m.publish();
    await m.flush();
    const types = (await m.history()).map((h) => h.type);
    assert.deepEqual(
      types,
      [
        "model.published",
        "metric.plot",
        "metric.scalars",
        "model.metadata_changed",
        "model.created",
      ],
    );
  });
});
