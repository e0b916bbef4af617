import assert from "node:assert/strict";
import { startServer } from "../../lib/server/server.ts";
import { uiPages } from "../../lib/server/ui.ts";

const TOKENS = [
  { token: "read-token-123456", role: "read" as const },
  { token: "vision-token-123456", role: "read" as const, projects: ["vision"] },
];

Deno.test("web UI behind tokens: /login sets a session cookie, pages refuse anonymous callers and show a project-limited token its projects", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startServer({
    port: 0,
    db: `${dir}/server.db`,
    tokens: TOKENS,
    pages: uiPages,
    log: () => {},
  });
  try {
    const anon = await fetch(`${server.url}/`, { redirect: "manual" });
    await anon.body?.cancel();
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.get("location"), "/login");

    const form = await fetch(`${server.url}/login`);
    assert.equal(form.status, 200);
    assert.match(await form.text(), /<form method="post" action="\/login"/);

    const login = (token: string) =>
      fetch(`${server.url}/login`, {
        method: "POST",
        body: new URLSearchParams({ token }),
        redirect: "manual",
      });
    const bad = await login("not-a-token-at-all");
    await bad.body?.cancel();
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get("set-cookie"), null);

    const good = await login("read-token-123456");
    await good.body?.cancel();
    assert.equal(good.status, 303);
    const cookie = good.headers.get("set-cookie")!.split(";")[0]!;
    assert.match(good.headers.get("set-cookie")!, /HttpOnly/);
    const page = await fetch(`${server.url}/`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<table|No models/);

    const limited = await login("vision-token-123456");
    await limited.body?.cancel();
    const lc = limited.headers.get("set-cookie")!.split(";")[0]!;
    const limitedPage = await fetch(`${server.url}/`, { headers: { cookie: lc } });
    assert.equal(limitedPage.status, 200);
    assert.match(await limitedPage.text(), /No models match/);

    const bearer = await fetch(`${server.url}/`, {
      headers: { authorization: "Bearer read-token-123456" },
    });
    assert.equal(bearer.status, 200);
    await bearer.body?.cancel();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
