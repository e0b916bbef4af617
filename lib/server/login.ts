/**
 * The web UI's sign-in: `GET /login` shows a token form (or who is signed in), `POST /login`
 * checks the token and sets an opaque session id (never the token) in an HttpOnly,
 * SameSite=Strict cookie (Secure behind TLS) that expires; `POST /logout` ends the session.
 * Both refuse a request from another origin, and sign-in attempts are limited per address.
 *
 * Sessions live in the server process's memory: a restart signs everyone out.
 *
 * @module
 */
import { type Context, getCookie, Hono, setCookie } from "../deps.ts";
import { type AppEnv, errorJson, limitBody } from "./http.ts";
import type { Principal, TokenAuth } from "./auth.ts";
import { h, page } from "../reports/layout.ts";
import { htmlResponse } from "./ui_response.ts";

/** The cookie `/login` sets: an opaque session id. */
export const SESSION_COOKIE = "modelog_session";

/** Largest `POST /login` body. */
const MAX_LOGIN_BODY = 4096;

/** Limits of the sign-in. */
export interface SessionOptions {
  /** How long a session lasts, in ms (default 12 h). */
  ttlMs?: number;
  /** Failed sign-ins per address within `attemptWindowMs` before 429 (default 10). */
  maxAttempts?: number;
  /** The window of `maxAttempts`, in ms (default 15 min). */
  attemptWindowMs?: number;
}

/** Signed-in sessions by opaque id, and failed attempts by address. */
export class Sessions {
  readonly #byId = new Map<string, { principal: Principal; expires: number }>();
  readonly #failures = new Map<string, { n: number; until: number }>();
  readonly ttlMs: number;
  readonly #maxAttempts: number;
  readonly #windowMs: number;

  /** @param o the limits */
  constructor(o: SessionOptions = {}) {
    this.ttlMs = o.ttlMs ?? 12 * 3600 * 1000;
    this.#maxAttempts = o.maxAttempts ?? 10;
    this.#windowMs = o.attemptWindowMs ?? 15 * 60 * 1000;
  }

  /** Starts a session; returns its id (32 random bytes, base64url). */
  open(principal: Principal): string {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const id = btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_")
      .replace(/=+$/, "");
    this.#byId.set(id, { principal, expires: Date.now() + this.ttlMs });
    if (this.#byId.size % 256 === 0) this.#sweep();
    return id;
  }

  /** The principal of a live session. */
  get(id: string | undefined): Principal | undefined {
    if (!id) return undefined;
    const s = this.#byId.get(id);
    if (!s) return undefined;
    if (s.expires <= Date.now()) {
      this.#byId.delete(id);
      return undefined;
    }
    return s.principal;
  }

  /** Ends a session. */
  close(id: string | undefined): void {
    if (id) this.#byId.delete(id);
  }

  /** How many sessions are live. */
  get size(): number {
    this.#sweep();
    return this.#byId.size;
  }

  /** Whether an address has used up its failed attempts. */
  blocked(addr: string): boolean {
    const f = this.#failures.get(addr);
    if (!f) return false;
    if (f.until <= Date.now()) {
      this.#failures.delete(addr);
      return false;
    }
    return f.n >= this.#maxAttempts;
  }

  /** Counts a failed attempt of an address. */
  fail(addr: string): void {
    const f = this.#failures.get(addr);
    if (!f || f.until <= Date.now()) {
      this.#failures.set(addr, { n: 1, until: Date.now() + this.#windowMs });
    } else f.n++;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.#byId) if (v.expires <= now) this.#byId.delete(k);
    for (const [k, v] of this.#failures) if (v.until <= now) this.#failures.delete(k);
  }
}

/** The principal of a request's session cookie, if it is live. */
export function sessionPrincipal(sessions: Sessions, c: Context): Principal | undefined {
  return sessions.get(getCookie(c, SESSION_COOKIE));
}

/** The address a request came from (the TCP peer; `unknown` in-process). */
export function remoteAddress(c: Context): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}

/** Whether the request came over TLS (directly, or through a proxy that says so). */
function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" ||
    /^https$/i.test(c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() ?? "");
}

