import { readAll, readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import {
  HashMismatchError,
  InputModel,
  InvalidArgumentError,
  Model,
  ModelNotFoundError,
  ModelogError,
  ModelPublishedError,
  OutputModel,
  type Store,
  Task,
  WeightsNotFoundError,
} from "../../mod.ts";
import { pathToFileUri } from "../../lib/weights/remote.ts";
import { eventCount, serve, sha256Hex, withStore, writeFile } from "../fixtures/helpers.ts";
import { join } from "node:path";
import { waitFor } from "../fixtures/wait.ts";

/** Waits until the wall clock has moved on, so the next edit gets a later last update. */
async function tick(): Promise<void> {
  const now = Date.now();
  await waitFor(() => Date.now() > now + 1, { intervalMs: 1, what: "the clock to move on" });
}

async function newTask(store: Store, projectName = "vision", taskName = "train"): Promise<Task> {
  return await Task.init({ projectName, taskName, store });
}

/** A stored output model (created by writing a metadata entry). */
async function stored(task: Task, name: string, tags: string[] = []): Promise<OutputModel> {
  const m = new OutputModel({ task, name, tags });
  await m.setMetadata("made", true);
  return m;
}

async function names(store: Store, filter: Record<string, unknown> = {}): Promise<string[]> {
  return (await Model.queryModels({ store, ...filter })).map((m) => m.name);
}

/** Asserts `fn` rejects with `cls` and `code`, naming `field` if given. */
async function rejectsWith(
  fn: () => Promise<unknown>,
  cls: new (...a: never[]) => ModelogError,
  code: string,
  field?: string,
): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert.equal((e as ModelogError).code, code);
    if (field !== undefined) assert.equal((e as InvalidArgumentError).field, field);
    return true;
  });
}

// ------------------------------------------------------------------ Task

Deno.test("Task.init() stores a task, makes it current, and close() ends it", async () => {
  await withStore(async (store) => {
    const before = await eventCount(store);
    const task = await Task.init({
      projectName: "vision",
      taskName: "train",
      taskType: "testing",
      tags: ["x"],
      store,
    });
    assert.equal(Task.current(), task);
    assert.equal(task.project, "vision");
    assert.equal(task.name, "train");
    assert.equal(task.taskType, "testing");
    assert.deepEqual(task.tags, ["x"]);
    assert.match(task.id, /^[0-9a-f]{32}$/);
    assert.equal(await eventCount(store), before + 1);
    const row = await readOne<{ name: string; closed: number; task_type: string }>(
      store,
      "SELECT name, closed, task_type FROM tasks WHERE id = ?",
      [task.id],
    );
    assert.deepEqual(row, { name: "train", closed: 0, task_type: "testing" });
    await task.close();
    assert.equal(task.closed, true);
    assert.equal(Task.current(), undefined);
    await task.close(); // idempotent
    const closed = await readOne<{ closed: number }>(
      store,
      "SELECT closed FROM tasks WHERE id = ?",
      [
        task.id,
      ],
    );
    assert.equal(closed?.closed, 1);
  });
});

Deno.test("Task.connect() links inputs under the weights stem and outputs under a name", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const input = await InputModel.importModel({
      weightsUrl: "https://example.com/zoo/resnet50.pth",
      store,
    });
    await task.connect(input);
    const out = new OutputModel({ task, name: "mine" });
    await task.connect(out, "best");
    assert.deepEqual(task.models.input.names(), ["resnet50"]);
    assert.equal(task.models.input.get("resnet50"), input);
    assert.equal(task.models.output.length, 0, "a floating output model is not linked yet");
    await out.updateWeights({ registerUri: "https://example.com/out/final.pt" });
    assert.deepEqual(task.models.output.names(), ["best"]);
    assert.equal(task.models.output["best"], out);
    const got = await task.getModels();
    assert.deepEqual(got.input.names(), ["resnet50"]);
    assert.equal(got.input.get("resnet50")!.id, input.id);
    assert.deepEqual(got.output.names(), ["best"]);
    assert.equal(got.output[0]!.id, out.id);
    assert.ok(got.output[0] instanceof Model);
    await rejectsWith(
      () => task.connect({} as unknown as Model),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "model",
    );
  });
});

Deno.test("Task.updateOutputModel() stores a weights file as a named output model", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const file = await writeFile(home, "net.pt", "weights");
    const uri = await task.updateOutputModel({
      modelPath: file,
      name: "final",
      comment: "hello",
      tags: ["t"],
      iteration: 12,
    });
    assert.equal(uri, pathToFileUri(file));
    const m = task.models.output.get("final")!;
    assert.ok(m);
    const got = await Model.get(m.id, { store });
    assert.equal(got.name, "train - final");
    assert.equal(got.comment, `Created by task id: ${task.id}\nhello`);
    assert.deepEqual(got.tags, ["t"]);
    assert.equal(got.iteration, 12);
    assert.equal(got.framework, "PyTorch");
    assert.equal(got.hash, await sha256Hex("weights"));
    const bare = await task.updateOutputModel({ modelPath: file });
    assert.equal(bare, uri);
    const names = (await task.getModels()).output.map((x) => x.name).sort();
    assert.deepEqual(names, ["train", "train - final"]);
  });
});

// ------------------------------------------------------------------ OutputModel

Deno.test("new OutputModel() floats: nothing is stored until the first write", async () => {
  await withStore(async (store) => {
    const task = await newTask(store, "proj", "my task");
    const n = await eventCount(store);
    const m = new OutputModel({ task, labelEnumeration: { a: 1 }, comment: "extra" });
    assert.equal(m.exists, false);
    assert.equal(m.name, "my task");
    assert.equal(m.comment, `Created by task id: ${task.id}\nextra`);
    assert.equal(m.project, "proj");
    assert.equal(m.task, task.id);
    assert.equal(m.published, false);
    await m.updateLabels({ a: 1, b: 2 });
    await m.updateDesign({ configText: "lr: 0.1" });
    assert.deepEqual(m.labels, { a: 1, b: 2 });
    assert.equal(m.configText, "lr: 0.1");
    assert.equal(await eventCount(store), n, "floating edits store nothing");
    await rejectsWith(() => Model.get(m.id, { store }), ModelNotFoundError, "MODEL_NOT_FOUND");
    const noName = new OutputModel({ task: Task.current()! });
    assert.equal(noName.comment, `Created by task id: ${task.id}`);
    await m.setMetadata("k", "v");
    assert.equal(m.exists, true);
    const got = await Model.get(m.id, { store });
    assert.equal(got.name, "my task");
    assert.deepEqual(got.labels, { a: 1, b: 2 });
    assert.equal(got.configText, "lr: 0.1");
    assert.equal(got.originalTask, task.id);
    assert.equal(got.getMetadata("k"), "v");
    assert.equal(noName.exists, false);
  });
});

Deno.test("new OutputModel() takes Task.current() and refuses to work without any task", async () => {
  await withStore(async (store) => {
    assert.throws(() => new OutputModel({}), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.field, "task");
      return true;
    });
    const task = await newTask(store);
    assert.equal(new OutputModel().taskObject, task);
  });
});

