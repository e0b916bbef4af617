/**
 * The store's breather: one awaited event-loop turn every TURN_EVERY calls, so that a loop of
 * awaited writes lets libSQL's statement finalizers run (their memory is freed only then).
 */
import assert from "node:assert/strict";
import { Breather, TURN_EVERY } from "../../lib/store/writer.ts";

Deno.test("Breather yields one macrotask every TURN_EVERY calls and none in between", async () => {
  const b = new Breather();
  let turns = 0;
  for (let i = 1; i <= TURN_EVERY * 3; i++) {
    let timerRan = false;
    const t = setTimeout(() => timerRan = true, 0);
    const p = b.breathe();
    if (!p) clearTimeout(t);
    else {
      assert.equal(i % TURN_EVERY, 0, `turn at call ${i}`);
      await p;
      // A macrotask: a timer queued before it has run by the time it resolves.
      assert.ok(timerRan);
      turns++;
    }
  }
  assert.equal(turns, 3);
});