/**
 * Whether a form post comes from this server's own pages: an `Origin` (or, without one, a
 * `Sec-Fetch-Site`) naming another site is refused; a client that sends neither (not a
 * browser) is let through.
 */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined) {
    if (origin === "null") return false;
    try {
      const host = c.req.header("host") ?? new URL(c.req.url).host;
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  const site = c.req.header("sec-fetch-site");
  return site === undefined || site === "same-origin" || site === "none";
}

function who(p: Principal): string {
  const scope = p.projects ? `projects ${[...p.projects].join(", ")}` : "all projects";
  return `<strong id="signed-in-as">${h(p.name)}</strong> (${h(p.role)}, ${h(scope)})`;
}

function loginPage(msg: string, status: number, signedIn?: Principal): Response {
  const body = signedIn
    ? `<section class="card" id="session"><p>Signed in as ${who(signedIn)}.</p>
<p><a class="button" href="/">Models</a></p>
<form method="post" action="/logout"><button id="logout">Sign out</button></form></section>`
    : `<section class="card"><p id="login-message">${h(msg)}</p>
<form method="post" action="/login" id="login"><label>Access token
<input type="password" name="token" autocomplete="current-password" autofocus
 style="width:100%;padding:.5em"></label><p><button>Sign in</button></p></form></section>`;
  return htmlResponse(
    page({
      title: "Sign in",
      header: `<header class="page"><h1>modelog</h1></header>`,
      body,
    }),
    status,
  );
}

/**
 * The `/login` and `/logout` routes over a server's tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loginRoutes, Sessions } from "./login.ts";
 * import { TokenAuth } from "./auth.ts";
 * const sessions = new Sessions();
 * const app = loginRoutes(new TokenAuth([{ token: "reader-token-1", role: "read" }]), sessions);
 * const res = await app.request("/login", {
 *   method: "POST",
 *   body: new URLSearchParams({ token: "reader-token-1" }),
 * });
 * assert.equal(res.status, 303);
 * const cookie = res.headers.get("set-cookie")!;
 * assert.match(cookie, /^modelog_session=[\w-]{43};.*HttpOnly/);
 * assert.ok(!cookie.includes("reader-token-1"), "the cookie is not the token");
 * const foreign = await app.request("http://127.0.0.1/login", {
 *   method: "POST",
 *   headers: { origin: "https://evil.example" },
 *   body: new URLSearchParams({ token: "reader-token-1" }),
 * });
 * assert.equal(foreign.status, 403);
 * await foreign.body?.cancel();
 * ```
 */
export function loginRoutes(auth: TokenAuth, sessions: Sessions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const crossSite = () =>
    errorJson(403, "FORBIDDEN", "A sign-in form must be posted from this server's own pages");
  app.post("/login", limitBody(MAX_LOGIN_BODY), async (c) => {
    if (!sameOrigin(c)) return crossSite();
    const addr = remoteAddress(c);
    if (sessions.blocked(addr)) {
      await c.req.raw.body?.cancel().catch(() => {});
      return loginPage("Too many failed attempts: wait a few minutes, then try again.", 429);
    }
    const token = new URLSearchParams(await c.req.text()).get("token") ?? "";
    const p = auth.lookup(token);
    if (!p) {
      sessions.fail(addr);
      return loginPage("Unknown token: try again.", 401);
    }
    sessions.close(getCookie(c, SESSION_COOKIE));
    // Served over TLS (by a proxy in front, or directly), the cookie never goes over plain HTTP.
    setCookie(c, SESSION_COOKIE, sessions.open(p), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: Math.floor(sessions.ttlMs / 1000),
      ...(overTls(c) ? { secure: true } : {}),
    });
    return c.redirect("/", 303);
  });
  app.post("/logout", (c) => {
    if (!sameOrigin(c)) return crossSite();
    sessions.close(getCookie(c, SESSION_COOKIE));
    setCookie(c, SESSION_COOKIE, "", { httpOnly: true, sameSite: "Strict", path: "/", maxAge: 0 });
    return c.redirect("/login", 303);
  });
  app.all("/login", (c) => {
    const p = sessionPrincipal(sessions, c);
    return loginPage("Enter an access token.", 200, p);
  });
  return app;
}
