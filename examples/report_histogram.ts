/**
 * Seed page, "Attach Additional Data": `reportHistogram` plots an already computed histogram
 * (grouped bars by default), one trace per row of `values`.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_histogram.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report histogram" });
const model = new OutputModel({ task, name: "histogram example" });

// vector_series = np.random.randint(10, size=10).reshape(2,5)
const randomInts = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10));
const vectorSeries = [randomInts(5), randomInts(5)];

await model.reportHistogram({
  title: "histogram example",
  series: "histogram series",
  values: vectorSeries,
  iteration: 0,
  labels: ["A", "B"],
  xaxis: "X axis label",
  yaxis: "Y axis label",
});
// Options passed straight to plotly: horizontal bars, stacked.
await model.reportHistogram({
  title: "histogram example",
  series: "horizontal",
  values: randomInts(5),
  iteration: 0,
  xlabels: ["a", "b", "c", "d", "e"],
  mode: "stack",
  dataArgs: { orientation: "h", marker: { color: "blue" } },
});

const plots = await model.getReportedPlots({ title: "histogram example" });
for (const p of plots) {
  console.log(`${p.kind} ${p.title}/${p.series}: ${p.figure.data.length} trace(s)`);
}

await task.close();
await (await getDefaultStore()).close();
