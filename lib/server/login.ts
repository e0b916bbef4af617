/**
 * The web UI's sign-in: `GET /login` shows a token form, `POST /login` checks the token and
 * sets an HttpOnly, SameSite=Strict cookie (Secure behind TLS) that the page middleware reads.
 *
 * @module
 */
import { type Context, getCookie, Hono, setCookie } from "../deps.ts";
import { type AppEnv, limitBody } from "./http.ts";
import type { TokenAuth } from "./auth.ts";

/** The cookie `/login` sets. */
export const TOKEN_COOKIE = "modelog_token";

/** Largest `POST /login` body. */
const MAX_LOGIN_BODY = 4096;

/** The token in a request's sign-in cookie, if any. */
export function cookieToken(c: Context): string | undefined {
  return getCookie(c, TOKEN_COOKIE);
}

function form(msg: string, status: 200 | 401): Response {
  return new Response(
    `<!doctype html><meta charset="utf-8"><title>modelog: sign in</title>
<body style="font-family:sans-serif;max-width:28em;margin:4em auto">
<h1>modelog</h1><p>${msg}</p>
<form method="post" action="/login"><input type="password" name="token" placeholder="token"
 autofocus style="width:100%;padding:.5em"><p><button>Sign in</button></p></form></body>`,
    { status, headers: { "content-type": "text/html; charset=utf-8" } },
  );
}

/** Whether the request came over TLS (directly, or through a proxy that says so). */
function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" ||
    /^https$/i.test(c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() ?? "");
}

/**
 * The `/login` routes over a server's tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loginRoutes } from "./login.ts";
 * import { TokenAuth } from "./auth.ts";
 * const app = loginRoutes(new TokenAuth([{ token: "reader-token-1", role: "read" }]));
 * const res = await app.request("/login", {
 *   method: "POST",
 *   body: new URLSearchParams({ token: "reader-token-1" }),
 * });
 * assert.equal(res.status, 303);
 * assert.match(res.headers.get("set-cookie")!, /^modelog_token=reader-token-1;.*HttpOnly/);
 * ```
 */
export function loginRoutes(auth: TokenAuth): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/login", limitBody(MAX_LOGIN_BODY), async (c) => {
    const token = new URLSearchParams(await c.req.text()).get("token") ?? "";
    if (!auth.lookup(token)) return form("Unknown token: try again.", 401);
    // Served over TLS (by a proxy in front, or directly), the cookie never goes over plain HTTP.
    setCookie(c, TOKEN_COOKIE, token, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      ...(overTls(c) ? { secure: true } : {}),
    });
    return c.redirect("/", 303);
  });
  app.all("/login", () => form("Enter an access token.", 200));
  return app;
}
