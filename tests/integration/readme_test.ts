// The first steps of the README, as a new user takes them: the Quick start pasted into an empty
// folder (its import pointed at this checkout) runs, and `deno install` gives a `modelog`
// command that runs.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The first ```ts block after the heading `## Quick start`. */
async function quickStart(): Promise<string> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("## Quick start"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README has a ts block in its Quick start");
  return m[1]!;
}

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("README Quick start runs pasted into an empty folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modelog-quickstart-" });
  try {
    const code = await quickStart();
    assert.ok(code.includes('from "../modelog/mod.ts"'), "the snippet imports ../modelog/mod.ts");
    const mine = code.replace('"../modelog/mod.ts"', JSON.stringify(`file://${ROOT}/mod.ts`));
    await Deno.writeTextFile(join(dir, "train.ts"), mine);
    const r = await run(Deno.execPath(), ["run", "-A", "train.ts"], dir, {
      MODELOG_HOME: join(dir, "unused-default-home"),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /published/);
    assert.ok((await Deno.stat(join(dir, "modelog-home", "modelog.db"))).isFile);
    const list = await run(
      Deno.execPath(),
      ["run", "-A", join(ROOT, "cli.ts"), "models", "list", "--json", "--home", "modelog-home"],
      dir,
    );
    assert.equal(list.code, 0, list.stderr);
    const names = (JSON.parse(list.stdout).models as { name: string; published: boolean }[])
      .map((m) => m.name).sort();
    assert.deepEqual(names, ["resnet50", "train"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno install gives a modelog command that runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modelog-install-" });
  try {
    const inst = await run(
      Deno.execPath(),
      ["install", "--root", dir, "-n", "modelog", "-A", "-g", join(ROOT, "cli.ts")],
      ROOT,
    );
    assert.equal(inst.code, 0, inst.stderr);
    const version = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).version;
    const r = await run(join(dir, "bin", "modelog"), ["--version"], dir, {
      PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `modelog ${version}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
