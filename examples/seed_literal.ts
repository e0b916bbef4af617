/**
 * Every code sample of ClearML's model page and of its `report_*` docstrings, translated
 * literally: `None` becomes `null`, keyword arguments become an options object, and the
 * docstrings' `(title, series, keyword=...)` calls keep their positional title and series.
 * numpy arrays become plain arrays; the weights file and the imported URL are made locally so
 * the script runs offline. The other examples show each section at more length.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/seed_literal.ts`
 *
 * @module
 */
import { getDefaultStore, InputModel, Model, OutputModel, Task } from "../mod.ts";
import { join } from "node:path";

const work = await Deno.makeTempDir({ prefix: "modelog-seed-" });
const randint = (n: number, size: number) =>
  Array.from({ length: size }, () => Math.floor(Math.random() * n));
const reshape = (a: number[], rows: number) => {
  const cols = a.length / rows;
  return Array.from({ length: rows }, (_, r) => a.slice(r * cols, (r + 1) * cols));
};

// --- Manually logging models
// task = Task.init(project_name="myProject", task_name="myTask")
const task = await Task.init({ projectName: "myProject", taskName: "myTask" });
// output_model = OutputModel(task=task, framework="PyTorch")
const output_model = new OutputModel({ task: task, framework: "PyTorch" });
// output_model.set_upload_destination(uri=models_upload_destination)
const models_upload_destination = join(work, "uploads");
await output_model.setUploadDestination(models_upload_destination);
// output_model.update_labels({'background': 0, 'label': 255})
await output_model.updateLabels({ "background": 0, "label": 255 });

// --- Updating models
await Deno.mkdir(join(work, "models"));
await Deno.writeFile(join(work, "models/model.pth"), new Uint8Array([1, 2, 3, 4]));
const val_log = { iou: 0.8 }, best_iou = 0.5;
if (val_log["iou"] > best_iou) {
  // output_model.update_weights(weights_filename='models/model.pth')
  await output_model.updateWeights({ weightsFilename: join(work, "models/model.pth") });
}

// --- Using registered models
// input_model = InputModel(model_id="fd8b402e874549d6944eebd49e37eb7b")
const registered = output_model.id; // the seed's id is a model of its server; ours is this one
const input_model = new InputModel({ modelId: registered });
// task.connect(input_model)
await task.connect(input_model);
console.log("connected input:", input_model.name, Object.values(task.inputModelsId)[0]);

// --- Importing models
const server = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen() {} },
  () => new Response(new Uint8Array([9, 9, 9])),
);
const weights_url = `http://127.0.0.1:${server.addr.port}/models/model.pth`;
// task = Task.init(project_name="examples", task_name="example task")
const task2 = await Task.init({ projectName: "examples", taskName: "example task" });
const input_model2 = await InputModel.importModel({
  // Name for model in ClearML
  name: "Input Model with Network Design",
  // Import the model using a URL
  weightsUrl: weights_url,
  // Set label enumeration values
  labelEnumeration: {
    "person": 1,
    "car": 2,
    "truck": 3,
    "bus": 4,
    "motorcycle": 5,
    "bicycle": 6,
    "ignore": -1,
  },
  framework: "PyTorch",
});
// task.connect(input_model)
await task2.connect(input_model2);
await server.shutdown();

// --- Querying models
await input_model2.addTags(["demo"]);
const model_list = await Model.queryModels({
  // Only models from `examples` project
  projectName: "examples",
  // Only models with input name
  modelName: null,
  // Only models with `demo` tag but without `TF` tag
  tags: ["demo", "-TF"],
  // If `True`, only published models
  onlyPublished: false,
  // If `True`, include archived models
  includeArchived: true,
  // Maximum number of models returned
  maxResults: 5,
  // Only models with matching metadata
  metadata: null,
});
console.log("query:", model_list.map((m) => m.name).join(", "));
const with_metadata = await Model.queryModels({ metadata: { "key": "value" } });
console.log("metadata query:", with_metadata.length);

// --- Attach additional data to the model
const model = output_model;
// model.report_scalar(title, series, value, iteration)
model.reportScalar("loss", "train", 0.25, 1);
// model.report_single_value(name, value)
model.reportSingleValue("accuracy", 0.9);

