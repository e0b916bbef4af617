/**
 * The modelog demo (`npx -y deno@2.9.6 task demo`): a small training job, end to end.
 *
 * 1. A local "model zoo" (`Deno.serve` on 127.0.0.1) serves pre-trained weights; the task
 *    imports them by URL (`InputModel.importModel`), connects them and downloads a local copy.
 * 2. A logistic regression in plain TypeScript trains on synthetic 2-D data, starting from the
 *    pre-trained weights. The output model gets labels, metadata and tags; every improvement on
 *    validation stores a weights snapshot (`updateWeights` with the iteration).
 * 3. Scalars (loss, accuracy), a single value and plots (confusion matrix, histogram, scatter,
 *    ROC line plot, table) are reported on the model; then it is published.
 * 4. A self-contained HTML report is written, and `Model.queryModels` prints the project's
 *    models as a table.
 *
 * It uses the default store (`MODELOG_HOME`, default `~/.modelog`), works on an empty one and
 * can be run again: every run adds one trained model and one imported model.
 *
 * @module
 */
import { getDefaultStore, InputModel, Model, OutputModel, Task } from "../mod.ts";
import { join } from "node:path";

const PROJECT = "modelog-demo";
const LABELS = { negative: 0, positive: 1 };

// ---------------------------------------------------------------- data and model (plain TS)

/** A small deterministic PRNG (mulberry32), so every run trains on the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Sample = { x: [number, number]; y: 0 | 1 };

/** Two Gaussian blobs, one per class. */
function makeData(n: number, seed: number): Sample[] {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, (_, i) => {
    const y = (i % 2) as 0 | 1;
    const c = y ? [1.2, 0.8] : [-1, -0.6];
    return { x: [c[0]! + gauss(), c[1]! + gauss()], y };
  });
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
/** Weights: [w0, w1, bias]. */
const predict = (w: Float64Array, x: [number, number]) =>
  sigmoid(w[0]! * x[0] + w[1]! * x[1] + w[2]!);

function evaluate(w: Float64Array, data: Sample[]): { loss: number; accuracy: number } {
  let loss = 0, correct = 0;
  for (const s of data) {
    const p = Math.min(Math.max(predict(w, s.x), 1e-9), 1 - 1e-9);
    loss -= s.y ? Math.log(p) : Math.log(1 - p);
    if ((p >= 0.5 ? 1 : 0) === s.y) correct++;
  }
  return { loss: loss / data.length, accuracy: correct / data.length };
}

/** One epoch of full-batch gradient descent. */
function step(w: Float64Array, data: Sample[], lr: number): void {
  const g = new Float64Array(3);
  for (const s of data) {
    const e = predict(w, s.x) - s.y;
    g[0]! += e * s.x[0];
    g[1]! += e * s.x[1];
    g[2]! += e;
  }
  for (let i = 0; i < 3; i++) w[i]! -= (lr * g[i]!) / data.length;
}

const bytesOf = (w: Float64Array): Uint8Array<ArrayBuffer> => new Uint8Array(w.slice().buffer);

// ---------------------------------------------------------------- 1. the pre-trained model

const work = await Deno.makeTempDir({ prefix: "modelog-demo-" });
const pretrained = new Float64Array([-0.6, 0.4, 0.9]); // trained on other data: a poor start
const zoo = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  if (new URL(req.url).pathname === "/zoo/logreg-pretrained.bin") {
    return new Response(bytesOf(pretrained));
  }
  return new Response("not found", { status: 404 });
});
const weightsUrl = `http://127.0.0.1:${zoo.addr.port}/zoo/logreg-pretrained.bin`;

const task = await Task.init({ projectName: PROJECT, taskName: "train logistic regression" });
console.log(`task ${task.id} in project "${PROJECT}" (store: ${task.store.home})`);

const base = await InputModel.importModel({
  weightsUrl,
  name: "logreg pre-trained",
  labelEnumeration: LABELS,
  framework: "ScikitLearn",
  tags: ["pretrained"],
});
await task.connect(base, "pretrained");
const again = await InputModel.importModel({ weightsUrl });
console.log(
  `imported ${base.id} from ${weightsUrl} (reused: ${base.reused}; a second import reused: ${again.reused})`,
);
const localCopy = (await base.getLocalCopy())!;
const w = new Float64Array((await Deno.readFile(localCopy)).buffer);
console.log(`pre-trained weights from the local copy: [${[...w].map((v) => v.toFixed(2))}]`);

// ---------------------------------------------------------------- 2. train

const train = makeData(400, 1);
const valid = makeData(200, 2);

const model = new OutputModel({
  task,
  name: "logreg (demo)",
  framework: "ScikitLearn",
  labelEnumeration: LABELS,
  tags: ["demo", "logreg"],
  comment: "Toy logistic regression trained by examples/demo.ts",
});
await task.connect(model, "best");
await model.setMetadata("dataset", "two-blobs");
await model.setMetadata("learning_rate", 0.05);
await model.setMetadata("features", ["x0", "x1"]);

