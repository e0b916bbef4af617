import assert from "node:assert/strict";
import { InputModel, InvalidArgumentError, Model, OutputModel, Task } from "../../mod.ts";
import { withStore, writeFile } from "../fixtures/helpers.ts";

// How the model files are tied together: Task and the models meet only through
// lib/models/task_link.ts, and no file reaches a protected member through a cast.

const LIB = new URL("../../lib/", import.meta.url);

async function source(rel: string): Promise<string> {
  return await Deno.readTextFile(new URL(rel, LIB));
}

async function filesUnder(rel: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(rel, LIB))) {
    if (e.isFile && e.name.endsWith(".ts")) out.push(`${rel}${e.name}`);
  }
  return out.sort();
}

Deno.test("the model files and task.ts hold no cast through unknown and no dynamic import", async () => {
  const files = [
    ...await filesUnder("models/"),
    ...await filesUnder("reports/"),
    ...await filesUnder("weights/"),
    "task.ts",
  ];
  assert.ok(files.includes("models/base.ts"));
  for (const f of files) {
    const text = await source(f);
    if (f.startsWith("models/") || f === "task.ts") {
      assert.doesNotMatch(text, /as unknown as/, `${f} casts through unknown`);
    }
    assert.doesNotMatch(text, /\bimport\(/, `${f} imports dynamically`);
  }
});

Deno.test("the models import Task for types only; task.ts imports the models statically", async () => {
  for (const f of ["models/output_model.ts", "models/input_model.ts", "models/task_link.ts"]) {
    const text = await source(f);
    const imports = [...text.matchAll(/^import (type )?[^;]*from "\.\.\/task\.ts";/gm)];
    assert.ok(imports.every((m) => m[1] === "type "), `${f} imports task.ts at run time`);
  }
  const task = await source("task.ts");
  assert.match(task, /^import \{ OutputModel \} from "\.\/models\/output_model\.ts";/m);
});

Deno.test("an object shaped like a Task is not a task to the models", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const fake = { id: task.id, name: "t", project: "p", store, outputUri: undefined };
    assert.throws(
      () => new OutputModel({ task: fake as unknown as Task }),
      (e) => e instanceof InvalidArgumentError && e.field === "task",
    );
    const m = await InputModel.importModel({ weightsUrl: "https://example.com/a.pt", store });
    await assert.rejects(
      () => m.connect(fake as unknown as Task),
      (e) => e instanceof InvalidArgumentError && e.field === "task",
    );
    await task.close();
  });
});

Deno.test("Task.updateOutputModel links its model under the given name", async () => {
  await withStore(async (store, home) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const file = await writeFile(home, "w.bin", new Uint8Array([1, 2, 3]));
    const uri = await task.updateOutputModel({ modelPath: file, name: "best" });
    const m = task.models.output.get("best");
    assert.ok(m instanceof OutputModel);
    assert.equal(m.url, uri);
    assert.equal(m.name, "t - best");
    const linked = await task.getModels();
    assert.deepEqual(linked.output.names(), ["best"]);
    await task.close();
  });
});

Deno.test("Model.remove marks the handle removed, so its next report throws", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const out = new OutputModel({ task, name: "gone" });
    await out.addTags("x");
    const m = await Model.get(out.id, { store });
    assert.equal(await Model.remove(m), true);
    assert.throws(() => m.reportScalar("loss", "s", 1, 0), { code: "MODEL_NOT_FOUND" });
    const again = await InputModel.get({ modelId: out.id, store }).catch((e) => e.code);
    assert.equal(again, "MODEL_NOT_FOUND");
    await task.close();
  });
});
