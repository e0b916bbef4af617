/**
 * Seed page, "Manually Logging Models": create a task and an output model for PyTorch, set its
 * upload destination and its label enumeration.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/manual_output_model.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";
import { join } from "node:path";

// Instantiate a task (ClearML: Task.init(project_name=..., task_name=...)).
const task = await Task.init({ projectName: "myProject", taskName: "myTask" });

// Create an output model for the PyTorch framework. It is "floating" (local only) until its
// first write, as in ClearML; its id is assigned now.
const outputModel = new OutputModel({ task, framework: "PyTorch" });

// Set the URI of the storage destination for uploaded model weight files: here a local folder
// (a `file://` URI or a path; a modelog server URL works too).
const work = await Deno.makeTempDir({ prefix: "modelog-example-" });
const modelsUploadDestination = join(work, "uploads");
await outputModel.setUploadDestination(modelsUploadDestination);

// Set the label enumeration.
await outputModel.updateLabels({ background: 0, label: 255 });

// The first write stores the model: here, a weights file.
const weights = join(work, "model.pth");
await Deno.writeFile(weights, crypto.getRandomValues(new Uint8Array(256)));
const uri = await outputModel.updateWeights({ weightsFilename: weights, iteration: 1 });

console.log("model id:", outputModel.id);
console.log("framework:", outputModel.framework);
console.log("labels:", JSON.stringify(outputModel.labels));
console.log("upload destination:", outputModel.uploadStorageUri);
console.log("weights uri:", uri);

await task.close();
await (await getDefaultStore()).close();
// The weights stay in the store's blob folder (by hash) after the temp folder is gone.
await Deno.remove(work, { recursive: true });
