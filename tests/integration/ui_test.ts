import assert from "node:assert/strict";
import { openStore, OutputModel, startServer, Task } from "../../mod.ts";
import { uiPages } from "../../lib/server/ui.ts";

Deno.test("web UI: cursor paging, bad filters, 404s, read-only, plotly caching", async () => {
  const home = await Deno.makeTempDir({ prefix: "modelog-ui-" });
  const store = await openStore({ home });
  const server = await startServer({
    store,
    readOnly: true,
    pages: uiPages,
    port: 0,
    log: () => {},
  });
  try {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const names: string[] = [];
    for (let i = 0; i < 7; i++) {
      const m = new OutputModel({ task, name: `m${i}` });
      await m.setMetadata("i", i);
      names.unshift(`m${i}`);
    }
    await task.close();
    const get = async (path: string) => {
      const r = await fetch(`${server.url}${path}`);
      return { status: r.status, text: await r.text(), headers: r.headers };
    };
    const seen: string[] = [];
    let path: string | undefined = "/?limit=3";
    let pages = 0;
    while (path) {
      const r = await get(path);
      assert.equal(r.status, 200);
      assert.ok(r.headers.get("content-security-policy")?.includes("default-src 'self'"));
      seen.push(...[...r.text.matchAll(/class="model-link">([^<]*)</g)].map((m) => m[1]!));
      const next = /id="next-page" href="([^"]*)"/.exec(r.text);
      path = next ? next[1]!.replaceAll("&amp;", "&") : undefined;
      pages++;
    }
    assert.deepEqual(seen, names);
    assert.equal(pages, 3);

    const bad = await get("/?metadata=novalue");
    assert.equal(bad.status, 400);
    assert.match(bad.text, /id="error"/);
    assert.equal((await get("/?limit=0")).status, 400);
    assert.equal((await get("/?after=garbage")).status, 400);
    assert.equal((await get("/models/nope")).status, 404);
    assert.equal((await get("/nothing-here")).status, 404);
    const post = await fetch(`${server.url}/v1/events`, { method: "POST", body: "{}" });
    await post.body?.cancel();
    assert.equal(post.status, 403, "the UI server is read-only");

    const js = await fetch(`${server.url}/static/plotly.min.js`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(js.status, 200);
    assert.match(js.headers.get("cache-control") ?? "", /max-age=31536000/);
    assert.ok((await js.text()).length > 1_000_000);
    const again = await fetch(`${server.url}/static/plotly.min.js`, {
      headers: { "if-none-match": js.headers.get("etag")! },
    });
    await again.body?.cancel();
    assert.equal(again.status, 304);
  } finally {
    await server.close();
    await store.close();
    await Deno.remove(home, { recursive: true });
  }
});
