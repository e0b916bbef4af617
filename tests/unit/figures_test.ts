import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../lib/errors.ts";
import { decodeData, encodeData } from "../../lib/events.ts";
import {
  confusionMatrixFigure,
  deepMerge,
  downsample,
  histogramFigure,
  linePlotFigure,
  scalarsFigure,
  scatter2dFigure,
  scatter3dFigure,
  surfaceFigure,
  tableFigure,
  vectorFigure,
} from "../../lib/reports/figures.ts";
import { parseCsvTable, scalarsToCsv } from "../../lib/reports/csv.ts";

/** Asserts that `fn` throws an InvalidArgumentError naming `field`. */
function assertInvalid(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${e}`);
    assert.equal(e.field, field, e.message);
    assert.equal(e.code, "INVALID_ARGUMENT");
    return true;
  });
}

const COLORSCALE = [
  [0, "rgb(71, 17, 100)"],
  [0.1, "rgb(53, 92, 140)"],
  [0.2, "rgb(37, 139, 141)"],
  [0.6, "rgb(66, 189, 112)"],
  [0.9, "rgb(141, 214, 68)"],
  [1.0, "rgb(221, 226, 24)"],
];
const COLORBAR = { tick0: 0, tickmode: "array", tickvals: [0.1, 0.2, 0.6, 0.9, 1.0] };
const SPIKE_AXIS = {
  showspikes: true,
  spikethickness: 1,
  spikesnap: "cursor",
  spikemode: "toaxis+across",
};

// ------------------------------------------------------------------------------------------------
// Histogram and vector

Deno.test("histogramFigure() builds ClearML's grouped bar chart with one trace per row", () => {
  const p = histogramFigure({
    title: "histogram example",
    series: "histogram series",
    values: [[1, 2, 3], [4, 5, 6]],
    iteration: 3,
    labels: ["A", "B"],
    xaxis: "X axis label",
    yaxis: "Y axis label",
  });
  assert.deepEqual(p, {
    kind: "histogram",
    title: "histogram example",
    series: "histogram series",
    iteration: 3,
    figure: {
      data: [
        { name: "A", y: [1, 2, 3], x: [0, 1, 2], type: "bar" },
        { name: "B", y: [4, 5, 6], x: [0, 1, 2], type: "bar" },
      ],
      layout: {
        title: "histogram series",
        xaxis: { title: "X axis label" },
        yaxis: { title: "Y axis label" },
        barmode: "group",
        bargap: 0.08,
        bargroupgap: 0,
      },
    },
  });
});

Deno.test("histogramFigure() without labels names every trace after the series and titles by title", () => {
  const p = histogramFigure({ title: "t", series: "s", values: new Float32Array([0.5, 1.5]) });
  assert.equal(p.iteration, 0);
  assert.deepEqual(p.figure, {
    data: [{ name: "s", y: [0.5, 1.5], x: [0, 1], type: "bar" }],
    layout: {
      title: "t",
      xaxis: { title: null },
      yaxis: { title: null },
      barmode: "group",
      bargap: 0.08,
      bargroupgap: 0,
    },
  });
});

Deno.test("histogramFigure() with xlabels broadcasts one label and uses xlabels as x", () => {
  const one = histogramFigure({
    title: "t",
    series: "s",
    values: [new Int32Array([1, 2]), new Int32Array([3, 4])],
    labels: ["only"],
    xlabels: ["lo", "hi"],
  });
  assert.deepEqual(one.figure.data, [
    { name: "only", y: [1, 2], x: ["lo", "hi"], type: "bar" },
    { name: "only", y: [3, 4], x: ["lo", "hi"], type: "bar" },
  ]);
  const none = histogramFigure({ title: "t", series: "s", values: [[1, 2]], xlabels: ["a", "b"] });
  assert.deepEqual(none.figure.data, [{ name: "s", y: [1, 2], x: ["a", "b"], type: "bar" }]);
  assert.equal(none.figure.layout.title, "t");
  const two = histogramFigure({
    title: "t",
    series: "s",
    values: [[1, 2], [3, 4]],
    labels: ["a", "b"],
    xlabels: ["x", "y"],
  });
  assert.deepEqual(two.figure.data.map((d) => (d as { name: string }).name), ["a", "b"]);
});

Deno.test("histogramFigure() applies mode, dataArgs (shallow) and extraLayout (deep)", () => {
  const p = histogramFigure({
    title: "t",
    series: "s",
    values: [1],
    mode: "stack",
    dataArgs: { orientation: "h", marker: { color: "blue" } },
    extraLayout: { xaxis: { type: "log" }, height: 600 },
    xaxis: "x",
  });
  assert.deepEqual(p.figure.data, [
    { name: "s", y: [1], x: [0], type: "bar", orientation: "h", marker: { color: "blue" } },
  ]);
  assert.deepEqual(p.figure.layout, {
    title: "t",
    xaxis: { title: "x", type: "log" },
    yaxis: { title: null },
    barmode: "stack",
    bargap: 0.08,
    bargroupgap: 0,
    height: 600,
  });
  assert.equal(
    histogramFigure({ title: "t", series: "s", values: [1], mode: "relative" })
      .figure.layout.barmode,
    "relative",
  );
});

Deno.test("histogramFigure() keeps NaN and Infinity as numbers", () => {
  const p = histogramFigure({ title: "t", series: "s", values: [NaN, Infinity, -Infinity] });
  const y = (p.figure.data[0] as { y: number[] }).y;
  assert.deepEqual(y, [NaN, Infinity, -Infinity]);
  assert.deepEqual(decodeData(encodeData(p)), p);
});

Deno.test("histogramFigure() rejects bad input naming the argument", async (t) => {
  const ok = { title: "t", series: "s", values: [[1, 2], [3, 4]] };
  const cases: [string, Record<string, unknown>, string][] = [
    ["empty title", { title: "" }, "title"],
    ["non-string title", { title: 5 }, "title"],
    ["empty series", { series: "" }, "series"],
    ["ragged rows", { values: [[1, 2], [3]] }, "values"],
    ["string value", { values: [1, "2"] }, "values"],
    ["null value", { values: [[1, null], [2, 3]] }, "values"],
    ["undefined value", { values: [1, undefined] }, "values"],
    ["boolean value", { values: [true] }, "values"],
    ["non-array values", { values: 3 }, "values"],
    ["label count vs rows", { labels: ["a"] }, "labels"],
    [
      "label count vs rows with xlabels",
      { labels: ["a", "b", "c"], xlabels: ["x", "y"] },
      "labels",
    ],
    ["xlabels count vs columns", { xlabels: ["x"] }, "xlabels"],
    ["non-string labels", { labels: [1, 2] }, "labels"],
    ["non-integer iteration", { iteration: 1.5 }, "iteration"],
    ["string iteration", { iteration: "1" }, "iteration"],
    ["unknown mode", { mode: "overlay" }, "mode"],
    ["non-object dataArgs", { dataArgs: [1] }, "dataArgs"],
    ["non-object extraLayout", { extraLayout: "x" }, "extraLayout"],
    ["non-string xaxis", { xaxis: 1 }, "xaxis"],
  ];
  for (const [name, patch, field] of cases) {
    await t.step(
      name,
      () => assertInvalid(() => histogramFigure({ ...ok, ...patch } as never), field),
    );
  }
});

Deno.test("vectorFigure() is the same grouped bar chart with kind vector and no dataArgs", () => {
  const o = { title: "v", series: "s", values: [[1, 2], [3, 4]], labels: ["a", "b"] };
  const v = vectorFigure(o);
  const h = histogramFigure(o);
  assert.equal(v.kind, "vector");
  assert.deepEqual(v.figure, h.figure);
  assert.equal(v.figure.layout.barmode, "group");
  assertInvalid(() => vectorFigure({ ...o, dataArgs: {} } as never), "dataArgs");
  assertInvalid(() => vectorFigure({ ...o, values: [[1], [2, 3]] }), "values");
});

// ------------------------------------------------------------------------------------------------
// Table

const TABLE_HEADER_STYLE = {
  align: "left",
  line: { width: 0.5, color: "#d4d6e0" },
  fill: { color: "#fff" },
  font: { family: "Heebo, verdana, arial, sans-serif", size: 12, color: "#333" },
};
const TABLE_CELL_STYLE = {
  height: 30,
  align: "left",
  line: { color: "white", width: 1 },
  font: { family: "Heebo, verdana, arial, sans-serif", size: 14, color: "#384161" },
};

Deno.test("tableFigure() transposes rows under a header row into a plotly table", () => {
  const p = tableFigure({
    title: "table example",
    series: "rows",
    iteration: 2,
    tablePlot: [["name", "legs"], ["falcon", 2], ["dog", 4]],
  });
  assert.deepEqual(p, {
    kind: "table",
    title: "table example",
    series: "rows",
    iteration: 2,
    figure: {
      data: [{
        type: "table",
        header: { values: ["name", "legs"], ...TABLE_HEADER_STYLE },
        cells: { values: [["falcon", "dog"], [2, 4]], ...TABLE_CELL_STYLE },
      }],
      layout: { "title.text": "table example", title: "rows" },
    },
  });
});

Deno.test("tableFigure() takes records (keys are the header) and CSV text (index column kept)", () => {
  const rec = tableFigure({
    title: "t",
    series: "s",
    tablePlot: [{ a: 1, b: "x" }, { a: 2, c: true }],
  });
  const trace = rec.figure.data[0] as {
    header: { values: unknown[] };
    cells: { values: unknown[] };
  };
  assert.deepEqual(trace.header.values, ["a", "b", "c"]);
  assert.deepEqual(trace.cells.values, [[1, 2], ["x", null], [null, true]]);

  const csv = tableFigure({
    title: "t",
    series: "s",
    csvText: ",num_legs,ratio\nfalcon,2,0.5\ndog,4,NaN\n",
    extraLayout: { height: 300 },
  });
  const ct = csv.figure.data[0] as { header: { values: unknown[] }; cells: { values: unknown[] } };
  // ClearML's CSV tables carry each header cell as a one-element list.
  assert.deepEqual(ct.header.values, [[""], ["num_legs"], ["ratio"]]);
  assert.deepEqual(ct.cells.values, [["falcon", "dog"], [2, 4], [0.5, NaN]]);
  assert.deepEqual(csv.figure.layout, { "title.text": "t", title: "s", height: 300 });

  const empty = tableFigure({ title: "t", series: "s", tablePlot: [] });
  const et = empty.figure.data[0] as {
    header: { values: unknown[] };
    cells: { values: unknown[] };
  };
  assert.deepEqual([et.header.values, et.cells.values], [[], []]);
});

Deno.test("tableFigure() requires exactly one of tablePlot, csvText or url", async (t) => {
  const base = { title: "t", series: "s" };
  await t.step("none", () => assertInvalid(() => tableFigure(base), "tablePlot"));
  await t.step("two", () =>
    assertInvalid(
      () => tableFigure({ ...base, tablePlot: [["a"]], csvText: "a\n1" }),
      "tablePlot/csvText",
    ));
  await t.step("three", () =>
    assertInvalid(
      () => tableFigure({ ...base, tablePlot: [["a"]], csvText: "a", url: "http://x/a.csv" }),
      "tablePlot/csvText/url",
    ));
  await t.step(
    "url alone is refused (builders never fetch)",
    () => assertInvalid(() => tableFigure({ ...base, url: "http://x/a.csv" }), "url"),
  );
  await t.step(
    "ragged rows",
    () => assertInvalid(() => tableFigure({ ...base, tablePlot: [["a", "b"], [1]] }), "tablePlot"),
  );
  await t.step(
    "object cell",
    () => assertInvalid(() => tableFigure({ ...base, tablePlot: [["a"], [{}]] }), "tablePlot"),
  );
  await t.step(
    "ragged CSV",
    () => assertInvalid(() => tableFigure({ ...base, csvText: "a,b\n1\n" }), "csvText"),
  );
  await t.step(
    "bad CSV",
    () => assertInvalid(() => tableFigure({ ...base, csvText: 'a\n"unclosed' }), "csvText"),
  );
  await t.step(
    "mixed rows and records",
    () =>
      assertInvalid(
        () => tableFigure({ ...base, tablePlot: [{ a: 1 }, [1]] as never }),
        "tablePlot",
      ),
  );
  await t.step(
    "iteration",
    () => assertInvalid(() => tableFigure({ ...base, tablePlot: [], iteration: NaN }), "iteration"),
  );
  await t.step(
    "title",
    () => assertInvalid(() => tableFigure({ ...base, title: "", tablePlot: [] }), "title"),
  );
});

// ------------------------------------------------------------------------------------------------
// Line plot and 2-D scatter

Deno.test('linePlotFigure() makes one scatter trace per series with variant ""', () => {
  const p = linePlotFigure({
    title: "pr",
    series: [
      { name: "a", data: [[0, 1], [1, NaN]], labels: ["p", "q"] },
      { name: "b", data: [new Float64Array([0, 2]), new Float64Array([1, Infinity])] },
    ],
    xaxis: "recall",
    yaxis: "precision",
    iteration: 7,
  });
  assert.deepEqual(p, {
    kind: "line",
    title: "pr",
    series: "",
    iteration: 7,
    figure: {
      data: [
        { name: "a", x: [0, 1], y: [1, NaN], mode: "lines", text: ["p", "q"], type: "scatter" },
        { name: "b", x: [0, 1], y: [2, Infinity], mode: "lines", text: null, type: "scatter" },
      ],
      layout: {
        title: "pr",
        xaxis: { title: "recall", ...SPIKE_AXIS },
        yaxis: { title: "precision", ...SPIKE_AXIS },
        name: null,
      },
    },
  });
});

Deno.test("linePlotFigure() applies mode, reverseXaxis, comment and extraLayout", () => {
  const p = linePlotFigure({
    title: "t",
    series: [{ name: "a", data: [[0, 1]] }],
    mode: "lines+markers",
    reverseXaxis: true,
    comment: "note",
    extraLayout: { xaxis: { type: "log" }, legend: { x: 0 } },
  });
  assert.equal((p.figure.data[0] as { mode: string }).mode, "lines+markers");
  assert.deepEqual(p.figure.layout, {
    title: "t<br><sup>note</sup>",
    xaxis: { title: null, ...SPIKE_AXIS, autorange: "reversed", type: "log" },
    yaxis: { title: null, ...SPIKE_AXIS },
    name: null,
    legend: { x: 0 },
  });
});

Deno.test("linePlotFigure() rejects bad input naming the argument", async (t) => {
  const s = [{ name: "a", data: [[0, 1], [1, 2]] }];
  const cases: [string, Record<string, unknown>, string][] = [
    ["empty title", { title: "" }, "title"],
    ["no series", { series: [] }, "series"],
    ["series not an array", { series: "a" }, "series"],
    ["series name", { series: [{ name: 1, data: [[0, 1]] }] }, "series[0].name"],
    ["point width", { series: [{ name: "a", data: [[0, 1, 2]] }] }, "series[0].data"],
    ["string in data", { series: [{ name: "a", data: [[0, "1"]] }] }, "series[0].data"],
    [
      "labels vs points",
      { series: [{ name: "a", data: [[0, 1]], labels: ["x", "y"] }] },
      "series[0].labels",
    ],
    ["mode", { mode: "line" }, "mode"],
    ["mode duplicate", { mode: "lines+lines" }, "mode"],
    ["reverseXaxis", { reverseXaxis: "yes" }, "reverseXaxis"],
    ["comment", { comment: 3 }, "comment"],
    ["iteration", { iteration: 0.1 }, "iteration"],
  ];
  for (const [name, patch, field] of cases) {
    await t.step(
      name,
      () =>
        assertInvalid(() => linePlotFigure({ title: "t", series: s, ...patch } as never), field),
    );
  }
});

Deno.test("scatter2dFigure() defaults to mode lines and names the trace after the series", () => {
  const p = scatter2dFigure({
    title: "example_scatter",
    series: "series",
    scatter: [[0, 1], [1, NaN], [2, -Infinity]],
    iteration: 1,
    xaxis: "title x",
    yaxis: "title y",
  });
  assert.deepEqual(p, {
    kind: "scatter2d",
    title: "example_scatter",
    series: "series",
    iteration: 1,
    figure: {
      data: [{
        name: "series",
        x: [0, 1, 2],
        y: [1, NaN, -Infinity],
        mode: "lines",
        text: null,
        type: "scatter",
      }],
      layout: {
        title: "example_scatter",
        xaxis: { title: "title x", ...SPIKE_AXIS },
        yaxis: { title: "title y", ...SPIKE_AXIS },
        name: null,
      },
    },
  });
});

Deno.test("scatter2dFigure() applies labels, mode, comment and extraLayout", () => {
  const p = scatter2dFigure({
    title: "t",
    series: "s",
    scatter: [new Float32Array([0, 0.5]), new Float32Array([1, 1.5])],
    labels: ["a", "b"],
    mode: "markers",
    comment: "c",
    extraLayout: { yaxis: { range: [0, 2] } },
  });
  assert.deepEqual(p.figure.data, [
    { name: "s", x: [0, 1], y: [0.5, 1.5], mode: "markers", text: ["a", "b"], type: "scatter" },
  ]);
  assert.equal(p.figure.layout.title, "t<br><sup>c</sup>");
  assert.deepEqual(p.figure.layout.yaxis, { title: null, ...SPIKE_AXIS, range: [0, 2] });
  assert.equal(
    (scatter2dFigure({ title: "t", series: "s", scatter: [], mode: "none" }).figure
      .data[0] as { mode: string }).mode,
    "none",
  );
});

Deno.test("scatter2dFigure() rejects bad input naming the argument", async (t) => {
  const ok = { title: "t", series: "s", scatter: [[0, 1], [1, 2]] };
  const cases: [string, Record<string, unknown>, string][] = [
    ["empty series", { series: "" }, "series"],
    ["Nx3", { scatter: [[0, 1, 2]] }, "scatter"],
    ["Nx1", { scatter: [[0]] }, "scatter"],
    ["1-D", { scatter: [0, 1] }, "scatter"],
    ["null in data", { scatter: [[0, null]] }, "scatter"],
    ["labels vs points", { labels: ["a"] }, "labels"],
    ["mode line", { mode: "line" }, "mode"],
    ["mode unknown", { mode: "bars" }, "mode"],
    ["extraLayout", { extraLayout: [] }, "extraLayout"],
    ["iteration", { iteration: Infinity }, "iteration"],
  ];
  for (const [name, patch, field] of cases) {
    await t.step(
      name,
      () => assertInvalid(() => scatter2dFigure({ ...ok, ...patch } as never), field),
    );
  }
});

// ------------------------------------------------------------------------------------------------
// 3-D scatter

const MARKER = { size: 5, line: { color: "rgba(217, 217, 217, 0.14)", width: 0.8 }, opacity: 0.8 };

Deno.test("scatter3dFigure() with one point set: trace name null, variant series", () => {
  const p = scatter3dFigure({
    title: "example_scatter_3d",
    series: "series_xyz",
    scatter: [[0, 1, 2], [3, 4, NaN]],
    iteration: 1,
    xaxis: "title x",
    yaxis: "title y",
    zaxis: "title z",
    labels: ["p", "q"],
    fill: true,
  });
  assert.deepEqual(p, {
    kind: "scatter3d",
    title: "example_scatter_3d",
    series: "series_xyz",
    iteration: 1,
    figure: {
      data: [{
        name: null,
        x: [0, 3],
        y: [1, 4],
        z: [2, NaN],
        text: ["p", "q"],
        type: "scatter3d",
        mode: "markers",
        marker: MARKER,
      }],
      layout: {
        showlegend: true,
        title: "example_scatter_3d",
        scene: {
          xaxis: { title: "title x" },
          yaxis: { title: "title y" },
          zaxis: { title: "title z" },
        },
        name: null,
      },
    },
  });
});

Deno.test('scatter3dFigure() with a list of point sets: one named trace each, variant ""', () => {
  const p = scatter3dFigure({
    title: "t",
    series: ["a", "b"],
    scatter: [[[0, 0, 0]], [new Float32Array([1, 1, 1]), new Float32Array([2, 2, 2])]],
    labels: [["x"], ["y", "z"]],
    mode: "lines+markers",
    comment: "c",
    extraLayout: { scene: { camera: { eye: { x: 2, y: 2, z: 2 } } } },
  });
  assert.equal(p.series, "");
  assert.deepEqual(p.figure.data, [
    {
      name: "a",
      x: [0],
      y: [0],
      z: [0],
      text: ["x"],
      type: "scatter3d",
      mode: "lines+markers",
      marker: MARKER,
    },
    {
      name: "b",
      x: [1, 2],
      y: [1, 2],
      z: [1, 2],
      text: ["y", "z"],
      type: "scatter3d",
      mode: "lines+markers",
      marker: MARKER,
    },
  ]);
  assert.deepEqual(p.figure.layout, {
    showlegend: true,
    title: "t<br><sup>c</sup>",
    scene: {
      xaxis: { title: null },
      yaxis: { title: null },
      zaxis: { title: null },
      camera: { eye: { x: 2, y: 2, z: 2 } },
    },
    name: null,
  });
  const shared = scatter3dFigure({
    title: "t",
    series: ["a", "b"],
    scatter: [[[0, 0, 0]], [[1, 1, 1]]],
    labels: ["same"],
  });
  assert.deepEqual(shared.figure.data.map((d) => (d as { text: unknown }).text), [["same"], [
    "same",
  ]]);
});

Deno.test("scatter3dFigure() rejects bad input naming the argument", async (t) => {
  const ok = { title: "t", series: "s", scatter: [[0, 1, 2]] };
  const cases: [string, Record<string, unknown>, string][] = [
    ["Nx2", { scatter: [[0, 1]] }, "scatter"],
    ["string in data", { scatter: [[0, 1, "2"]] }, "scatter"],
    ["labels vs points", { labels: ["a", "b"] }, "labels"],
    ["series string for a list", { scatter: [[[0, 1, 2]], [[0, 1, 2]]] }, "series"],
    ["series count", { series: ["a"], scatter: [[[0, 1, 2]], [[0, 1, 2]]] }, "series"],
    ["series array for one set", { series: ["a"] }, "series"],
    ["label lists count", {
      series: ["a", "b"],
      scatter: [[[0, 1, 2]], [[0, 1, 2]]],
      labels: [["x"]],
    }, "labels"],
    ["mode", { mode: "line" }, "mode"],
    ["fill", { fill: "yes" }, "fill"],
    ["zaxis", { zaxis: 1 }, "zaxis"],
    ["iteration", { iteration: -0.5 }, "iteration"],
  ];
  for (const [name, patch, field] of cases) {
    await t.step(
      name,
      () => assertInvalid(() => scatter3dFigure({ ...ok, ...patch } as never), field),
    );
  }
});

// ------------------------------------------------------------------------------------------------
// Confusion matrix and matrix

Deno.test("confusionMatrixFigure() builds a heatmap with the custom colour scale", () => {
  const p = confusionMatrixFigure({
    title: "example confusion matrix",
    series: "ignored",
    matrix: [[1, 2], [3, NaN]],
    iteration: 1,
    xaxis: "title X",
    yaxis: "title Y",
  });
  assert.deepEqual(p, {
    kind: "confusion_matrix",
    title: "example confusion matrix",
    series: "ignored",
    iteration: 1,
    figure: {
      data: [{
        x: null,
        y: null,
        z: [[1, 2], [3, NaN]],
        type: "heatmap",
        colorscale: COLORSCALE,
        colorbar: COLORBAR,
      }],
      layout: {
        showlegend: true,
        title: "example confusion matrix",
        xaxis: { title: "title X" },
        yaxis: { title: "title Y" },
        name: "ignored",
      },
    },
  });
});

Deno.test("confusionMatrixFigure() applies labels, yaxisReversed, comment; extraLayout goes to trace and layout", () => {
  const p = confusionMatrixFigure({
    title: "cm",
    series: "s",
    matrix: [new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])],
    xlabels: ["a", "b", "c"],
    ylabels: ["r1", "r2"],
    yaxisReversed: true,
    comment: "c",
    extraLayout: { zmin: 0, xaxis: { side: "top" } },
  });
  assert.deepEqual(p.figure, {
    data: [{
      x: ["a", "b", "c"],
      y: ["r1", "r2"],
      z: [[1, 2, 3], [4, 5, 6]],
      type: "heatmap",
      zmin: 0,
      xaxis: { side: "top" },
    }],
    layout: {
      showlegend: true,
      title: "cm<br><sup>c</sup>",
      xaxis: { title: null, side: "top" },
      yaxis: { title: null, autorange: "reversed" },
      name: "s",
      zmin: 0,
    },
  });
  const m = confusionMatrixFigure({ title: "m", series: "s", matrix: [[1]] }, "matrix");
  assert.equal(m.kind, "matrix");
});

Deno.test("confusionMatrixFigure() rejects bad input naming the argument", async (t) => {
  const ok = { title: "t", series: "s", matrix: [[1, 2], [3, 4]] };
  const cases: [string, Record<string, unknown>, string][] = [
    ["ragged", { matrix: [[1, 2], [3]] }, "matrix"],
    ["1-D", { matrix: [1, 2] }, "matrix"],
    ["empty", { matrix: [] }, "matrix"],
    ["empty row", { matrix: [[]] }, "matrix"],
    ["string", { matrix: [[1, "2"], [3, 4]] }, "matrix"],
    ["undefined", { matrix: [[1, undefined], [3, 4]] }, "matrix"],
    ["xlabels vs columns", { xlabels: ["a"] }, "xlabels"],
    ["ylabels vs rows", { ylabels: ["a", "b", "c"] }, "ylabels"],
    ["yaxisReversed", { yaxisReversed: 1 }, "yaxisReversed"],
    ["series", { series: null }, "series"],
    ["iteration", { iteration: "3" }, "iteration"],
  ];
  for (const [name, patch, field] of cases) {
    await t.step(
      name,
      () => assertInvalid(() => confusionMatrixFigure({ ...ok, ...patch } as never), field),
    );
  }
  await t.step(
    "kind",
    () => assertInvalid(() => confusionMatrixFigure(ok, "heatmap" as never), "kind"),
  );
});

// ------------------------------------------------------------------------------------------------
// Surface

Deno.test("surfaceFigure() builds ClearML's surface titled title/series", () => {
  const p = surfaceFigure({
    title: "example surface",
    series: "series",
    matrix: [[1, 2], [3, 4]],
    iteration: 0,
    xaxis: "title X",
    yaxis: "title Y",
    zaxis: "title Z",
  });
  assert.deepEqual(p, {
    kind: "surface",
    title: "example surface",
    series: "series",
    iteration: 0,
    figure: {
      data: [{
        z: [[1, 2], [3, 4]],
        type: "surface",
        contours: { y: { show: false, highlightcolor: "#fff4ff", project: { y: true } } },
        showscale: false,
        colorscale: COLORSCALE,
        colorbar: COLORBAR,
      }],
      layout: {
        scene: {
          xaxis: { title: "title X", showgrid: false, nticks: 10, ticktext: null, tickvals: null },
          yaxis: { title: "title Y", showgrid: false, nticks: 10, ticktext: null, tickvals: null },
          zaxis: { title: "title Z", nticks: 5 },
        },
        showlegend: false,
        title: "example surface/series",
        name: "series",
      },
    },
  });
});

Deno.test("surfaceFigure() applies labels, camera (array or object), comment and extraLayout", () => {
  const p = surfaceFigure({
    title: "t",
    series: "s",
    matrix: [new Float64Array([1, 2, Infinity])],
    xlabels: ["a", "b", "c"],
    ylabels: ["r"],
    camera: [1, 2, 3],
    comment: "c",
    extraLayout: { scene: { zaxis: { type: "log" } } },
  });
  assert.deepEqual(p.figure.layout, {
    scene: {
      xaxis: {
        title: null,
        showgrid: false,
        nticks: 10,
        ticktext: ["a", "b", "c"],
        tickvals: [0, 1, 2],
      },
      yaxis: { title: null, showgrid: false, nticks: 10, ticktext: ["r"], tickvals: [0] },
      zaxis: { title: null, nticks: 5, type: "log" },
      camera: { eye: { x: 1, y: 2, z: 3 } },
    },
    showlegend: false,
    title: "t/s<br><sup>c</sup>",
    name: "s",
  });
  assert.deepEqual((p.figure.data[0] as { z: unknown }).z, [[1, 2, Infinity]]);
  const o = surfaceFigure({ title: "t", series: "s", matrix: [[1]], camera: { x: 4, y: 5, z: 6 } });
  assert.deepEqual((o.figure.layout.scene as { camera: unknown }).camera, {
    eye: { x: 4, y: 5, z: 6 },
  });
});

Deno.test("surfaceFigure() rejects bad input naming the argument", async (t) => {
  const ok = { title: "t", series: "s", matrix: [[1, 2], [3, 4]] };
  const cases: [string, Record<string, unknown>, string][] = [
    ["ragged", { matrix: [[1, 2], [3]] }, "matrix"],
    ["null", { matrix: [[1, null], [3, 4]] }, "matrix"],
    ["xlabels", { xlabels: ["a", "b", "c"] }, "xlabels"],
    ["ylabels", { ylabels: ["a"] }, "ylabels"],
    ["camera short", { camera: [1, 2] }, "camera"],
    ["camera NaN", { camera: [1, 2, NaN] }, "camera"],
    ["camera object", { camera: { x: 1, y: 2 } }, "camera"],
    ["title", { title: "" }, "title"],
    ["extraLayout", { extraLayout: 5 }, "extraLayout"],
  ];
  for (const [name, patch, field] of cases) {
    await t.step(
      name,
      () => assertInvalid(() => surfaceFigure({ ...ok, ...patch } as never), field),
    );
  }
});

// ------------------------------------------------------------------------------------------------
// Merge, scalars, down-sampling

Deno.test("deepMerge() merges objects recursively, replaces arrays and values, copies", () => {
  const a = { x: { a: 1, b: [1, 2], c: { d: 1 } }, y: 1 };
  const b = { x: { b: [3], c: { e: 2 } }, y: { z: 1 }, w: undefined, n: null };
  const m = deepMerge(a, b);
  assert.deepEqual(m, { x: { a: 1, b: [3], c: { d: 1, e: 2 } }, y: { z: 1 }, n: null });
  assert.deepEqual(a, { x: { a: 1, b: [1, 2], c: { d: 1 } }, y: 1 });
  (m.x as { b: number[] }).b.push(4);
  assert.deepEqual(b.x.b, [3]);
  const evil = JSON.parse('{"__proto__": {"polluted": true}}');
  const safe = deepMerge({}, evil);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(safe), Object.prototype);
});

Deno.test("scalarsFigure() draws one line per series and notes down-sampling in the title", () => {
  const f = scalarsFigure("loss", [
    { name: "train", x: [0, 1, 2], y: [1, NaN, Infinity] },
    { name: "val", x: [0, 2], y: [2, 1], downsampledFrom: 9000 },
  ]);
  assert.deepEqual(f.data, [
    { type: "scatter", mode: "lines", name: "train", x: [0, 1, 2], y: [1, NaN, Infinity] },
    { type: "scatter", mode: "lines", name: "val", x: [0, 2], y: [2, 1] },
  ]);
  assert.deepEqual(f.layout.title, { text: "loss (downsampled from 9000 points)" });
  assert.deepEqual(scalarsFigure("a", []).layout.title, { text: "a" });
  assertInvalid(() => scalarsFigure("", []), "title");
  assertInvalid(() => scalarsFigure("a", [{ name: "s", x: [0, 1], y: [1] }]), "series[0].y");
  assertInvalid(
    () => scalarsFigure("a", [{ name: "s", x: [0], y: ["1" as never] }]),
    "series[0].y",
  );
});

Deno.test("downsample() keeps first, last and the min/max of each bucket", () => {
  const x = Array.from({ length: 10_000 }, (_, i) => i);
  const y = x.map((i) => (i === 4321 ? 1000 : i === 777 ? -1000 : Math.sin(i)));
  const d = downsample(x, y, 100);
  assert.ok(d.x.length <= 100);
  assert.equal(d.x.length, d.y.length);
  assert.equal(d.x[0], 0);
  assert.equal(d.x.at(-1), 9999);
  assert.ok(d.y.includes(1000) && d.y.includes(-1000));
  assert.ok(d.x.every((v, i) => i === 0 || v > d.x[i - 1]), "x stays in order");
  for (let i = 0; i < d.x.length; i++) assert.equal(d.y[i], y[d.x[i]]);
  // short series are returned as copies
  const s = downsample([1, 2], [3, 4], 5);
  assert.deepEqual(s, { x: [1, 2], y: [3, 4] });
  // NaN is ignored in a bucket unless the whole bucket is NaN
  const nx = Array.from({ length: 12 }, (_, i) => i);
  const ny = [0, NaN, NaN, NaN, NaN, NaN, 5, 1, 9, 2, 3, 0];
  const nd = downsample(nx, ny, 6);
  assert.deepEqual(nd.x, [0, 1, 7, 8, 11]);
  assert.deepEqual(nd.y, [0, NaN, 1, 9, 0]);
  assert.deepEqual(downsample(nx, ny, 2).x, [0, 11]);
  assertInvalid(() => downsample([1], [1], 1), "maxPoints");
  assertInvalid(() => downsample([1, 2], [1], 5), "y");
});

// ------------------------------------------------------------------------------------------------
// CSV

Deno.test("scalarsToCsv() writes the header, quotes fields and keeps NaN/Infinity", () => {
  const csv = scalarsToCsv([
    { title: "loss", series: "train", iteration: 0, value: 0.5 },
    { title: "a,b", series: 'say "hi"', iteration: 1, value: NaN },
    { title: "x", series: "y", iteration: 2, value: Infinity },
    { title: "x", series: "y", iteration: 3, value: -Infinity },
  ]);
  assert.equal(
    csv,
    'title,series,iteration,value\nloss,train,0,0.5\n"a,b","say ""hi""",1,NaN\n' +
      "x,y,2,Infinity\nx,y,3,-Infinity\n",
  );
  assert.equal(scalarsToCsv([]), "title,series,iteration,value\n");
  assertInvalid(
    () => scalarsToCsv([{ title: "a", series: "b", iteration: 1.5, value: 1 }]),
    "rows[0].iteration",
  );
  assertInvalid(
    () => scalarsToCsv([{ title: "a", series: "b", iteration: 1, value: "1" as never }]),
    "rows[0].value",
  );
});

Deno.test("parseCsvTable() parses quoted CSV into rows of strings", () => {
  assert.deepEqual(parseCsvTable('a,b\n1,"x,y"\n\n2,"say ""hi"""\n'), [
    ["a", "b"],
    ["1", "x,y"],
    ["2", 'say "hi"'],
  ]);
  assert.deepEqual(
    parseCsvTable(scalarsToCsv([{ title: "t", series: "s", iteration: 1, value: NaN }])),
    [
      ["title", "series", "iteration", "value"],
      ["t", "s", "1", "NaN"],
    ],
  );
  assertInvalid(() => parseCsvTable('"unclosed'), "text");
  assertInvalid(() => parseCsvTable(5 as never), "text");
});
