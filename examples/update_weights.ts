/**
 * Seed page, "Updating Models": store a snapshot of the weights whenever validation improves
 * (`updateWeights` with a local file and an iteration), register a remote URI without
 * uploading (`registerUri`), and the alternative through the task (`Task.updateOutputModel`).
 *
 * modelog keeps every weights update as an event (iteration, hash, size, URI), readable with
 * `history()`; the comment is never rewritten (ClearML prepends "snapshot … stored").
 *
 * Run: `npx -y deno@2.9.6 run -A examples/update_weights.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";
import { join } from "node:path";

const work = await Deno.makeTempDir({ prefix: "modelog-example-" });
const task = await Task.init({ projectName: "myProject", taskName: "update weights" });
const outputModel = new OutputModel({ task, framework: "PyTorch", name: "segmentation net" });

// A stand-in for a training loop: validation IoU per epoch.
const ious = [0.41, 0.55, 0.52, 0.63, 0.61, 0.70];
let bestIou = 0;
for (const [epoch, iou] of ious.entries()) {
  // If validation shows this network is the best so far, update the output model.
  if (iou > bestIou) {
    bestIou = iou;
    const weightsFilename = join(work, "models", "model.pth");
    await Deno.mkdir(join(work, "models"), { recursive: true });
    await Deno.writeFile(weightsFilename, crypto.getRandomValues(new Uint8Array(1024)));
    await outputModel.updateWeights({ weightsFilename, iteration: epoch });
    console.log(`epoch ${epoch}: iou ${iou} is the best so far, weights stored`);
  }
}

// Register weights that already live somewhere (no upload, nothing is read).
await outputModel.updateWeights({
  registerUri: "https://models.example.com/segmentation/model-final.pth",
  iteration: ious.length,
});
console.log("registered uri:", outputModel.url, "iteration:", outputModel.iteration);

// Every weights update is an event in the model's history.
const history = await outputModel.history();
const updates = history.filter((h) => h.type === "model.weights_updated");
console.log(`weights updates recorded: ${updates.length}`);
for (const h of updates.reverse()) {
  const c = h.changes as { iteration?: number; uri: string; size?: number };
  console.log(`  iteration ${c.iteration ?? "-"}  ${c.size ?? "?"} bytes  ${c.uri}`);
}

// Alternatively, update a model through its task (ClearML's Task.update_output_model).
const onnxFile = join(work, "model.onnx");
await Deno.writeFile(onnxFile, crypto.getRandomValues(new Uint8Array(512)));
const onnxUri = await task.updateOutputModel({
  modelPath: onnxFile,
  name: "onnx export",
  iteration: ious.length,
  tags: ["export"],
});
console.log("task.updateOutputModel stored:", onnxUri);
console.log("task output entries:", task.models.output.names().join(", "));

await task.close();
await (await getDefaultStore()).close();
await Deno.remove(work, { recursive: true });