Deno.test("setUploadDestination() accepts folders and http, and refuses unwritable paths", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task });
    await m.setUploadDestination(join(home, "dest") + "/");
    assert.equal(m.uploadStorageUri, pathToFileUri(join(home, "dest")));
    await m.setUploadDestination(pathToFileUri(join(home, "dest2")));
    assert.equal(m.uploadStorageUri, pathToFileUri(join(home, "dest2")));
    assert.ok((await Deno.stat(join(home, "dest2"))).isDirectory);
    await m.setUploadDestination("http://127.0.0.1:9/store/");
    assert.equal(m.uploadStorageUri, "http://127.0.0.1:9/store");
    await m.setUploadDestination(""); // ignored
    assert.equal(m.uploadStorageUri, "http://127.0.0.1:9/store");
    const file = await writeFile(home, "plain-file", "x");
    await rejectsWith(
      () => m.setUploadDestination(join(file, "sub")),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "uri",
    );
    await rejectsWith(
      () => m.setUploadDestination("ftp://example.com/x"),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "uri",
    );
    assert.equal(
      m.uploadStorageUri,
      "http://127.0.0.1:9/store",
      "a refused destination is not set",
    );
    assert.equal(m.exists, false);
  });
});

Deno.test("updateLabels() and updateDesign() edit a stored model and validate their input", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = await stored(task, "net");
    await m.updateLabels({ cat: 1, dog: 2 });
    await m.updateDesign({ configDict: { layers: 3 } });
    let got = await Model.get(m.id, { store });
    assert.deepEqual(got.labels, { cat: 1, dog: 2 });
    assert.deepEqual(got.configDict, { layers: 3 });
    await m.updateDesign({ configText: "not json" });
    got = await Model.get(m.id, { store });
    assert.equal(got.configText, "not json");
    assert.throws(() => got.configDict, InvalidArgumentError);
    await rejectsWith(
      () => m.updateDesign({ configText: "a", configDict: { b: 1 } }),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "configDict",
    );
    await m.updateDesign({ configText: "" });
    assert.equal((await Model.get(m.id, { store })).configText, "", "the design can be cleared");
  });
});

Deno.test("updateWeights() keeps the file in the blob store and records every update as an event", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, comment: "keep me" });
    const file = await writeFile(home, "net.pt", "v1");
    const uri = await m.updateWeights({ weightsFilename: file, iteration: 10 });
    assert.equal(uri, pathToFileUri(file));
    assert.equal(m.url, uri);
    assert.equal(m.hash, await sha256Hex("v1"));
    assert.equal(m.size, 2);
    assert.equal(m.iteration, 10);
    assert.equal(m.framework, "PyTorch");
    assert.ok(await store.blobs.has(m.hash));
    assert.ok((await Deno.stat(file)).isFile, "without a destination the source stays");
    await Deno.writeTextFile(file, "v2!");
    await m.updateWeights({ weightsFilename: file, iteration: 20 });
    await m.updateWeights({ weightsFilename: file });
    const got = await Model.get(m.id, { store });
    assert.equal(got.hash, await sha256Hex("v2!"));
    assert.equal(got.size, 3);
    assert.equal(got.iteration, 20, "an update without an iteration keeps the last one");
    assert.equal(
      got.comment,
      `Created by task id: ${task.id}\nkeep me`,
      "the comment is untouched",
    );
    const weights = (await got.history()).filter((h) => h.type === "model.weights_updated");
    assert.equal(weights.length, 3);
    assert.deepEqual(weights.map((w) => w.changes.iteration), [undefined, 20, 10]);
    assert.deepEqual(weights.map((w) => w.changes.size), [3, 3, 2]);
    assert.equal(task.models.output.names()[0], "net", "linked under the weights file stem");
  });
});

Deno.test("updateWeights() with an upload folder copies to <dest>/<project>/<task>.<id>/models/", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store, "my proj", "train");
    const dest = join(home, "uploads");
    const m = new OutputModel({ task });
    const a = await writeFile(home, "a.pt", "AAA");
    const uri = await m.updateWeights({ weightsFilename: a, uploadUri: dest, iteration: 1 });
    const expected = join(dest, "my proj", `train.${task.id}`, "models", "a.pt");
    assert.equal(uri, pathToFileUri(expected));
    assert.equal(await Deno.readTextFile(expected), "AAA");
    assert.equal(await Deno.stat(a).catch(() => null), null, "autoDeleteFile removed the source");
    const b = await writeFile(home, "b.pt", "BBB");
    const uri2 = await m.updateWeights({
      weightsFilename: b,
      targetFilename: "best",
      autoDeleteFile: false,
    });
    assert.equal(
      uri2,
      pathToFileUri(join(dest, "my proj", `train.${task.id}`, "models", "best.pt")),
    );
    assert.ok((await Deno.stat(b)).isFile, "autoDeleteFile: false keeps the source");
    const o = new OutputModel({ task });
    await o.setUploadDestination(dest);
    const c = await writeFile(home, "c.onnx", "CCC");
    const uri3 = await o.updateWeights({ weightsFilename: c, targetFilename: "c.onnx" });
    assert.ok(uri3.endsWith("/models/c.onnx"));
    assert.equal(o.framework, "ONNX");
  });
});

Deno.test("updateWeights() to an http destination records the server's blob URL", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task });
    await m.setUploadDestination("http://127.0.0.1:9");
    const f = await writeFile(home, "w.h5", "keras");
    const uri = await m.updateWeights({ weightsFilename: f, autoDeleteFile: false });
    const hash = await sha256Hex("keras");
    assert.equal(uri, `http://127.0.0.1:9/v1/blobs/sha256/${hash}`);
    assert.equal(m.hash, hash);
    assert.equal(m.framework, "Keras");
    assert.ok(await store.blobs.has(hash));
  });
});

Deno.test("updateWeights({ registerUri }) registers file:// and https URIs without copying", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const f = await writeFile(home, "ext/model.onnx", "onnx-bytes");
    const m = new OutputModel({ task });
    const uri = await m.updateWeights({ registerUri: pathToFileUri(f), iteration: 3 });
    assert.equal(uri, pathToFileUri(f));
    assert.equal(m.hash, await sha256Hex("onnx-bytes"), "a local registered file is hashed");
    assert.equal(m.iteration, 3);
    assert.equal(m.framework, "ONNX");
    assert.equal(await store.blobs.has(m.hash), false, "registering stores no bytes");
    const h = new OutputModel({ task });
    await h.updateWeights({ registerUri: "https://example.com/m/net.pth" });
    assert.equal(h.url, "https://example.com/m/net.pth");
    assert.equal(h.hash, "");
    assert.equal(h.framework, "PyTorch");
    await rejectsWith(
      () => h.updateWeights({ registerUri: "s3://bucket/x.pt" }),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "registerUri",
    );
    await rejectsWith(
      () => h.updateWeights({ registerUri: "https://x/y", weightsFilename: f }),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "weightsFilename/registerUri",
    );
  });
});

