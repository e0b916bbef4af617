/** The HLC never adopts a wall time beyond its skew limit. */
import assert from "node:assert/strict";
import { formatHlc, Hlc, hlcWall } from "../../lib/clock.ts";

Deno.test("Hlc.observe ignores timestamps beyond the skew limit and adopts those within", () => {
  let wall = 1_000_000;
  const c = new Hlc("me", () => wall, 1000);
  assert.equal(c.observe(formatHlc({ wall: wall + 5000, counter: 3, origin: "x" })), false);
  assert.equal(hlcWall(c.now()), wall, "still at the local wall time");
  assert.equal(c.observe(formatHlc({ wall: wall + 900, counter: 7, origin: "x" })), true);
  const t = c.now();
  assert.equal(hlcWall(t), wall + 900);
  assert.ok(t > formatHlc({ wall: wall + 900, counter: 7, origin: "x" }));
  wall += 2000;
  assert.equal(hlcWall(c.now()), wall);
});
