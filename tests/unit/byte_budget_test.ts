import assert from "node:assert/strict";
import { ByteBudget } from "../../lib/server/byte_budget.ts";

/** Whether `p` has settled after the pending microtasks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

Deno.test("a byte budget lets takers in arrival order, a big one alone, and counts a release once", async () => {
  const budget = new ByteBudget(100);
  const a = await budget.take(60);
  const big = budget.take(1_000); // more than the whole budget: waits for all of it
  const small = budget.take(10); // fits now, but arrived after the big one
  assert.equal(await settled(big), false);
  assert.equal(await settled(small), false);
  a();
  a(); // a second call gives nothing back again
  const releaseBig = await big;
  assert.equal(budget.free, 0);
  assert.equal(await settled(small), false);
  releaseBig();
  const releaseSmall = await small;
  assert.equal(budget.free, 90);
  // Several that fit go in together.
  const more = await Promise.all([budget.take(40), budget.take(40)]);
  assert.equal(budget.free, 10);
  for (const r of [releaseSmall, ...more]) r();
  assert.equal(budget.free, 100);
});