Deno.test("updateWeights() of a folder and updateWeightsPackage() store a zip package", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    await writeFile(home, "pkg/config.json", "{}");
    await writeFile(home, "pkg/sub/weights.bin", new Uint8Array([9, 8, 7]));
    const folder = new OutputModel({ task, name: "folder" });
    await folder.updateWeights({ weightsFilename: join(home, "pkg"), iteration: 4 });
    assert.deepEqual(folder.systemTags, ["package"]);
    assert.equal(folder.iteration, 4);
    const entries = await folder.getWeightsPackage() as string[];
    assert.deepEqual(entries.map((p) => p.split("/").pop()), ["config.json", "sub"]);
    const dir = (await folder.getLocalCopy())!;
    assert.deepEqual(
      await Deno.readFile(join(dir, "sub", "weights.bin")),
      new Uint8Array([9, 8, 7]),
    );

    const f1 = await writeFile(home, "files/a/one.txt", "one");
    const f2 = await writeFile(home, "files/b/two.txt", "two");
    const list = new OutputModel({ task, name: "list" });
    const uri = await list.updateWeightsPackage({
      weightsFilenames: [f1, f2],
      targetFilename: "bundle",
      autoDeleteFile: false,
    });
    assert.ok(uri.endsWith("bundle.zip"), uri);
    assert.ok(list.systemTags.includes("package"));
    const got = await Model.get(list.id, { store });
    const top = await got.getWeightsPackage() as string[];
    assert.deepEqual(top.map((p) => p.split("/").pop()), ["a", "b"]);
    const path = await got.getWeightsPackage({ returnPath: true }) as string;
    assert.equal(await Deno.readTextFile(join(path, "b", "two.txt")), "two");
    assert.ok((await Deno.stat(f1)).isFile, "autoDeleteFile: false keeps the sources");
    const zip = (await got.getLocalCopy({ extractArchive: false }))!;
    assert.ok(zip.endsWith(".zip"));
    await rejectsWith(
      () => list.updateWeightsPackage({ weightsPath: join(home, "nope") }),
      WeightsNotFoundError,
      "WEIGHTS_NOT_FOUND",
    );
    const plain = await stored(task, "plain");
    await rejectsWith(() => plain.getWeightsPackage(), InvalidArgumentError, "INVALID_ARGUMENT");
  });
});

Deno.test("OutputModel.connect() names the task entry; another task is refused", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const other = await newTask(store, "p", "other");
    const m = new OutputModel({ task });
    await m.connect(task, "checkpoint");
    await m.publish();
    assert.deepEqual(task.models.output.names(), ["checkpoint"]);
    const rows = await readAll<{ name: string; role: string }>(
      store,
      "SELECT name, role FROM task_models WHERE model_id = ?",
      [m.id],
    );
    assert.deepEqual(rows, [{ name: "checkpoint", role: "output" }]);
    await rejectsWith(() => m.connect(other), InvalidArgumentError, "INVALID_ARGUMENT", "task");
  });
});

Deno.test("new OutputModel({ baseModelId }) re-binds an existing model to the new task", async () => {
  await withStore(async (store, home) => {
    const t1 = await newTask(store, "old", "first");
    const base = new OutputModel({ task: t1, name: "base", tags: ["orig"], framework: "Keras" });
    const f = await writeFile(home, "base.h5", "keras");
    await base.updateWeights({ weightsFilename: f });
    const t2 = await newTask(store, "new", "second");
    const n = await eventCount(store);
    const m = new OutputModel({
      task: t2,
      baseModelId: base.id,
      tags: ["more"],
      labelEnumeration: { z: 26 },
      framework: "TensorFlow",
    });
    assert.equal(m.id, base.id);
    assert.equal(await eventCount(store), n, "still floating");
    await m.setMetadata("rebound", true);
    const got = await Model.get(base.id, { store });
    assert.equal(got.name, "second");
    assert.equal(got.project, "new");
    assert.equal(got.task, t2.id);
    assert.equal(got.originalTask, t1.id);
    assert.equal(got.framework, "TensorFlow");
    assert.deepEqual(got.labels, { z: 26 });
    assert.deepEqual(got.tags, ["more", "orig"]);
    assert.equal(got.comment, `Created by task id: ${t1.id}\nOverwritten by task id: ${t2.id}`);
    assert.equal(got.url, pathToFileUri(f), "the weights stay");
    assert.deepEqual(t2.models.output.names(), ["base"], "connected under the weights stem");
    const ghost = new OutputModel({ task: t2, baseModelId: "0".repeat(32) });
    await rejectsWith(() => ghost.setMetadata("a", 1), ModelNotFoundError, "MODEL_NOT_FOUND");
  });
});

// ------------------------------------------------------------------ InputModel

Deno.test("InputModel.get() finds by id, or the newest match by name, project, tags and published", async () => {
  await withStore(async (store) => {
    const task = await newTask(store, "zoo", "t");
    const a = await stored(task, "resnet", ["cv"]);
    await tick();
    const b = await stored(task, "resnet", ["cv", "new"]);
    await a.publish();
    const other = await newTask(store, "elsewhere", "t");
    await stored(other, "resnet", ["cv"]);
    assert.equal((await InputModel.get(b.id, { store })).id, b.id);
    assert.equal((await InputModel.get({ modelId: a.id, store })).name, "resnet");
    assert.equal((await InputModel.get({ name: "resnet", project: "zoo", store })).id, a.id);
    assert.equal(
      (await InputModel.get({ name: "resnet", project: "zoo", tags: ["new"], store })).id,
      b.id,
    );
    await b.setComment("touch");
    assert.equal((await InputModel.get({ name: "resnet", project: "zoo", store })).id, b.id);
    const pub = await InputModel.get({ name: "resnet", onlyPublished: true, store });
    assert.equal(pub.id, a.id);
    assert.ok(pub instanceof InputModel);
    await rejectsWith(
      () => InputModel.get({ name: "nope", project: "zoo", store }),
      ModelNotFoundError,
      "MODEL_NOT_FOUND",
    );
    await rejectsWith(
      () => InputModel.get("f".repeat(32), { store }),
      ModelNotFoundError,
      "MODEL_NOT_FOUND",
    );
  });
});

