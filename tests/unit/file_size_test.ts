import assert from "node:assert/strict";
import { walk } from "../fixtures/walk.ts";

const LIB = new URL("../../lib/", import.meta.url);
const LIMIT = 600;

/** A file over the limit must say why in its opening comment, with the words "Over 600 lines". */
function statesReason(text: string): boolean {
  const opening = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? "";
  return /Over 600 lines/.test(opening);
}

Deno.test("no file in lib/ is over 600 lines without a stated reason in its opening comment", async () => {
  const over: string[] = [];
  for await (const path of walk(LIB.pathname, ".ts")) {
    const text = await Deno.readTextFile(path);
    const n = text.trimEnd().split("\n").length;
    if (n > LIMIT && !statesReason(text)) {
      over.push(`${path.slice(LIB.pathname.length)}: ${n} lines`);
    }
  }
  assert.deepEqual(over, []);
});

Deno.test("the line-count rule sees a long file and its stated reason", () => {
  const long = "x\n".repeat(LIMIT + 1);
  assert.equal(statesReason(long), false);
  assert.equal(statesReason("/**\n * Over 600 lines on purpose: one table.\n */\n" + long), true);
  assert.equal(
    statesReason("// Over 600 lines\n" + long),
    false,
    "only the opening doc comment counts",
  );
});
