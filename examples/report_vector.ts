/**
 * Seed page, "Attach Additional Data": `reportVector` plots a vector as a bar chart (grouped by
 * default, like ClearML, whatever its docstring says).
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_vector.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report vector" });
const model = new OutputModel({ task, name: "vector example" });

const randomInts = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10));
const vectorSeries = [randomInts(5), randomInts(5)];

await model.reportVector({
  title: "vector example",
  series: "vector series",
  values: vectorSeries,
  iteration: 0,
  labels: ["A", "B"],
  xaxis: "X axis label",
  yaxis: "Y axis label",
  extraLayout: { showlegend: false, plot_bgcolor: "yellow" },
});

const [plot] = await model.getReportedPlots({ title: "vector example" });
console.log(
  `${plot!.kind}: barmode ${plot!.figure.layout.barmode}, ${plot!.figure.data.length} traces`,
);

await task.close();
await (await getDefaultStore()).close();
