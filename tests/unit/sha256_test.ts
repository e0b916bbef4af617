/** The resumable SHA-256 matches node:crypto at every block boundary, saved and restored. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../lib/errors.ts";
import { Sha256 } from "../../lib/weights/sha256.ts";

Deno.test("Sha256 saved and restored between arbitrary chunks equals node:crypto", async () => {
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097]) {
    const data = crypto.getRandomValues(new Uint8Array(n));
    let h = await Sha256.create();
    for (let off = 0, k = 1; off < n; off += k, k = (k * 7) % 71 + 1) {
      h = await Sha256.restore(JSON.parse(JSON.stringify(h.save())));
      h.update(data.subarray(off, off + k));
    }
    assert.equal(h.digestHex(), createHash("sha256").update(data).digest("hex"), `n=${n}`);
  }
});

Deno.test("Sha256.restore refuses a state it did not write", async () => {
  const good = (await Sha256.create()).update(new Uint8Array(3)).save();
  for (const bad of [{}, "", "not base64!", good.slice(8), 42]) {
    await assert.rejects(() => Sha256.restore(bad as never), InvalidArgumentError);
  }
});
