/**
 * Seed page, "Using Registered Models": get a model already in the store by its id and connect
 * it to a task as an input model. Lookups are async: `await InputModel.get({ modelId })`.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/input_model_registered.ts`
 *
 * @module
 */
import { getDefaultStore, InputModel, OutputModel, Task } from "../mod.ts";
import { join } from "node:path";

// So that there is a registered model to use, a training task stores and publishes one.
const work = await Deno.makeTempDir({ prefix: "modelog-example-" });
const trainTask = await Task.init({ projectName: "examples", taskName: "train backbone" });
const trained = new OutputModel({ task: trainTask, name: "backbone", framework: "PyTorch" });
const weights = join(work, "backbone.pt");
await Deno.writeFile(weights, crypto.getRandomValues(new Uint8Array(2048)));
await trained.updateWeights({ weightsFilename: weights, iteration: 100 });
await trained.publish();
await trainTask.close();
const modelId = trained.id; // e.g. "fd8b402e874549d6944eebd49e37eb7b"

// A new task uses it.
const task = await Task.init({ projectName: "examples", taskName: "fine-tune" });

// Create an input model using the id of a model already registered in the store.
const inputModel = await InputModel.get({ modelId });

// Connect the input model to the task.
await task.connect(inputModel);

console.log("input model:", inputModel.id, inputModel.name, "published:", inputModel.published);
console.log("task inputs:", task.models.input.names().join(", "));

// Or look it up by name and project (the newest matching, non-archived model).
const byName = await InputModel.get({ name: "backbone", project: "examples", onlyPublished: true });
console.log("found by name:", byName.name, "(same model:", byName.id === modelId, ")");

// A local copy of the weights, resolved by content hash from the blob store.
const local = await inputModel.getLocalCopy();
console.log("local copy:", local, (await Deno.stat(local!)).size, "bytes");

await task.close();
await (await getDefaultStore()).close();
await Deno.remove(work, { recursive: true });