Deno.test("InputModel.importModel() creates a model, guesses the framework, and reuses by URL", async () => {
  await withStore(async (store, home) => {
    const m = await InputModel.importModel({
      weightsUrl: "https://example.com/zoo/net.onnx",
      name: "net",
      project: "zoo",
      tags: ["pre"],
      comment: "from zoo",
      labelEnumeration: { cat: 1 },
      configDict: { depth: 50 },
      store,
    });
    assert.equal(m.reused, false);
    assert.equal(m.framework, "ONNX");
    assert.equal(m.name, "net");
    assert.equal(m.project, "zoo");
    assert.deepEqual(m.tags, ["pre"]);
    assert.equal(m.comment, "from zoo");
    assert.deepEqual(m.labels, { cat: 1 });
    assert.deepEqual(m.configDict, { depth: 50 });
    assert.equal(m.published, false);
    assert.equal(m.task, "", "an import is no task's output");
    const n = await eventCount(store);
    const again = await InputModel.importModel({
      weightsUrl: "https://example.com/zoo/net.onnx",
      name: "other name",
      project: "other",
      tags: ["ignored"],
      createAsPublished: true,
      store,
    });
    assert.equal(again.reused, true);
    assert.equal(again.id, m.id);
    assert.equal(again.name, "net", "the other arguments are not applied");
    assert.equal(again.published, false);
    assert.equal(await eventCount(store), n, "reuse writes nothing");

    const f = await writeFile(home, "local/model.pkl", "pickle");
    const pub = await InputModel.importModel({
      weightsUrl: f,
      framework: "XGBoost",
      createAsPublished: true,
      isPackage: true,
      store,
    });
    assert.equal(pub.url, pathToFileUri(f), "a local path becomes a file:// URL");
    assert.equal(pub.hash, await sha256Hex("pickle"));
    assert.equal(pub.framework, "XGBoost");
    assert.equal(pub.published, true);
    assert.deepEqual(pub.systemTags, ["package"]);
    assert.match(pub.name, /^Anonymous model /);
    assert.equal(
      (await InputModel.importModel({ weightsUrl: pathToFileUri(f), store })).id,
      pub.id,
    );
  });
});

Deno.test("InputModel.importModel() under a current task names and comments after it", async () => {
  await withStore(async (store) => {
    const task = await newTask(store, "proj", "evaluate");
    const m = await InputModel.importModel({
      weightsUrl: "https://e.com/a.pt",
      comment: "c",
      store,
    });
    assert.equal(m.name, "Imported by evaluate");
    assert.equal(m.project, "proj");
    assert.equal(m.comment, `Imported by task id: ${task.id}\nc`);
    assert.equal(m.framework, "PyTorch");
  });
});

Deno.test("InputModel.loadModel() finds by URL without creating, and archived only when asked", async () => {
  await withStore(async (store) => {
    const n = await eventCount(store);
    assert.equal(
      await InputModel.loadModel({ weightsUrl: "https://e.com/x.pt", store }),
      undefined,
    );
    assert.equal(await eventCount(store), n, "nothing was created");
    const m = await InputModel.importModel({ weightsUrl: "https://e.com/x.pt", store });
    assert.equal(
      (await InputModel.loadModel({ weightsUrl: "https://e.com/x.pt", store }))!.id,
      m.id,
    );
    await m.archive();
    assert.equal(
      await InputModel.loadModel({ weightsUrl: "https://e.com/x.pt", store }),
      undefined,
    );
    const arch = await InputModel.loadModel({
      weightsUrl: "https://e.com/x.pt",
      loadArchived: true,
      store,
    });
    assert.equal(arch!.id, m.id);
    assert.equal(arch!.archived, true);
    const fresh = await InputModel.importModel({ weightsUrl: "https://e.com/x.pt", store });
    assert.notEqual(fresh.id, m.id, "an archived model is not reused");
    assert.equal(fresh.reused, false);
  });
});

Deno.test("InputModel.empty() carries a design and labels, is never stored and sets no input", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const n = await eventCount(store);
    const e = InputModel.empty({ configDict: { a: 1 }, labelEnumeration: { x: 0 } });
    assert.equal(e.id, "empty");
    assert.deepEqual(e.configDict, { a: 1 });
    assert.deepEqual(e.labels, { x: 0 });
    await task.connect(e);
    assert.equal(task.models.input.length, 0);
    assert.equal(await eventCount(store), n);
    assert.throws(
      () => InputModel.empty({ labelEnumeration: { x: 0.5 } }),
      (err: unknown) => err instanceof InvalidArgumentError && err.field === "labelEnumeration.x",
    );
  });
});

// ------------------------------------------------------------------ Model

Deno.test("Model.get() returns every property of a stored model", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store, "vision", "train");
    const m = new OutputModel({
      task,
      name: "net",
      tags: ["b", "a"],
      comment: "c",
      framework: "PyTorch",
      configText: '{"k": 1}',
      labelEnumeration: { bg: 0 },
    });
    const f = await writeFile(home, "w.pt", "12345");
    await m.updateWeights({ weightsFilename: f, iteration: 99 });
    await m.setMetadata("acc", 0.9);
    await m.publish();
    const got = await Model.get(m.id, { store });
    assert.equal(got.id, m.id);
    assert.equal(got.name, "net");
    assert.equal(got.comment, `Created by task id: ${task.id}\nc`);
    assert.deepEqual(got.tags, ["a", "b"]);
    assert.deepEqual(got.systemTags, []);
    assert.equal(got.project, "vision");
    assert.equal(got.task, task.id);
    assert.equal(got.originalTask, task.id);
    assert.equal(got.parent, "");
    assert.equal(got.framework, "PyTorch");
    assert.equal(got.configText, '{"k": 1}');
    assert.deepEqual(got.configDict, { k: 1 });
    assert.deepEqual(got.labels, { bg: 0 });
    assert.equal(got.url, pathToFileUri(f));
    assert.equal(got.published, true);
    assert.equal(got.archived, false);
    assert.equal(got.iteration, 99);
    assert.equal(got.hash, await sha256Hex("12345"));
    assert.equal(got.size, 5);
    assert.ok(got.createdAt instanceof Date && got.createdAt <= got.lastUpdate);
    assert.ok(Math.abs(got.lastUpdate.getTime() - Date.now()) < 60_000);
    assert.deepEqual(got.toJSON().metadata, { acc: 0.9 });
    assert.equal(got.cursor.id, m.id);
    await rejectsWith(() => Model.get("nope", { store }), ModelNotFoundError, "MODEL_NOT_FOUND");
  });
});

Deno.test("getLocalCopy() copies the blob, honours targetDir and forceDownload, and getWeights() never extracts", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task });
    const f = await writeFile(home, "w.pt", "blob-bytes");
    await m.updateWeights({ weightsFilename: f });
    const got = await Model.get(m.id, { store });
    const p = (await got.getLocalCopy())!;
    assert.ok(p.startsWith(store.cacheDir), p);
    assert.ok(p.endsWith("w.pt"));
    assert.equal(await Deno.readTextFile(p), "blob-bytes");
    const blob = await Deno.stat(store.blobs.pathOf(got.hash));
    assert.notEqual((await Deno.stat(p)).ino, blob.ino, "a copy, not a link to the blob");
    await Deno.writeTextFile(p, "scribbled", { append: true });
    assert.equal(
      await Deno.readTextFile(store.blobs.pathOf(got.hash)),
      "blob-bytes",
      "writing to the copy leaves the blob alone",
    );
    await Deno.remove(p);
    assert.equal(await Deno.readTextFile((await got.getLocalCopy())!), "blob-bytes");
    assert.equal(await got.getWeights(), p);
    const target = join(home, "target");
    const t = (await got.getLocalCopy({ targetDir: target }))!;
    assert.equal(t, join(target, "w.pt"));
    assert.equal(await Deno.readTextFile(t), "blob-bytes");
    await Deno.remove(p);
    await Deno.writeTextFile(p, "tampered");
    assert.equal(await Deno.readTextFile((await got.getLocalCopy())!), "tampered");
    const again = (await got.getLocalCopy({ forceDownload: true }))!;
    assert.equal(await Deno.readTextFile(again), "blob-bytes", "forceDownload replaces the copy");
    // Without the blob, the file:// URI itself is used.
    await store.blobs.delete(got.hash);
    assert.equal(await got.getLocalCopy(), f);
    const copied = (await got.getLocalCopy({ targetDir: join(home, "t2") }))!;
    assert.equal(await Deno.readTextFile(copied), "blob-bytes");
  });
});