const epochs = 60;
let best = -1;
for (let epoch = 0; epoch < epochs; epoch++) {
  step(w, train, 0.05);
  const t = evaluate(w, train);
  const v = evaluate(w, valid);
  await model.reportScalar("loss", "train", t.loss, epoch);
  await model.reportScalar("loss", "validation", v.loss, epoch);
  await model.reportScalar("accuracy", "validation", v.accuracy, epoch);
  if (v.accuracy > best) {
    best = v.accuracy;
    const file = join(work, "logreg.bin");
    await Deno.writeFile(file, bytesOf(w));
    await model.updateWeights({ weightsFilename: file, iteration: epoch });
  }
}
const final = evaluate(w, valid);
const snapshots = (await model.history()).filter((h) => h.type === "model.weights_updated");
console.log(
  `trained ${epochs} epochs: validation loss ${final.loss.toFixed(4)}, accuracy ${
    final.accuracy.toFixed(3)
  }; ${snapshots.length} weights snapshots, the best at iteration ${model.iteration}`,
);

// ---------------------------------------------------------------- 3. plots, publish

await model.reportSingleValue("validation accuracy", final.accuracy);
await model.setMetadata("val_accuracy", Number(final.accuracy.toFixed(3)));
const cm = [[0, 0], [0, 0]];
const probs: number[][] = [[], []];
for (const s of valid) {
  const p = predict(w, s.x);
  cm[s.y]![p >= 0.5 ? 1 : 0]!++;
  probs[s.y]!.push(p);
}
await model.reportConfusionMatrix({
  title: "confusion matrix",
  series: "validation",
  matrix: cm,
  iteration: epochs,
  xaxis: "predicted",
  yaxis: "true",
  xlabels: Object.keys(LABELS),
  ylabels: Object.keys(LABELS),
  yaxisReversed: true,
});
const bins = (ps: number[]) => {
  const h = new Array(10).fill(0);
  for (const p of ps) h[Math.min(9, Math.floor(p * 10))]++;
  return h;
};
await model.reportHistogram({
  title: "predicted probability",
  series: "validation",
  values: [bins(probs[0]!), bins(probs[1]!)],
  labels: Object.keys(LABELS),
  xlabels: Array.from({ length: 10 }, (_, i) => `${i / 10}-${(i + 1) / 10}`),
  xaxis: "p(positive)",
  yaxis: "samples",
  iteration: epochs,
});
for (const cls of [0, 1] as const) {
  await model.reportScatter2d({
    title: "validation samples",
    series: Object.keys(LABELS)[cls]!,
    scatter: valid.filter((s) => s.y === cls).map((s) => s.x),
    mode: "markers",
    xaxis: "x0",
    yaxis: "x1",
    iteration: epochs,
  });
}
const roc: number[][] = [];
for (let t = 1; t >= 0; t -= 0.05) {
  const tp = probs[1]!.filter((p) => p >= t).length / probs[1]!.length;
  const fp = probs[0]!.filter((p) => p >= t).length / probs[0]!.length;
  roc.push([fp, tp]);
}
await model.reportLinePlot({
  title: "ROC",
  series: [{ name: "validation", data: roc }, { name: "chance", data: [[0, 0], [1, 1]] }],
  xaxis: "false positive rate",
  yaxis: "true positive rate",
  iteration: epochs,
});
await model.reportTable({
  title: "weights",
  series: "final",
  iteration: epochs,
  tablePlot: [["parameter", "value"], ["w0", w[0]!], ["w1", w[1]!], ["bias", w[2]!]],
});
await model.publish();
console.log(`published ${model.id}: weights, design, labels and framework are now locked`);

// ---------------------------------------------------------------- 4. report and query

const reportPath = join(task.store.home, "reports", `demo-${model.id}.html`);
await Deno.mkdir(join(task.store.home, "reports"), { recursive: true });
await model.writeReport(reportPath);
console.log(`HTML report: ${reportPath}`);

await task.close();
const models = await Model.queryModels({ projectName: PROJECT, maxResults: 10 });
console.log(`\nModel.queryModels({ projectName: "${PROJECT}" }): ${models.length} model(s)`);
console.table(models.map((m) => ({
  name: m.name,
  id: m.id.slice(0, 12),
  framework: m.framework,
  tags: m.tags.join(","),
  published: m.published,
  iteration: m.iteration ?? "",
  "val accuracy": m.getMetadata("val_accuracy") ?? "",
  updated: m.lastUpdate.toISOString().replace("T", " ").slice(0, 19),
})));

await zoo.shutdown();
await (await getDefaultStore()).close();
await Deno.remove(work, { recursive: true });
