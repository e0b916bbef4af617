/**
 * Seed page, "Attach Additional Data": `reportConfusionMatrix` plots a heat-map matrix;
 * `reportMatrix` is the same without `comment`.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_confusion_matrix.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report confusion matrix" });
const model = new OutputModel({ task, name: "confusion matrix example" });

// confusion = np.random.randint(10, size=(10, 10))
const matrix = Array.from(
  { length: 10 },
  () => Array.from({ length: 10 }, () => Math.floor(Math.random() * 10)),
);
const classes = Array.from({ length: 10 }, (_, i) => `class ${i}`);

await model.reportConfusionMatrix({
  title: "example confusion matrix",
  series: "ignored",
  iteration: 1,
  matrix,
  xaxis: "title X",
  yaxis: "title Y",
  xlabels: classes,
  ylabels: classes,
  yaxisReversed: true,
  comment: "rows: truth, columns: prediction",
});
await model.reportMatrix({ title: "example matrix", series: "ignored", iteration: 1, matrix });

for (const p of await model.getReportedPlots()) {
  const z = (p.figure.data[0] as { z: number[][] }).z;
  console.log(`${p.kind} ${p.title}: ${z.length}x${z[0]!.length}`);
}

await task.close();
await (await getDefaultStore()).close();
