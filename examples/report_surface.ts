/**
 * Seed page, "Attach Additional Data": `reportSurface` plots a matrix as a 3-D surface.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_surface.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report surface" });
const model = new OutputModel({ task, name: "surface example" });

// surface_matrix = np.random.randint(10, size=(10, 10))
const surfaceMatrix = Array.from(
  { length: 10 },
  () => Array.from({ length: 10 }, () => Math.floor(Math.random() * 10)),
);

await model.reportSurface({
  title: "example surface",
  series: "series",
  iteration: 0,
  matrix: surfaceMatrix,
  xaxis: "title X",
  yaxis: "title Y",
  zaxis: "title Z",
  camera: [1, 1, 1],
});

const [plot] = await model.getReportedPlots({ title: "example surface" });
console.log(
  `${plot!.kind}: ${(plot!.figure.data[0] as { type: string }).type}, title "${
    plot!.figure.layout.title
  }"`,
);

await task.close();
await (await getDefaultStore()).close();
