/**
 * Guards of the test setup itself: Deno 2 runs tests with the op and resource sanitizers off
 * unless asked, so every test task must ask; a test may only turn one off with a comment that
 * says why; and the library's lock must not hold the browser driver.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { walk } from "../fixtures/walk.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("every deno test task turns the op and resource sanitizers on", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const tasks = Object.entries(cfg.tasks as Record<string, string>)
    .flatMap(([name, cmd]) => cmd.split("&&").map((c) => [name, c.trim()] as const))
    .filter(([, c]) => c.startsWith("deno test"));
  assert.deepEqual(
    tasks.map(([name]) => name).sort(),
    ["test:browser", "test:doc", "test:integration", "test:unit"],
  );
  for (const [name, cmd] of tasks) {
    assert.match(cmd, /--sanitize-ops\b/, name);
    assert.match(cmd, /--sanitize-resources\b/, name);
  }
  const all = (cfg.tasks.test as string).split("&&").map((c) => c.trim());
  assert.deepEqual(all.sort(), [
    "deno task test:browser",
    "deno task test:doc",
    "deno task test:integration",
    "deno task test:unit",
  ]);
});

Deno.test("no test turns a sanitizer off without saying why on the line above", async () => {
  const offenders: string[] = [];
  for await (const file of walk(join(ROOT, "tests"), ".ts", ["out"])) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines.forEach((line, i) => {
      if (
        /sanitize(Ops|Resources|Exit)\s*:\s*false/.test(line) &&
        !/^\s*\/\//.test(lines[i - 1] ?? "")
      ) {
        offenders.push(`${file}:${i + 1}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});

Deno.test("the library's deno.lock holds no browser driver; the browser tests' lock does", async () => {
  const root = await Deno.readTextFile(join(ROOT, "deno.lock"));
  assert.ok(!root.includes("puppeteer"), "puppeteer is out of the root lock");
  const browser = await Deno.readTextFile(join(ROOT, "tests/browser/deno.lock"));
  assert.ok(browser.includes("npm:puppeteer-core@"), "the browser lock pins puppeteer-core");
});