Deno.test("getLocalCopy() returns a registered file:// path as is and fails clearly when it is gone", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const f = await writeFile(home, "reg/model.onnx", "reg");
    const m = new OutputModel({ task });
    await m.updateWeights({ registerUri: pathToFileUri(f) });
    assert.equal(await m.getLocalCopy(), f);
    await Deno.remove(f);
    await rejectsWith(() => m.getLocalCopy(), WeightsNotFoundError, "WEIGHTS_NOT_FOUND");
    assert.equal(await m.getLocalCopy({ raiseOnError: false }), undefined);
    const none = await stored(task, "no weights");
    await rejectsWith(() => none.getWeights(), WeightsNotFoundError, "WEIGHTS_NOT_FOUND");
  });
});

Deno.test("getLocalCopy() downloads https weights from a server and verifies their hash", async () => {
  const bytes = new TextEncoder().encode("remote weights");
  const hash = await sha256Hex(bytes);
  let serveBad = false;
  const server = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === `/v1/blobs/sha256/${hash}` || path === "/plain/net.pt") {
      return new Response(serveBad ? "evil bytes" : bytes);
    }
    return new Response("missing", { status: 404 });
  });
  try {
    await withStore(async (store, home) => {
      const task = await newTask(store);
      const m = new OutputModel({ task });
      await m.setUploadDestination(server.url);
      const f = await writeFile(home, "net.pt", bytes);
      await m.updateWeights({ weightsFilename: f, autoDeleteFile: false });
      assert.equal(m.hash, hash);
      await store.blobs.delete(hash); // only the server has the bytes now
      const got = await Model.get(m.id, { store });
      const p = (await got.getLocalCopy())!;
      assert.deepEqual(await Deno.readFile(p), bytes);
      assert.equal(server.requests.length, 1);
      assert.equal(await got.getLocalCopy(), p, "the cached copy is reused");
      assert.equal(server.requests.length, 1);
      await got.getLocalCopy({ forceDownload: true });
      assert.equal(server.requests.length, 2, "forceDownload downloads again");
      serveBad = true;
      await assert.rejects(got.getLocalCopy({ forceDownload: true }), HashMismatchError);
      serveBad = false;
      const plain = new OutputModel({ task });
      await plain.updateWeights({ registerUri: `${server.url}/plain/net.pt` });
      assert.deepEqual(await Deno.readFile((await plain.getWeights())!), bytes);
      const gone = new OutputModel({ task });
      await gone.updateWeights({ registerUri: `${server.url}/missing.pt` });
      await rejectsWith(() => gone.getLocalCopy(), WeightsNotFoundError, "WEIGHTS_NOT_FOUND");
    });
  } finally {
    await server.close();
  }
});

Deno.test("archive() hides a model from queries until unarchive()", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = await stored(task, "hidden");
    await stored(task, "shown");
    await m.archive();
    assert.equal(m.archived, true);
    assert.deepEqual(m.systemTags, ["archived"]);
    assert.deepEqual(await names(store), ["shown"]);
    assert.deepEqual((await names(store, { includeArchived: true })).sort(), ["hidden", "shown"]);
    await m.unarchive();
    assert.equal((await Model.get(m.id, { store })).archived, false);
    assert.deepEqual(await names(store), ["hidden", "shown"]);
  });
});

Deno.test("setTags(), addTags() and removeTags() edit tags; setTags([]) clears them", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, tags: ["a"] });
    await m.addTags("b", "c", "b");
    assert.deepEqual(m.tags, ["a", "b", "c"]);
    await m.removeTags("a", "zzz");
    assert.deepEqual(m.tags, ["b", "c"]);
    await m.setTags(["c", "d"]);
    assert.deepEqual((await Model.get(m.id, { store })).tags, ["c", "d"]);
    await m.setTags([]);
    assert.deepEqual((await Model.get(m.id, { store })).tags, []);
    assert.deepEqual(await names(store, { tags: ["c"] }), []);
  });
});

Deno.test("metadata of every type round-trips through set, get, casted, all and remove", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task });
    await m.setMetadata("s", "text");
    await m.setMetadata("i", 42);
    await m.setMetadata("f", 0.25);
    await m.setMetadata("b", false);
    await m.setMetadata("l", [1, "two", null]);
    await m.setMetadata("d", { a: { b: [1] } });
    await m.setMetadata("forced", 7, "str");
    await m.setMetadata("fl", 3, "float");
    const got = await Model.get(m.id, { store });
    assert.deepEqual(got.getAllMetadata(), {
      s: { key: "s", type: "str", value: "text" },
      i: { key: "i", type: "int", value: "42" },
      f: { key: "f", type: "float", value: "0.25" },
      b: { key: "b", type: "bool", value: "false" },
      l: { key: "l", type: "list", value: '[1,"two",null]' },
      d: { key: "d", type: "dict", value: '{"a":{"b":[1]}}' },
      forced: { key: "forced", type: "str", value: "7" },
      fl: { key: "fl", type: "float", value: "3" },
    });
    assert.equal(got.getMetadata("i"), "42");
    assert.equal(got.getMetadataCasted("i"), 42);
    assert.equal(got.getMetadataCasted("b"), false);
    assert.equal(got.getMetadataCasted("forced"), "7");
    assert.deepEqual(got.getMetadataCasted("d"), { a: { b: [1] } });
    assert.equal(got.getMetadata("missing"), undefined);
    assert.deepEqual(got.getAllMetadataCasted(), {
      s: "text",
      i: 42,
      f: 0.25,
      b: false,
      l: [1, "two", null],
      d: { a: { b: [1] } },
      forced: "7",
      fl: 3,
    });
    await m.setAllMetadata({ x: { value: 1 }, s: { value: "new", type: "str" } }, false);
    assert.deepEqual(Object.keys(m.getAllMetadata()).sort(), [
      "b",
      "d",
      "f",
      "fl",
      "forced",
      "i",
      "l",
      "s",
      "x",
    ]);
    assert.equal(m.getMetadata("s"), "new");
    await m.setAllMetadata({ only: { value: true, type: "bool" } });
    assert.deepEqual((await Model.get(m.id, { store })).getAllMetadataCasted(), { only: true });
    await m.removeMetadata("only");
    assert.deepEqual((await Model.get(m.id, { store })).getAllMetadata(), {});
    await m.setMetadata("again", "yes");
    await m.setAllMetadata({});
    assert.deepEqual(
      (await Model.get(m.id, { store })).getAllMetadata(),
      {},
      "replace with {} clears",
    );
    await rejectsWith(
      () => m.setMetadata("k", 1, "complex" as "str"),
      InvalidArgumentError,
      "INVALID_ARGUMENT",
      "vType",
    );
  });
});

