/** The pull answer's `gone` list as the sync worker reads it (issue 10, point 11). */
import assert from "node:assert/strict";
import { parsePull } from "../../lib/sync/transport.ts";

const answer = (gone: unknown) => JSON.stringify({ events: [], next: "c1", more: false, gone });

Deno.test("parsePull: a gone list of model ids passes; anything else is a bad answer", () => {
  assert.deepEqual(parsePull(answer(["m1", "m2"]), "c0", "u").gone, ["m1", "m2"]);
  assert.equal(parsePull(answer(undefined), "c0", "u").gone, undefined);
  for (const bad of ["m1", [1], [""], {}, null]) {
    assert.throws(
      () => parsePull(answer(bad), "c0", "u"),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "SYNC_FAILED");
        assert.match(e.message, /gone .* is not a list of model ids/);
        return true;
      },
      JSON.stringify(bad),
    );
  }
});
