/**
 * What a ClearML user types works: `null` as "not given", the docstrings' positional report
 * calls, `new InputModel({ modelId })`, the Task members that touch models, weights options,
 * system tags, checked output URIs and metadata types, ClearML-shaped figures.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  InputModel,
  InvalidArgumentError,
  Model,
  ModelogError,
  OutputModel,
  type Store,
  Task,
  WeightsNotFoundError,
} from "../../mod.ts";
import { withStore, withTempDir, writeFile } from "../fixtures/helpers.ts";

async function stored(store: Store, name = "net"): Promise<{ task: Task; model: OutputModel }> {
  const task = await Task.init({ projectName: "p", taskName: "t", store });
  const model = new OutputModel({ task, name });
  await model.addTags("seed");
  return { task, model };
}

Deno.test("null means not given in every option (queryModels, get, reports, weights, task)", async () => {
  await withStore(async (store, home) => {
    const task = await Task.init({
      projectName: "p",
      taskName: "t",
      store,
      tags: null,
      outputUri: null,
    });
    const model = new OutputModel({
      task,
      name: "n",
      tags: null,
      labelEnumeration: null,
      configText: null,
      comment: null,
    });
    const file = await writeFile(home, "w.bin", "abc");
    await model.updateWeights({ weightsFilename: file, iteration: null, uploadUri: null });
    const found = await Model.queryModels({
      store,
      projectName: "p",
      modelName: null,
      tags: null,
      onlyPublished: null,
      includeArchived: null,
      maxResults: null,
      metadata: null,
    });
    assert.deepEqual(found.map((m) => m.id), [model.id]);
    model.reportHistogram({
      title: "h",
      series: "s",
      values: [1, 2],
      iteration: null,
      labels: null,
      xlabels: null,
      mode: null,
      dataArgs: null,
      extraLayout: null,
    });
    model.reportScatter2d({
      title: "sc",
      series: "s",
      scatter: [[0, 1]],
      mode: null,
      comment: null,
    });
    await model.setMetadata("k", 1, null);
    assert.equal((await InputModel.get({ modelId: model.id, store }, { store: null })).name, "n");
    assert.ok(await model.getLocalCopy({ extractArchive: null, raiseOnError: null }));
    const plots = await model.getReportedPlots();
    assert.deepEqual(plots.map((p) => p.kind).sort(), ["histogram", "scatter2d"]);
    assert.equal(model.getMetadataCasted("k"), 1);
  });
});

Deno.test("every report whose ClearML signature starts with title and series takes (title, series, options)", async () => {
  await withStore(async (store) => {
    const { model } = await stored(store);
    model.reportHistogram("h", "s", { values: [1, 2], iteration: 1 });
    model.reportVector("v", "s", { values: [1, 2] });
    await model.reportTable("t", "s", { tablePlot: [["a"], [1]] });
    model.reportLinePlot("l", [{ name: "a", data: [[0, 1]] }], { xaxis: "x", yaxis: "y" });
    model.reportScatter2d("sc", "s", { scatter: [[0, 1]], iteration: 2 });
    model.reportScatter3d("s3", "s", { scatter: [[0, 1, 2]] });
    model.reportConfusionMatrix("cm", "s", { matrix: [[1, 2], [3, 4]], iteration: 1 });
    model.reportMatrix("m", "s", { matrix: [[1]] });
    model.reportSurface("sf", "s", { matrix: [[1, 2], [3, 4]] });
    const plots = await model.getReportedPlots();
    assert.deepEqual(
      plots.map((p) => `${p.kind}:${p.title}/${p.series}@${p.iteration}`).sort(),
      [
        "confusion_matrix:cm/s@1",
        "histogram:h/s@1",
        "line:l/@0",
        "matrix:m/s@0",
        "scatter2d:sc/s@2",
        "scatter3d:s3/s@0",
        "surface:sf/s@0",
        "table:t/s@0",
        "vector:v/s@0",
      ],
    );
    assert.throws(
      // @ts-expect-error: a bad options argument is refused, naming it
      () => model.reportHistogram("h", "s", 5),
      (e) => e instanceof InvalidArgumentError && e.field === "options",
    );
  });
});

Deno.test("new InputModel({ modelId }) is a lazy handle: async calls load it, fields before say so", async () => {
  await withStore(async (store) => {
    const { task, model } = await stored(store, "backbone");
    const lazy = new InputModel({ modelId: model.id, store });
    assert.throws(
      () => lazy.name,
      (e) =>
        e instanceof ModelogError && /InputModel/.test(e.message) && e.message.includes(model.id),
    );
    await task.connect(lazy);
    assert.equal(lazy.name, "backbone");
    assert.equal(task.inputModelsId["Input Model"], model.id);
    const other = new InputModel(model.id, store);
    await other.reload();
    assert.deepEqual(other.tags, ["seed"]);
    assert.throws(
      // @ts-expect-error: a name lookup needs a query, so it must go through InputModel.get
      () => new InputModel({ name: "backbone" }),
      (e) => e instanceof InvalidArgumentError && /InputModel\.get/.test(e.message),
    );
  });
});

Deno.test("Task members: labels, config, design, setInputModel, models ids, getTask; OutputModel inherits", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    task.setModelLabelEnumeration({ cat: 1, dog: 2 });
    task.setModelConfig({ configDict: { layers: 3 } });
    assert.deepEqual(task.getLabelsEnumeration(), { cat: 1, dog: 2 });
    assert.deepEqual(task.getModelConfigDict(), { layers: 3 });
    assert.equal(task.getModelDesign(), task.getModelConfigText());
    const out = new OutputModel({ task, name: "o" });
    assert.deepEqual(out.labels, { cat: 1, dog: 2 });
    assert.deepEqual(out.configDict, { layers: 3 });
    await out.addTags("x");
    assert.deepEqual(task.outputModelsId, { "Output Model #0": out.id });

    const src = new OutputModel({
      task,
      name: "base",
      labelEnumeration: { a: 0 },
      configText: '{"k":1}',
    });
    await src.addTags("y");
    const t2 = await Task.init({ projectName: "p", taskName: "eval", store });
    const input = await t2.setInputModel({ modelId: src.id, name: "init" });
    assert.equal(input.id, src.id);
    assert.deepEqual(t2.getLabelsEnumeration(), { a: 0 });
    assert.equal(t2.getModelConfigText(), '{"k":1}');
    assert.deepEqual(t2.inputModelsId, { init: src.id });
    await t2.setInputModel({ modelName: "o", updateTaskDesign: false, updateTaskLabels: false });
    assert.deepEqual(t2.getLabelsEnumeration(), { a: 0 });

    const byId = await Task.getTask({ taskId: t2.id, store });
    assert.equal(byId.name, "eval");
    assert.deepEqual(byId.inputModelsId, t2.inputModelsId);
    const byName = await Task.getTask({ projectName: "p", taskName: "t", store });
    assert.equal(byName.id, task.id);
    assert.deepEqual(byName.outputModelsId["Output Model #0"], out.id);
    await assert.rejects(
      () => Task.getTask({ projectName: "p", taskName: "nope", store }),
      (e) => e instanceof ModelogError && e.code === "TASK_NOT_FOUND",
    );
    await t2.close();
  });
});

Deno.test("getWeights(extractArchive), getWeightsPackage(raiseOnError, extractArchive), getLocalCopy raising", async () => {
  await withStore(async (store, home) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const pkg = new OutputModel({ task, name: "pkg" });
    await writeFile(home, "src/a.txt", "a");
    await writeFile(home, "src/b.txt", "b");
    await pkg.updateWeightsPackage({ weightsPath: join(home, "src"), autoDeleteFile: false });
    const zip = await pkg.getWeights();
    assert.ok(zip!.endsWith(".zip") && (await Deno.stat(zip!)).isFile);
    const dir = await pkg.getWeights({ extractArchive: true });
    assert.ok((await Deno.stat(dir!)).isDirectory);
    const entries = await pkg.getWeightsPackage();
    assert.deepEqual((entries as string[]).map((p) => p.slice(-5)), ["a.txt", "b.txt"]);
    const zipped = await pkg.getWeightsPackage({ extractArchive: false, returnPath: true });
    assert.ok((zipped as string).endsWith(".zip"));

    const gone = new OutputModel({ task, name: "gone" });
    await gone.updateWeights({ registerUri: join(home, "missing.pt") });
    await assert.rejects(() => gone.getLocalCopy(), WeightsNotFoundError);
    assert.equal(await gone.getLocalCopy({ raiseOnError: false }), undefined);
    assert.equal(
      await pkg.getWeightsPackage({ raiseOnError: false, forceDownload: true }) !== undefined,
      true,
    );
    await assert.rejects(
      () => gone.getWeightsPackage({ raiseOnError: false }),
      InvalidArgumentError,
    );
  });
});

Deno.test("setSystemTags archives and unarchives; other system tags are refused", async () => {
  await withStore(async (store) => {
    const { model } = await stored(store);
    await model.setSystemTags(["archived"]);
    assert.equal(model.archived, true);
    assert.deepEqual(model.systemTags, ["archived"]);
    await model.setSystemTags([]);
    assert.equal(model.archived, false);
    await assert.rejects(
      () => model.setSystemTags(["shared"]),
      (e) => e instanceof InvalidArgumentError && e.value === "shared",
    );
    await assert.rejects(() => model.setSystemTags(["package"]), InvalidArgumentError);
  });
});

Deno.test("task.outputUri refuses a folder that cannot be written", async () => {
  await withStore(async (store, home) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const file = await writeFile(home, "a-file", "x");
    assert.throws(
      () => (task.outputUri = join(file, "sub")),
      (e) => e instanceof InvalidArgumentError && e.field === "outputUri",
    );
    assert.throws(() => (task.outputUri = "ftp://host/x"), InvalidArgumentError);
    task.outputUri = join(home, "uploads");
    assert.equal(task.outputUri, join(home, "uploads"));
    task.outputUri = "https://models.example.com";
    task.outputUri = null;
    assert.equal(task.outputUri, undefined);
    await assert.rejects(
      () => Task.init({ projectName: "p", taskName: "t2", store, outputUri: join(file, "x") }),
      (e) => e instanceof InvalidArgumentError && e.field === "outputUri",
    );
  });
});

Deno.test("setMetadata refuses a value that is not of its named type", async () => {
  await withStore(async (store) => {
    const { model } = await stored(store);
    await assert.rejects(
      () => model.setMetadata("epochs", "ten", "int"),
      (e) => e instanceof InvalidArgumentError && e.value === "ten" && /int/.test(e.message),
    );
    await assert.rejects(() => model.setMetadata("lr", "fast", "float"), InvalidArgumentError);
    await assert.rejects(() => model.setMetadata("ok", "maybe", "bool"), InvalidArgumentError);
    await assert.rejects(() => model.setMetadata("l", "{}", "list"), InvalidArgumentError);
    await assert.rejects(() => model.setMetadata("e", 1.5, "int"), InvalidArgumentError);
    await model.setMetadata("epochs", "10", "int");
    await model.setMetadata("lr", "0.1", "float");
    await model.setMetadata("l", "[1,2]", "list");
    assert.equal(model.getMetadataCasted("epochs"), 10);
    assert.deepEqual(model.getMetadataCasted("l"), [1, 2]);
    assert.equal(model.getMetadata("epochs"), "10");
  });
});

Deno.test("figures: CSV header cells are one-element lists; NaN and Infinity read back as ClearML strings", async () => {
  await withTempDir(async (dir) => {
    await withStore(async (store) => {
      const { model } = await stored(store);
      const csv = await writeFile(dir, "t.csv", ",num_legs,ratio\nfalcon,2,0.5\n");
      await model.reportTable("t", "s", { csv });
      model.reportScatter2d("sc", "s", { scatter: [[0, NaN], [1, Infinity], [2, -Infinity]] });
      model.reportConfusionMatrix("cm", "s", { matrix: [[NaN, 1]] });
      const plots = await model.getReportedPlots();
      const table = plots.find((p) => p.kind === "table")!.figure.data[0] as {
        header: { values: unknown[] };
      };
      assert.deepEqual(table.header.values, [[""], ["num_legs"], ["ratio"]]);
      const sc = plots.find((p) => p.kind === "scatter2d")!.figure.data[0] as { y: unknown[] };
      assert.deepEqual(sc.y, ["nan", "inf", "-inf"]);
      const cm = plots.find((p) => p.kind === "confusion_matrix")!.figure.data[0] as {
        z: unknown[][];
      };
      assert.deepEqual(cm.z, [["nan", 1]]);
      for (const p of plots) {
        assert.deepEqual(JSON.parse(JSON.stringify(p.figure)), p.figure);
      }
    });
  });
});