Deno.test("history() lists a model's events newest first with actor, type and changes", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, name: "h" });
    await m.addTags("x");
    await m.setName("h2");
    await m.setMetadata("k", 1);
    m.reportScalar("loss", "train", 0.5, 1);
    await m.flush(); // reports are stamped when their batch is written
    await m.publish();
    const h = await (await Model.get(m.id, { store })).history();
    assert.deepEqual(h.map((e) => e.type), [
      "model.published",
      "metric.scalars",
      "model.metadata_changed",
      "model.updated",
      "model.tags_changed",
      "model.created",
    ]);
    for (let i = 1; i < h.length; i++) assert.ok(h[i - 1]!.hlc > h[i]!.hlc);
    assert.ok(h.every((e) => e.actor === store.actor && e.origin === store.origin));
    assert.ok(h.every((e) => e.at instanceof Date));
    assert.deepEqual(h[1]!.changes, { title: "loss", series: "train", points: 1 });
    assert.deepEqual(h[3]!.changes, { fields: { name: "h2" } });
    assert.deepEqual(h[4]!.changes, { add: ["x"] });
    assert.equal(h[5]!.changes.name, "h");
    assert.equal((await m.history({ limit: 2 })).length, 2);
  });
});

// ------------------------------------------------------------------ Model.remove (Decision 9)

Deno.test("Model.remove({ deleteWeightsFile: false }) never deletes the weights", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task });
    const f = await writeFile(home, "w.pt", "keep");
    await m.updateWeights({ weightsFilename: f });
    assert.equal(await Model.remove(m, { deleteWeightsFile: false }), true);
    await rejectsWith(() => Model.get(m.id, { store }), ModelNotFoundError, "MODEL_NOT_FOUND");
    assert.deepEqual(await names(store, { includeArchived: true }), []);
    assert.ok(await store.blobs.has(m.hash));
    assert.equal(await Deno.readTextFile(f), "keep");
    assert.equal(
      await Model.remove(m, { raiseOnErrors: false }),
      false,
      "removing twice fails quietly when asked",
    );
    await rejectsWith(() => Model.remove(m), ModelNotFoundError, "MODEL_NOT_FOUND");
  });
});

Deno.test("Model.remove({ deleteWeightsFile: true }) deletes a blob only when no other model uses it", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const dest = join(home, "dest");
    const a = new OutputModel({ task, name: "a" });
    const b = new OutputModel({ task, name: "b" });
    const fa = await writeFile(home, "a.pt", "same bytes");
    const fb = await writeFile(home, "b.pt", "same bytes");
    await a.updateWeights({ weightsFilename: fa, uploadUri: dest });
    await b.updateWeights({ weightsFilename: fb, uploadUri: dest });
    assert.equal(a.hash, b.hash);
    assert.notEqual(a.url, b.url);
    await Model.remove(a, { deleteWeightsFile: true });
    assert.ok(await store.blobs.has(b.hash), "b still references the blob");
    assert.equal(await Deno.stat(new URL(a.url)).catch(() => null), null, "a's own file is gone");
    assert.ok((await Deno.stat(new URL(b.url))).isFile);
    const gotB = await Model.get(b.id, { store });
    assert.equal(await Deno.readTextFile((await gotB.getLocalCopy())!), "same bytes");
    await Model.remove(gotB);
    assert.equal(await store.blobs.has(b.hash), false, "the last reference took the blob with it");
    assert.equal(await Deno.stat(new URL(b.url)).catch(() => null), null);
  });
});

Deno.test("Model.remove() refuses a model used as a task input (MODEL_IN_USE) unless forced", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = await InputModel.importModel({ weightsUrl: "https://e.com/in.pt", store });
    await task.connect(m, "backbone");
    const n = await eventCount(store);
    await assert.rejects(Model.remove(m), (e: unknown) => {
      assert.ok(e instanceof ModelogError);
      assert.equal(e.code, "MODEL_IN_USE");
      assert.match(e.message, new RegExp(task.id));
      return true;
    });
    assert.equal(await eventCount(store), n, "a refused remove writes nothing");
    assert.equal(await Model.remove(m, { raiseOnErrors: false }), false);
    assert.equal(await Model.remove(m, { force: true }), true);
    await rejectsWith(() => Model.get(m.id, { store }), ModelNotFoundError, "MODEL_NOT_FOUND");
    const h = await m.history();
    assert.deepEqual(h[0]!.changes, { deleteWeightsFile: true, force: true });
  });
});

// ------------------------------------------------------------------ Decisions

Deno.test("queryModels() orders by last update after tag, metadata, publish, rename and comment edits", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const a = await stored(task, "a");
    await tick();
    const b = await stored(task, "b");
    await tick();
    const c = await stored(task, "c");
    assert.deepEqual(await names(store), ["c", "b", "a"], "newest first");
    await a.addTags("x");
    assert.deepEqual(await names(store), ["a", "c", "b"]);
    await b.setMetadata("k", 1);
    assert.deepEqual(await names(store), ["b", "a", "c"]);
    await c.publish();
    assert.deepEqual(await names(store), ["c", "b", "a"]);
    await a.setName("a2");
    assert.deepEqual(await names(store), ["a2", "c", "b"]);
    await b.setComment("note");
    assert.deepEqual(await names(store), ["b", "a2", "c"]);
    c.reportScalar("loss", "s", 1, 0);
    assert.deepEqual(await names(store), ["c", "b", "a2"], "reports count as updates too");
    const ms = await Model.queryModels({ store });
    for (let i = 1; i < ms.length; i++) assert.ok(ms[i - 1]!.lastUpdate >= ms[i]!.lastUpdate);
  });
});

Deno.test("queryModels() with maxResults > 500 returns every model once, and cursor paging agrees", async () => {
  await withStore(async (store) => {
    const n = 620;
    const events = [];
    const { newId } = await import("../../lib/clock.ts");
    for (let i = 0; i < n; i++) {
      events.push({
        stream: `model:${newId()}`,
        type: "model.created" as const,
        data: { name: `m${i}`, project: "bulk", tags: i % 2 ? ["odd"] : [] },
      });
    }
    await store.append(events);
    const all = await Model.queryModels({ store, projectName: "bulk", maxResults: 1000 });
    assert.equal(all.length, n);
    assert.equal(new Set(all.map((m) => m.id)).size, n);
    assert.equal((await Model.queryModels({ store, maxResults: 501 })).length, 501);
    assert.equal((await Model.queryModels({ store, maxResults: 0 })).length, 0);
    const paged: string[] = [];
    let after: { lastUpdate: string; id: string } | undefined;
    for (;;) {
      const page = await Model.queryModels({
        store,
        projectName: "bulk",
        maxResults: 97,
        ...(after ? { after } : {}),
      });
      if (page.length === 0) break;
      paged.push(...page.map((m) => m.id));
      after = page.at(-1)!.cursor;
    }
    assert.deepEqual(paged, all.map((m) => m.id));
    assert.equal(
      (await Model.queryModels({ store, tags: ["odd"], maxResults: 600 })).length,
      n / 2,
    );
  });
});

