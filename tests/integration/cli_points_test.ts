// The CLI's paper cuts, one step each: flag values starting with "-", the paging cursor in
// --json, one stable JSON object per command (a shape check per command), a missing store,
// --version, ports, examples in --help, export-csv to stdout, the new model commands, id
// prefixes and safe downloads.
import assert from "node:assert/strict";
import { join } from "node:path";
import { InputModel, openStore, OutputModel, startServer, Task } from "../../mod.ts";
import { VERSION } from "../../lib/version.ts";
import { COMMANDS } from "../../lib/cli/commands.ts";
import { cli, ok, type Run } from "../fixtures/cli_run.ts";

function json<T = any>(r: Run, what: string): T {
  ok(r, what);
  assert.ok(r.stdout.startsWith("{\n  "), `${what}: one pretty JSON object: ${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/** A type name per key: "string", "number", "boolean", "array", "object", "null", or "a|b". */
type Shape = Record<string, string>;

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** The object has exactly the keys of `shape`, each of one of its types. */
function assertShape(v: unknown, shape: Shape, what: string): void {
  assert.equal(typeName(v), "object", `${what}: an object`);
  const o = v as Record<string, unknown>;
  assert.deepEqual(Object.keys(o).sort(), Object.keys(shape).sort(), `${what}: keys`);
  for (const [k, t] of Object.entries(shape)) {
    assert.ok(t.split("|").includes(typeName(o[k])), `${what}.${k}: ${typeName(o[k])} not ${t}`);
  }
}

const MODEL_SHAPE_KEYS = ["id", "name", "project", "tags", "published", "archived", "lastUpdate"];
const ROW: Shape = { key: "string", values: "array", differs: "boolean" };

Deno.test("cli.ts: each point of the CLI, with a JSON shape check per command", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "modelog-cli-points-" });
  const home = join(dir, "home");
  const H = ["--home", home];
  const server = await startServer({ port: 0, db: join(dir, "server.db"), log: () => {} });
  try {
    const store = await openStore({ home });
    const task = await Task.init({ projectName: "p", taskName: "train", store });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const m = new OutputModel({ task, name: `net${i}`, tags: i % 2 ? ["draft"] : ["best"] });
      const f = join(dir, `w${i}.bin`);
      await Deno.writeFile(f, new Uint8Array(100 + i).fill(i));
      await m.updateWeights({ weightsFilename: f, autoDeleteFile: false });
      m.reportScalar("loss", "train", 1 / (i + 1), 1);
      m.reportScalar("loss", "train", 1 / (i + 2), 2);
      await m.flush();
      ids.push(m.id);
    }
    await task.close();
    // Two models whose ids share the prefix "abcdef".
    const twins = ["abcdef" + "0".repeat(25) + "1", "abcdef" + "0".repeat(25) + "2"];
    for (const id of twins) {
      await store.append([{
        stream: `model:${id}`,
        type: "model.created",
        data: { name: "twin", project: "p", comment: "", tags: [] },
      }]);
    }
    // A model whose weights file is a dot-file.
    const hidden = join(dir, "src", ".bashrc");
    await Deno.mkdir(join(dir, "src"));
    await Deno.writeTextFile(hidden, "x");
    const dot = await InputModel.importModel({ weightsUrl: hidden, name: "dot", store });
    await store.close();
    const [a, b, c] = ids as [string, string, string];

    await t.step("a flag value starting with - (--tags -draft)", async () => {
      const [spaced, joined] = await Promise.all([
        cli(["models", "list", "--tags", "-draft", "--json", ...H]),
        cli(["models", "list", "--tags=-draft", "--json", ...H]),
      ]);
      const got = json(spaced, "--tags -draft").models.map((m: { id: string }) => m.id);
      assert.deepEqual(got, json(joined, "--tags=-draft").models.map((m: { id: string }) => m.id));
      assert.ok(got.includes(a) && !got.includes(b));
    });

    await t.step("models list --json: {models, next} and paging by next", async () => {
      const p1 = json(await cli(["models", "list", "--json", "--limit", "2", ...H]), "list");
      assertShape(p1, { models: "array", next: "string" }, "models list");
      for (const k of MODEL_SHAPE_KEYS) assert.ok(k in p1.models[0], `model JSON has ${k}`);
      const p2 = json(
        await cli(["models", "list", "--json", "--limit", "0", "--after", p1.next, ...H]),
        "list --after",
      );
      assertShape(p2, { models: "array", next: "null" }, "models list (last page)");
      const all = json(await cli(["models", "list", "--json", "--limit", "0", ...H]), "list");
      assert.deepEqual(
        [...p1.models, ...p2.models].map((m: { id: string }) => m.id),
        all.models.map((m: { id: string }) => m.id),
      );
    });

    await t.step("id prefixes: unique, ambiguous, too short", async () => {
      const s = json(await cli(["models", "show", a.slice(0, 6), "--json", ...H]), "show");
      assertShape(s, {
        model: "object",
        metadata: "object",
        labels: "object",
        weights: "object",
        lineage: "object",
        singleValues: "object",
        scalarSummary: "array",
        plots: "array",
      }, "models show");
      assert.equal(s.model.id, a);
      const amb = await cli(["models", "show", "abcdef", ...H]);
      assert.equal(amb.code, 1);
      assert.match(amb.stderr, /ambiguous/);
      assert.ok(twins.every((id) => amb.stderr.includes(id)), amb.stderr);
      const short = await cli(["models", "show", a.slice(0, 4), ...H]);
      assert.equal(short.code, 1);
      assert.match(short.stderr, /MODEL_NOT_FOUND: .*at least 6 hex digits/);
    });

    await t.step("history, state and tag commands: JSON shapes", async () => {
      const h = json(await cli(["models", "history", a.slice(0, 8), "--json", ...H]), "history");
      assertShape(h, { id: "string", entries: "array" }, "models history");
      assertShape(h.entries[0], {
        id: "string",
        type: "string",
        at: "string",
        hlc: "string",
        actor: "string",
        origin: "string",
        changes: "object",
      }, "history entry");
      for (const action of ["archive", "unarchive", "publish"]) {
        const r = json(await cli(["models", action, c, "--json", ...H]), action);
        assertShape(r, { id: "string", published: "boolean", archived: "boolean" }, action);
      }
      const tg = json(await cli(["models", "tag", b, "+x", "-draft", "--json", ...H]), "tag");
      assertShape(tg, { id: "string", tags: "array" }, "models tag");
      assert.deepEqual(tg.tags, ["x"]);
    });

    await t.step("models meta set|get", async () => {
      const set = json(
        await cli([
          "models",
          "meta",
          "set",
          a,
          "epochs=10",
          "lr=0.5",
          "--type",
          "float",
          ...H,
          "--json",
        ]),
        "meta set",
      );
      assertShape(set, { id: "string", metadata: "object" }, "models meta set");
      assertShape(set.metadata.epochs, { key: "string", type: "string", value: "string" }, "entry");
      assert.equal(set.metadata.lr.type, "float");
      ok(await cli(["models", "meta", "set", a, "dataset=imagenet", ...H]), "meta set (text)");
      const got = json(await cli(["models", "meta", "get", a, "--json", ...H]), "meta get");
      assertShape(got, { id: "string", metadata: "object" }, "models meta get");
      assert.deepEqual(Object.keys(got.metadata).sort(), ["dataset", "epochs", "lr"]);
      const one = ok(await cli(["models", "meta", "get", a, "dataset", ...H]), "meta get KEY");
      assert.equal(one.stdout.trim(), "imagenet");
      const none = await cli(["models", "meta", "get", a, "nope", ...H]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /"nope"/);
    });

    await t.step("models compare: text marks differences, --json is compareModels", async () => {
      const j = json(await cli(["models", "compare", a, b.slice(0, 7), "--json", ...H]), "compare");
      assertShape(j, {
        ids: "array",
        fields: "array",
        tags: "array",
        metadata: "array",
        labels: "array",
        singleValues: "array",
        scalars: "array",
      }, "models compare");
      assertShape(j.fields[0], ROW, "compared row");
      assert.deepEqual(j.ids, [a, b]);
      const name = j.fields.find((r: { key: string }) => r.key === "name");
      assert.deepEqual(name, { key: "name", values: ["net0", "net1"], differs: true });
      const text = ok(await cli(["models", "compare", a, b, ...H]), "compare (text)");
      assert.match(text.stdout, /^fields:$/m);
      assert.match(text.stdout, /^\*\s+name\s+net0\s+net1$/m);
      const one = await cli(["models", "compare", a, ...H]);
      assert.equal(one.code, 2);
    });

    await t.step(
      "download: inside DIR only, no dot-files, no overwrite without --force",
      async () => {
        const out = join(dir, "out");
        const d = json(await cli(["models", "download", a, out, "--json", ...H]), "download");
        assertShape(d, { id: "string", path: "string" }, "models download");
        assert.equal(d.path, join(out, "w0.bin"));
        await Deno.writeTextFile(d.path, "mine");
        const again = await cli(["models", "download", a, out, ...H]);
        assert.equal(again.code, 1);
        assert.match(again.stderr, /already has w0\.bin: pass --force/);
        assert.equal(await Deno.readTextFile(d.path), "mine", "not replaced");
        ok(await cli(["models", "download", a, out, "--force", ...H]), "download --force");
        assert.equal((await Deno.readFile(d.path)).length, 100);
        const dotRun = await cli(["models", "download", dot.id, out, ...H]);
        assert.equal(dotRun.code, 1);
        assert.match(dotRun.stderr, /"\.bashrc".*dot-files/);
        const names = [];
        for await (const e of Deno.readDir(out)) names.push(e.name);
        assert.deepEqual(names, ["w0.bin"], "nothing else written");
      },
    );

    await t.step("export-csv -o - writes to stdout; report and export-csv JSON", async () => {
      const r = ok(await cli(["export-csv", a, "-o", "-", ...H], { cwd: dir }), "export -o -");
      assert.ok(r.stdout.startsWith("title,series,iteration,value\n"), r.stdout);
      assert.equal(r.stdout.trim().split("\n").length, 3);
      assert.ok(!(await Deno.stat(join(dir, "-")).then(() => true, () => false)), "no file -");
      const e = json(
        await cli(["export-csv", a, "-o", join(dir, "s.csv"), "--json", ...H]),
        "export",
      );
      assertShape(e, { id: "string", path: "string", rows: "number" }, "export-csv");
      const rep = json(
        await cli(["report", a, "-o", join(dir, "r.html"), "--json", ...H]),
        "report",
      );
      assertShape(rep, { id: "string", path: "string" }, "report");
    });

    await t.step("models register and rm", async () => {
      const f = join(dir, "new.onnx");
      await Deno.writeFile(f, new Uint8Array([1, 2, 3]));
      const reg = json(
        await cli(["models", "register", f, "--name", "exported", "--tags", "a,b", "--json", ...H]),
        "register",
      );
      assertShape(
        reg,
        { id: "string", name: "string", project: "string", reused: "boolean" },
        "models register",
      );
      const s = json(await cli(["models", "show", reg.id, "--json", ...H]), "show");
      assert.deepEqual(s.model.tags, ["a", "b"]);
      assert.equal(s.weights.blobStored, true);
      const rm = json(await cli(["models", "rm", reg.id, "--json", ...H]), "rm");
      assertShape(rm, { id: "string", removed: "boolean" }, "models rm");
      assert.equal((await cli(["models", "show", reg.id, ...H])).code, 1);
      const noName = await cli(["models", "register", f, ...H]);
      assert.equal(noName.code, 2);
      assert.match(noName.stderr, /--name NAME is required/);
    });

    await t.step("rebuild and doctor: pretty JSON objects", async () => {
      const r = json(await cli(["rebuild", "--json", ...H]), "rebuild");
      assertShape(r, { events: "number", ms: "number" }, "rebuild");
      const d = json(await cli(["doctor", "--json", ...H]), "doctor");
      assertShape(d, {
        ok: "boolean",
        schema: "object",
        counts: "object",
        events: "object",
        projections: "object",
        blobs: "object",
        tempFiles: "object",
      }, "doctor");
    });

    await t.step("sync push, status, pull: pretty JSON with every key the text shows", async () => {
      const S = ["--server", server.url];
      const push = json(await cli(["sync", "push", ...S, "--json", ...H]), "push");
      assertShape(push, { events: "number", blobs: "number", bytes: "number" }, "sync push");
      const st = json(await cli(["sync", "status", ...S, "--json", ...H]), "status");
      assertShape(st, {
        server: "string",
        pendingEvents: "number",
        pendingBytes: "number",
        pushCursor: "number",
        pullCursor: "number",
        lastSuccess: "string|null",
        lastError: "string|null",
        running: "boolean",
        bytesSent: "number",
        held: "number",
        heldEvents: "array",
      }, "sync status");
      const text = ok(await cli(["sync", "status", ...S, ...H]), "status (text)");
      const textKeys = text.stdout.trim().split("\n").map((l) => l.split(/\s+/)[0]);
      // The text lists held events under the table (none here): every other key is a row.
      assert.deepEqual(st.heldEvents, []);
      assert.deepEqual(textKeys, Object.keys(st).filter((k) => k !== "heldEvents"));
      const fresh = join(dir, "fresh");
      const pull = await cli(["sync", "pull", ...S, "--json", "--home", fresh]);
      assertShape(json(pull, "pull"), { events: "number", fresh: "number" }, "sync pull");
      assert.match(pull.stderr, /created a new modelog store at .*fresh/);
    });

    await t.step("a home without a store is refused; init creates one and says so", async () => {
      const typo = join(dir, "hmoe");
      for (
        const args of [
          ["models", "list"],
          ["models", "show", a],
          ["doctor"],
          ["rebuild"],
          ["ui", "--port", "0"],
          ["sync", "push", "--server", server.url],
        ]
      ) {
        const r = await cli([...args, "--home", typo]);
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`--home .*${typo}.*has no modelog store`));
      }
      assert.ok(!(await Deno.stat(typo).then(() => true, () => false)), "nothing created");
      const badDb = await cli(["models", "list", "--db", join(dir, "nope.db")]);
      assert.match(badDb.stderr, /--db .*nope\.db.*has no modelog store/);
      const init = await cli(["init", "--home", typo, "--json"]);
      assertShape(json(init, "init"), { path: "string", created: "boolean" }, "init");
      assert.match(init.stderr, /created a new modelog store/);
      const again = json(await cli(["init", "--home", typo, "--json"]), "init again");
      assert.equal(again.created, false);
      const list = json(await cli(["models", "list", "--json", "--home", typo]), "list");
      assert.deepEqual(list, { models: [], next: null });
    });

    await t.step("--version, examples in every --help, distinct default ports", async () => {
      for (const v of ["--version", "-V"]) {
        assert.equal(ok(await cli([v]), v).stdout.trim(), `modelog ${VERSION}`);
      }
      const names = [...COMMANDS.keys()];
      const runs = await Promise.all(names.map((n) => cli([...n.split(" "), "--help"])));
      runs.forEach((r, i) => {
        ok(r, `${names[i]} --help`);
        assert.match(r.stdout, new RegExp(`\\nExamples:\\n {2}\\S*cli\\.ts ${names[i]}`), names[i]);
      });
      const top = ok(await cli(["--help"]), "--help");
      assert.match(top.stdout, /Examples:/);
      const port = (u: string) => /default (\d+)/.exec(u)![1];
      assert.notEqual(port(COMMANDS.get("serve")!.usage), port(COMMANDS.get("ui")!.usage));
    });

    await t.step("an address in use names the port and the flag", async () => {
      const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const p = String((busy.addr as Deno.NetAddr).port);
        const r = await cli(["ui", "--port", p, ...H]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`--port "?${p}"?.*in use.*pass --port N`));
        const s = await cli(["serve", "--port", p, "--db", join(dir, "s2", "s2.db"), "--quiet"]);
        assert.equal(s.code, 1);
        assert.match(s.stderr, new RegExp(`--port "?${p}"?.*in use`));
      } finally {
        busy.close();
      }
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
