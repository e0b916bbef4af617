/**
 * Seed page, "Attach Additional Data": `reportLinePlot` draws one or more series as lines.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_line_plot.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report line plot" });
const model = new OutputModel({ task, name: "line plot example" });

const xs = Array.from({ length: 20 }, (_, i) => i / 2);
await model.reportLinePlot({
  title: "line plot example",
  series: [
    { name: "sin", data: xs.map((x) => [x, Math.sin(x)]) },
    { name: "cos", data: xs.map((x) => [x, Math.cos(x)]), labels: xs.map((x) => `x=${x}`) },
  ],
  xaxis: "x",
  yaxis: "value",
  mode: "lines+markers",
  iteration: 0,
  reverseXaxis: false,
  comment: "two series on one plot",
});

const [plot] = await model.getReportedPlots({ title: "line plot example" });
const names = (plot!.figure.data as { name: string }[]).map((t) => t.name);
console.log(`line plot: traces ${names.join(", ")}`);

await task.close();
await (await getDefaultStore()).close();
