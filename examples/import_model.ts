/**
 * Seed page, "Importing Models": register an existing model by its weights URL with
 * `InputModel.importModel` and connect it to a task.
 *
 * The weights are served by a local `Deno.serve` on 127.0.0.1 (nothing is downloaded from the
 * internet). If a non-archived model already has exactly this URL it is reused, as in ClearML;
 * modelog says so (`reused`), and `InputModel.loadModel` finds without creating.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/import_model.ts`
 *
 * @module
 */
import { getDefaultStore, InputModel, Task } from "../mod.ts";

// A tiny "model server" on a free local port.
const weightsBytes = crypto.getRandomValues(new Uint8Array(4096));
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { pathname } = new URL(req.url);
  if (pathname === "/models/model.pth") return new Response(weightsBytes);
  return new Response("not found", { status: 404 });
});
const weightsUrl = `http://127.0.0.1:${server.addr.port}/models/model.pth`;

// Instantiate a task.
const task = await Task.init({ projectName: "examples", taskName: "example task" });

const inputModel = await InputModel.importModel({
  // Name for the model in modelog
  name: "Input Model with Network Design",
  // Import the model using a URL
  weightsUrl,
  // Set label enumeration values
  labelEnumeration: {
    person: 1,
    car: 2,
    truck: 3,
    bus: 4,
    motorcycle: 5,
    bicycle: 6,
    ignore: -1,
  },
  framework: "PyTorch",
});

// Connect the input model to the task.
await task.connect(inputModel);
console.log("imported:", inputModel.id, inputModel.name, "reused:", inputModel.reused);
console.log("labels:", JSON.stringify(inputModel.labels));
console.log("task inputs:", task.models.input.names().join(", "));

// Importing the same URL again returns the same model (the other arguments are not applied).
const again = await InputModel.importModel({ weightsUrl, name: "ignored, the URL is known" });
console.log("second import reused:", again.reused, "same id:", again.id === inputModel.id);

// Find without creating.
const found = await InputModel.loadModel({ weightsUrl });
console.log("loadModel found:", found?.id === inputModel.id);

// Download the weights into the store's cache.
const local = await inputModel.getLocalCopy();
console.log("downloaded:", (await Deno.stat(local!)).size, "bytes");

await task.close();
await (await getDefaultStore()).close();
await server.shutdown();
