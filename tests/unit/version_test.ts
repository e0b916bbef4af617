import assert from "node:assert/strict";
import { VERSION } from "../../lib/version.ts";

Deno.test("VERSION equals deno.json's version", async () => {
  const cfg = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { version: string };
  assert.equal(VERSION, cfg.version);
});