// vector_series = np.random.randint(10, size=10).reshape(2,5)
const vector_series = reshape(randint(10, 10), 2);
// model.report_histogram(title='histogram example', series='histogram series',
//      values=vector_series, iteration=0, labels=['A','B'], xaxis='X axis label', yaxis='Y axis label')
model.reportHistogram({
  title: "histogram example",
  series: "histogram series",
  values: vector_series,
  iteration: 0,
  labels: ["A", "B"],
  xaxis: "X axis label",
  yaxis: "Y axis label",
});
// model.report_vector(title='vector example', series='vector series', values=vector_series,
//      iteration=0, labels=['A','B'], xaxis='X axis label', yaxis='Y axis label')
model.reportVector({
  title: "vector example",
  series: "vector series",
  values: vector_series,
  iteration: 0,
  labels: ["A", "B"],
  xaxis: "X axis label",
  yaxis: "Y axis label",
});
// df = pd.DataFrame({...}, index=['falcon', 'dog', 'spider', 'fish'])
// model.report_table(title='table example',series='pandas DataFrame',iteration=0,table_plot=df)
const df = [
  ["", "num_legs", "num_wings", "num_specimen_seen"],
  ["falcon", 2, 2, 10],
  ["dog", 4, 0, 2],
  ["spider", 8, 0, 1],
  ["fish", 0, 0, 8],
];
await model.reportTable({
  title: "table example",
  series: "pandas DataFrame",
  iteration: 0,
  tablePlot: df,
});
// model.report_line_plot(title, series=[SeriesInfo...], xaxis, yaxis, mode="lines", ...)
model.reportLinePlot({
  title: "line example",
  series: [{ name: "a", data: [[0, 1], [1, 2]] }],
  xaxis: "x",
  yaxis: "y",
  mode: "lines",
  iteration: null,
  reverseXaxis: false,
  comment: null,
  extraLayout: null,
});
// scatter2d = np.hstack((np.atleast_2d(np.arange(0, 10)).T, np.random.randint(10, size=(10, 1))))
const scatter2d = () => Array.from({ length: 10 }, (_, i) => [i, randint(10, 1)[0]]);
// model.report_scatter2d(title="example_scatter", series="series", iteration=0, scatter=scatter2d,
//      xaxis="title x", yaxis="title y")
model.reportScatter2d({
  title: "example_scatter",
  series: "series",
  iteration: 0,
  scatter: scatter2d(),
  xaxis: "title x",
  yaxis: "title y",
});
// model.report_scatter2d(title="example_scatter", series="series_1", iteration=1, scatter=scatter2d_1, ...)
model.reportScatter2d({
  title: "example_scatter",
  series: "series_1",
  iteration: 1,
  scatter: scatter2d(),
  xaxis: "title x",
  yaxis: "title y",
});
// model.report_scatter2d("example_scatter", "series_2", iteration=1, scatter=scatter2d_2, ...)
model.reportScatter2d("example_scatter", "series_2", {
  iteration: 1,
  scatter: scatter2d(),
  xaxis: "title x",
  yaxis: "title y",
});
// scatter3d = np.random.randint(10, size=(10, 3))
const scatter3d = reshape(randint(10, 30), 10);
// model.report_scatter3d(title="example_scatter_3d", series="series_xyz", iteration=1,
//      scatter=scatter3d, xaxis="title x", yaxis="title y", zaxis="title z")
model.reportScatter3d({
  title: "example_scatter_3d",
  series: "series_xyz",
  iteration: 1,
  scatter: scatter3d,
  xaxis: "title x",
  yaxis: "title y",
  zaxis: "title z",
});
// confusion = np.random.randint(10, size=(10, 10))
const confusion = reshape(randint(10, 100), 10);
// model.report_confusion_matrix("example confusion matrix", "ignored", iteration=1, matrix=confusion,
//      xaxis="title X", yaxis="title Y")
model.reportConfusionMatrix("example confusion matrix", "ignored", {
  iteration: 1,
  matrix: confusion,
  xaxis: "title X",
  yaxis: "title Y",
});
// model.report_matrix(title, series, matrix, iteration=None, ...)
model.reportMatrix("example matrix", "ignored", { matrix: confusion, iteration: null });
// surface_matrix = np.random.randint(10, size=(10, 10))
const surface_matrix = reshape(randint(10, 100), 10);
// model.report_surface("example surface", "series", iteration=0, matrix=surface_matrix,
//      xaxis="title X", yaxis="title Y", zaxis="title Z")
model.reportSurface("example surface", "series", {
  iteration: 0,
  matrix: surface_matrix,
  xaxis: "title X",
  yaxis: "title Y",
  zaxis: "title Z",
});

await model.flush();
const plots = await model.getReportedPlots();
console.log(`seed samples: ${plots.length} plots, JSON ${JSON.stringify(plots).length} bytes`);

await task2.close();
await task.close();
await (await getDefaultStore()).close();
await Deno.remove(work, { recursive: true });
