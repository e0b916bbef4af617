import assert from "node:assert/strict";
import { serveDir, withTempDir } from "../fixtures/helpers.ts";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

Deno.test("a script importing mod.ts by http URL creates a task and a model and queries it", async () => {
  // A fresh path per run: a URL this machine's module cache has never seen, even when the
  // port was used before.
  const prefix = `/r-${crypto.randomUUID()}`;
  const server = serveDir(REPO, prefix);
  const base = server.url + prefix;
  try {
    await withTempDir(async (cwd) => {
      await withTempDir(async (home) => {
        const script = `
import { Model, OutputModel, Task } from "${base}/mod.ts";
const task = await Task.init({ projectName: "remote", taskName: "by-url" });
const m = new OutputModel({ task, name: "from-url", tags: ["url"] });
await m.setMetadata("answer", 42);
const found = await Model.queryModels({ projectName: "remote", tags: ["url"] });
await task.close();
console.log(JSON.stringify({
  n: found.length,
  name: found[0]?.name,
  answer: found[0]?.getMetadataCasted("answer"),
  same: found[0]?.id === m.id,
}));
`;
        await Deno.writeTextFile(`${cwd}/script.ts`, script);
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `--reload=${base}/`, "script.ts"],
          cwd,
          env: { MODELOG_HOME: home, NO_COLOR: "1" },
          stdin: "null",
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        const stderr = new TextDecoder().decode(out.stderr);
        assert.ok(out.success, `the script failed:\n${stderr}`);
        assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), {
          n: 1,
          name: "from-url",
          answer: 42,
          same: true,
        });
        assert.ok(server.requests.includes(`${prefix}/mod.ts`), "mod.ts came over http");
        assert.ok(server.requests.includes(`${prefix}/lib/store/store.ts`), "and so did lib/");
        assert.ok(
          (await Deno.stat(`${home}/modelog.db`)).isFile,
          "the default store honours MODELOG_HOME",
        );
      });
    });
  } finally {
    await server.close();
  }
});