Deno.test("queryModels() honours -tag everywhere, project, name, published and archived", async () => {
  await withStore(async (store) => {
    const task = await newTask(store, "p1");
    const a = await stored(task, "a", ["x", "y"]);
    await stored(task, "b", ["x"]);
    await stored(task, "c", ["y"]);
    const other = await newTask(store, "p2");
    await stored(other, "a", ["x"]);
    await a.publish();
    const sorted = async (f: Record<string, unknown>) => (await names(store, f)).sort();
    assert.deepEqual(await sorted({ tags: ["-y"] }), ["a", "b"]);
    assert.deepEqual(await sorted({ tags: ["__$all", "x", "-y"], projectName: "p1" }), ["b"]);
    assert.deepEqual(await sorted({ tags: ["x", "__$not", "y"], projectName: "p1" }), ["b"]);
    assert.deepEqual(await sorted({ tags: ["__$any", "-x", "y"], projectName: "p1" }), ["a", "c"]);
    assert.deepEqual(await sorted({ modelName: "a" }), ["a", "a"]);
    assert.deepEqual(await sorted({ modelName: "a", projectName: "p2" }), ["a"]);
    assert.deepEqual(await sorted({ onlyPublished: true }), ["a"]);
  });
});

Deno.test("queryModels() metadata filters compare numbers and booleans as their stored strings", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const a = await stored(task, "a");
    await a.setMetadata("epochs", 10);
    await a.setMetadata("ok", true);
    await a.setMetadata("lr", 0.5);
    const b = await stored(task, "b");
    await b.setMetadata("epochs", "10");
    await b.setMetadata("ok", false);
    const sorted = async (f: Record<string, unknown>) => (await names(store, f)).sort();
    assert.deepEqual(await sorted({ metadata: { epochs: 10 } }), ["a", "b"]);
    assert.deepEqual(await sorted({ metadata: { epochs: "10", ok: true } }), ["a"]);
    assert.deepEqual(await sorted({ metadata: { ok: false } }), ["b"]);
    assert.deepEqual(await sorted({ metadata: { lr: 0.5 } }), ["a"]);
    assert.deepEqual(await sorted({ metadata: { lr: "0.50" } }), [], "exact string match");
    assert.deepEqual(await sorted({ metadata: { lr: [null] } }), ["b"], "null: key not set");
  });
});

Deno.test("setting a field to empty clears it (comment, tags, metadata, design)", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, tags: ["t"], configText: "x", comment: "c" });
    await m.setMetadata("k", "v");
    await m.setComment("");
    await m.setTags([]);
    await m.setAllMetadata({});
    await m.updateDesign({ configText: "" });
    await m.updateLabels({});
    const got = await Model.get(m.id, { store });
    assert.equal(got.comment, "");
    assert.deepEqual(got.tags, []);
    assert.deepEqual(got.getAllMetadata(), {});
    assert.equal(got.configText, "");
    assert.deepEqual(got.labels, {});
    const rebuilt = await store.dump({ tables: ["models", "model_tags", "model_metadata"] });
    await store.rebuild();
    assert.deepEqual(
      await store.dump({ tables: ["models", "model_tags", "model_metadata"] }),
      rebuilt,
    );
  });
});

