import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore, OutputModel, startServer, Task } from "../../mod.ts";

const CLI = join(import.meta.dirname!, "..", "..", "cli.ts");

/** Runs a command under a pseudo-terminal (util-linux `script`), returning what it printed. */
async function onTty(args: string[]): Promise<{ code: number; out: string }> {
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const r = await new Deno.Command("script", {
    args: ["-qec", quoted, "/dev/null"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

async function hasScript(): Promise<boolean> {
  try {
    return (await new Deno.Command("script", { args: ["--version"] }).output()).success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "sync push draws one progress bar on a terminal and none when piped",
  ignore: !(await hasScript()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const server = await startServer({ port: 0, db: join(dir, "server.db"), log: () => {} });
    try {
      const home = join(dir, "laptop");
      const store = await openStore({ home });
      const task = await Task.init({ projectName: "p", taskName: "t", store });
      const m = new OutputModel({ task, name: "net" });
      const f = join(dir, "w.bin");
      await Deno.writeFile(f, new Uint8Array(3 * 1024 * 1024).fill(7));
      await m.updateWeights({ weightsFilename: f });
      for (let i = 0; i < 50; i++) m.reportScalar("loss", "train", 1 / (i + 1), i);
      await task.close();
      await store.close();
      const tty = await onTty([
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        "sync",
        "push",
        "--server",
        server.url,
        "--home",
        home,
      ]);
      assert.equal(tty.code, 0, tty.out);
      // One bar for the whole push: human bytes, a rate, the events; it ends once, at 100%.
      assert.match(tty.out, /pushing \[#+-*\] \d+% [\d.]+ (KiB|MiB)\/3\.0 MiB [\d.]+ \S+\/s/);
      assert.match(tty.out, /pushing \[#{30}\] 100% 3\.0 MiB\/3\.0 MiB .*, (\d+)\/\1 events/);
      assert.equal(tty.out.split("\n").filter((l) => l.includes("pushing [")).length, 1);
      assert.doesNotMatch(tty.out, /uploading weights/);
      assert.match(tty.out, /pushed \d+ events, 1 blobs \(3\.0 MiB sent\)/);
      const piped = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "sync", "pull", "--server", server.url, "--home", home],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(piped.stdout) + new TextDecoder().decode(piped.stderr);
      assert.equal(piped.code, 0, text);
      assert.doesNotMatch(text, /\[#+-*\]/);
      assert.match(text, /pulled \d+ events/);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