Deno.test("publish() locks weights, design, labels and framework but not tags, metadata, archive or reports", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = new OutputModel({ task, labelEnumeration: { a: 1 } });
    const f = await writeFile(home, "w.pt", "w");
    await m.updateWeights({ weightsFilename: f });
    await m.publish();
    await m.publish(); // a second publish is a no-op
    assert.equal(
      (await m.history()).filter((h) => h.type === "model.published").length,
      1,
    );
    const before = await store.dump();
    const n = await eventCount(store);
    await rejectsWith(
      () => m.updateWeights({ weightsFilename: f }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    await rejectsWith(
      () => m.updateWeights({ registerUri: "https://e.com/x.pt" }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    await rejectsWith(
      () => m.updateWeightsPackage({ weightsFilenames: [f] }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    await rejectsWith(
      () => m.updateDesign({ configText: "x" }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    await rejectsWith(() => m.updateLabels({ b: 2 }), ModelPublishedError, "MODEL_PUBLISHED");
    await rejectsWith(() => m.setUploadDestination(home), ModelPublishedError, "MODEL_PUBLISHED");
    assert.equal(await eventCount(store), n);
    assert.deepEqual(await store.dump(), before);
    assert.ok((await Deno.stat(f)).isFile);

    await m.addTags("released");
    await m.setMetadata("approved", true);
    await m.archive();
    await m.unarchive();
    m.reportScalar("eval", "acc", 0.9, 1);
    m.reportSingleValue("f1", 0.8);
    m.reportHistogram({ title: "h", series: "s", values: [1, 2] });
    const got = await Model.get(m.id, { store });
    assert.deepEqual(got.tags, ["released"]);
    assert.equal(got.getMetadataCasted("approved"), true);
    assert.deepEqual(await got.getReportedScalars(), { eval: { acc: { x: [1], y: [0.9] } } });
    assert.deepEqual(await got.getReportedSingleValues(), { f1: 0.8 });
    assert.equal((await got.getReportedPlots()).length, 1);
    assert.equal(got.published, true);
  });
});

Deno.test("a published model stays locked through a stale OutputModel handle", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = await stored(task, "stale");
    await (await Model.get(m.id, { store })).publish();
    await rejectsWith(() => m.updateLabels({ x: 1 }), ModelPublishedError, "MODEL_PUBLISHED");
    await rejectsWith(
      () => m.updateDesign({ configText: "x" }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    await rejectsWith(
      () => m.updateWeights({ registerUri: "https://e.com/x.pt" }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    const got = await Model.get(m.id, { store });
    assert.deepEqual(got.labels, {});
    assert.equal(got.url, "");
  });
});

Deno.test("re-binding a published model with baseModelId cannot change its locked fields", async () => {
  await withStore(async (store) => {
    const t1 = await newTask(store);
    const base = new OutputModel({ task: t1, labelEnumeration: { a: 1 } });
    await base.updateWeights({ registerUri: "https://e.com/base.pt" });
    await base.publish();
    const t2 = await newTask(store, "p", "second");
    const m = new OutputModel({ task: t2, baseModelId: base.id, labelEnumeration: { b: 2 } });
    await rejectsWith(() => m.setMetadata("k", 1), ModelPublishedError, "MODEL_PUBLISHED");
    const w = new OutputModel({ task: t2, baseModelId: base.id });
    await rejectsWith(
      () => w.updateWeights({ registerUri: "https://e.com/other.pt" }),
      ModelPublishedError,
      "MODEL_PUBLISHED",
    );
    const got = await Model.get(base.id, { store });
    assert.deepEqual(got.labels, { a: 1 });
    assert.equal(got.url, "https://e.com/base.pt");
  });
});

Deno.test("setTags() on an old handle replaces the stored tags, not the handle's stale copy", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = await stored(task, "m", ["a"]);
    const old = await Model.get(m.id, { store });
    await m.addTags("b");
    await old.setTags([]);
    assert.deepEqual((await Model.get(m.id, { store })).tags, []);
    await m.setMetadata("x", 1);
    await old.setAllMetadata({ y: { value: 2 } });
    assert.deepEqual((await Model.get(m.id, { store })).getAllMetadataCasted(), { y: 2 });
  });
});

Deno.test("scalars keep NaN and Infinity, and re-reporting an iteration overwrites in reads", async () => {
  await withStore(async (store) => {
    const task = await newTask(store);
    const m = await stored(task, "m");
    m.reportScalar("loss", "train", 1, 0);
    m.reportScalar("loss", "train", NaN, 1);
    m.reportScalar("loss", "train", Infinity, 2);
    m.reportScalar("loss", "train", -Infinity, 3);
    m.reportScalar("loss", "train", 5, 0);
    await m.flush();
    const s = await m.getReportedScalars();
    assert.deepEqual(s.loss!.train!.x, [0, 1, 2, 3]);
    assert.deepEqual(s.loss!.train!.y, [5, NaN, Infinity, -Infinity]);
    const [sum] = await m.getScalarSummary();
    assert.equal(sum!.count, 5);
    assert.equal(sum!.last, 5);
    assert.equal(sum!.min, 1);
    assert.equal(sum!.max, 5);
    m.reportScalar("loss", "train", Infinity, 4);
    await m.flush();
    assert.equal((await m.getScalarSummary())[0]!.last, Infinity);
  });
});

// ------------------------------------------------------------------ bad input

Deno.test("bad input gets the right error naming the field, and leaves the store unchanged", async () => {
  await withStore(async (store, home) => {
    const task = await newTask(store);
    const m = await stored(task, "victim");
    m.reportScalar("a", "b", 1, 1);
    await m.flush();
    const before = await store.dump();
    const n = await eventCount(store);
    const bad = async (
      fn: () => unknown,
      field: string,
      cls: new (...a: never[]) => ModelogError = InvalidArgumentError,
      code = "INVALID_ARGUMENT",
    ) => {
      await assert.rejects(async () => await fn(), (e: unknown) => {
        assert.ok(e instanceof cls, `${field}: expected ${cls.name}, got ${e}`);
        assert.equal((e as ModelogError).code, code, field);
        if (e instanceof InvalidArgumentError) assert.equal(e.field, field);
        else assert.ok((e as Error).message.includes(field), (e as Error).message);
        return true;
      });
    };
    await bad(() => Task.init({ projectName: "", taskName: "t", store }), "projectName");
    await bad(() => Task.init({ projectName: "p", taskName: "  ", store }), "taskName");
    await bad(
      () => Task.init({ projectName: "p", taskName: 5 as unknown as string, store }),
      "taskName",
    );
    await bad(() => new OutputModel({ task, name: "" }), "name");
    await bad(() => new OutputModel({ task, tags: [""] }), "tags");
    await bad(() => new OutputModel({ task, tags: "x" as unknown as string[] }), "tags");
    await bad(() => m.setName(""), "name");
    await bad(() => m.setName(3 as unknown as string), "name");
    await bad(() => m.setProject(""), "project");
    await bad(() => m.addTags(1 as unknown as string), "tags");
    await bad(() => m.setTags("a" as unknown as string[]), "tags");
    await bad(() => m.updateLabels({ car: 1.5 }), "labels.car");
    await bad(() => m.updateLabels({ car: "1" as unknown as number }), "labels.car");
    await bad(() => m.updateLabels([] as unknown as Record<string, number>), "labels");
    await bad(() => new OutputModel({ task, labelEnumeration: { x: NaN } }), "labelEnumeration.x");
    await bad(() => m.setMetadata("", 1), "key");
    await bad(() => m.setMetadata("  ", 1), "key");
    await bad(() => m.setMetadata("k", undefined), "metadata.k");
    await bad(() => m.setMetadata("k", () => 1), "metadata.k");
    await bad(() => m.setAllMetadata({ "": { value: 1 } }), "key");
    await bad(() => m.setAllMetadata({ k: 1 as unknown as { value: unknown } }), "metadata.k");
    await bad(() => m.removeMetadata(""), "key");
    await bad(() => m.reportScalar("loss", "s", "1" as unknown as number, 0), "value");
    await bad(() => m.reportScalar("loss", "s", 1, 1.5), "iteration");
    await bad(() => m.reportScalar("", "s", 1, 1), "title");
    await bad(() => m.updateWeights({ weightsFilename: "" }), "weightsFilename");
    await bad(
      () => m.updateWeights({ weightsFilename: join(home, "a.pt"), iteration: 1.5 }),
      "iteration",
    );
    await bad(
      () => m.updateWeights({ weightsFilename: join(home, "missing.pt") }),
      join(home, "missing.pt"),
      WeightsNotFoundError,
      "WEIGHTS_NOT_FOUND",
    );
    await bad(
      () => m.updateWeightsPackage({ weightsFilenames: [join(home, "missing.bin")] }),
      join(home, "missing.bin"),
      WeightsNotFoundError,
      "WEIGHTS_NOT_FOUND",
    );
    await bad(() => m.updateWeightsPackage({ weightsFilenames: [] }), "weightsFilenames");
    const unknown = "0123456789abcdef0123456789abcdef";
    await bad(() => Model.get(unknown, { store }), unknown, ModelNotFoundError, "MODEL_NOT_FOUND");
    await bad(() => Model.get("", { store }), "id");
    await bad(
      () => InputModel.get({ modelId: unknown, store }),
      unknown,
      ModelNotFoundError,
      "MODEL_NOT_FOUND",
    );
    await bad(() => InputModel.importModel({ weightsUrl: "", store }), "weightsUrl");
    await bad(() => InputModel.importModel({ weightsUrl: "ftp://x/y.pt", store }), "weightsUrl");
    await bad(
      () =>
        InputModel.importModel({
          weightsUrl: "https://x/y.pt",
          labelEnumeration: { a: 0.1 },
          store,
        }),
      "labelEnumeration.a",
    );
    await bad(
      () => InputModel.importModel({ weightsUrl: "https://x/y.pt", name: "", store }),
      "name",
    );
    await bad(() => Model.queryModels({ store, maxResults: -1 }), "maxResults");
    await bad(() => Model.queryModels({ store, tags: [5 as unknown as string] }), "tags[0]");
    await bad(
      () => Model.remove(new Model(unknown, store)),
      unknown,
      ModelNotFoundError,
      "MODEL_NOT_FOUND",
    );
    assert.equal(await eventCount(store), n, "no event was written");
    assert.deepEqual(await store.dump(), before, "no projection changed");
    assert.equal(store.pendingReports, 0, "no bad report was queued");
  });
});
