/**
 * Builds the server's hono app: request logging, the loopback guard of a server without
 * tokens, time limits on bounded requests, the JSON error format, and the route modules
 * (health, events, blobs, models, and the web UI with its sign-in).
 *
 * @module
 */
import { PROTOCOL_VERSION } from "../sync/protocol.ts";
import { Hono, HTTPException, type MiddlewareHandler, timeout } from "../deps.ts";
import {
  type AppEnv,
  dropBody,
  errorJson,
  errorResponse,
  head,
  HttpError,
  json,
  type ServerContext,
} from "./http.ts";
import { pageAuth } from "./auth.ts";
import { eventsRoutes } from "./events.ts";
import { blobRoutes, blobUploadInfo } from "./blobs.ts";
import { modelsRoutes } from "./models_api.ts";
import { loginRoutes, remoteAddress, sessionPrincipal, Sessions } from "./login.ts";
import { adminRoutes } from "./admin.ts";
import { ByteBudget } from "./byte_budget.ts";
import { uiRoutes } from "./ui.ts";
import { MAX_PULL_BYTES } from "../sync/protocol.ts";

/** Host names a server without tokens answers to. */
const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** What {@link buildApp} mounts besides the API. */
export interface AppOptions {
  /** Serve the web UI at `/` (with `/login` when the server has tokens). */
  ui: boolean;
  /** Where request lines go. Tokens are never logged. */
  log: (line: string) => void;
  /** The UI's sessions (a fresh store of them when absent). */
  sessions?: Sessions;
  /** Most requests answered at once for one address (default 256). */
  maxPerAddress?: number;
  /** Most requests answered at once for one token or session (default 128). */
  maxPerToken?: number;
  /** Most queries and pages run at once (default 4; the others wait their turn). */
  maxHeavy?: number;
}

/**
 * Caps the requests answered at once per peer address and per credential (bearer header or
 * session cookie): one client cannot take every worker. `/v1/health` is never capped.
 */
function concurrencyCap(
  maxPerAddress: number,
  maxPerToken: number,
  counts: { total: number },
): MiddlewareHandler<AppEnv> {
  const byKey = new Map<string, number>();
  const enter = (k: string) => byKey.set(k, (byKey.get(k) ?? 0) + 1);
  const leave = (k: string) => {
    const n = (byKey.get(k) ?? 1) - 1;
    if (n <= 0) byKey.delete(k);
    else byKey.set(k, n);
  };
  return async (c, next) => {
    if (new URL(c.req.url).pathname === "/v1/health") return await next();
    const addr = `a:${remoteAddress(c)}`;
    const cred = c.req.header("authorization") ?? c.req.header("cookie");
    const tok = cred ? `t:${cred}` : undefined;
    if (
      (byKey.get(addr) ?? 0) >= maxPerAddress ||
      (tok !== undefined && (byKey.get(tok) ?? 0) >= maxPerToken)
    ) {
      await dropBody(c);
      c.res = errorJson(429, "TOO_MANY_REQUESTS", "Too many requests at once: retry shortly");
      c.res.headers.set("retry-after", "1");
      return;
    }
    enter(addr);
    if (tok) enter(tok);
    counts.total++;
    try {
      await next();
    } finally {
      counts.total--;
      leave(addr);
      if (tok) leave(tok);
    }
  };
}

/** Logs `METHOD /path status 1.2ms` for every request, after the error mapping. */
function logRequests(log: (line: string) => void): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    const path = new URL(c.req.url).pathname;
    log(`${c.req.method} ${path} ${c.res.status} ${(performance.now() - t0).toFixed(1)}ms`);
  };
}

/**
 * Lets at most `max` heavy requests (queries and pages) run at once; the others wait their
 * turn, and one whose client left while waiting is dropped without being run. Health, pushes
 * and blob transfers never wait here.
 */
function heavyGate(max: number): MiddlewareHandler<AppEnv> {
  // One unit of the budget per request, in arrival order.
  const budget = new ByteBudget(max);
  return async (c, next) => {
    const signal = c.req.raw.signal;
    const release = await budget.take(1);
    try {
      // Yield to the event loop first: local libSQL answers without blocking on I/O, so a run
      // of heavy requests could otherwise starve accepting and reading others (health).
      await new Promise((r) => setTimeout(r, 0));
      // A client that left while waiting (or meanwhile) is dropped without being run.
      if (signal.aborted) {
        c.res = errorJson(503, "TIMEOUT", "The client went away");
        return;
      }
      await next();
    } finally {
      release();
    }
  };
}

/**
 * Without tokens anyone who reaches the port is trusted: refuse a page whose own name was
 * re-pointed at 127.0.0.1 (DNS rebinding).
 */
const loopbackOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  const host = new URL(c.req.url).hostname;
  if (!LOOPBACK_NAMES.has(host)) {
    await dropBody(c);
    throw new HttpError(
      403,
      "FORBIDDEN",
      `Host ${JSON.stringify(host)} is not a loopback name; a server without tokens ` +
        "answers only 127.0.0.1, localhost and [::1]",
    );
  }
  await next();
};

/**
 * hono answers HEAD with the GET route; these API paths never answered HEAD and keep not
 * doing so (405 on `/v1/events`, no route on the models).
 */
const noHead: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== "HEAD") return await next();
  const path = new URL(c.req.url).pathname;
  if (path === "/v1/events") {
    throw new HttpError(405, "INVALID_ARGUMENT", "Method HEAD not allowed");
  }
  return c.notFound();
};

/**
 * The server's app over its context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildApp } from "./app.ts";
 * import { openStore } from "../store/store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ home: dir });
 * const app = buildApp({
 *   store,
 *   auth: undefined,
 *   readOnly: true,
 *   serverId: undefined,
 *   maxEventsBody: 1024,
 *   maxEventsPerPush: 10,
 *   maxClockSkewMs: 1000,
 *   requestTimeoutMs: 10_000,
 * }, { ui: false, log: () => {} });
 * const health = await app.request("http://127.0.0.1/v1/health");
 * assert.equal((await health.json()).ok, true);
 * const missing = await app.request("http://127.0.0.1/nothing");
 * assert.equal(missing.status, 404);
 * assert.equal((await missing.json()).error.code, "NOT_FOUND");
 * const rebound = await app.request("http://evil.example/v1/health");
 * assert.equal(rebound.status, 403);
 * await rebound.body?.cancel();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function buildApp(ctx: ServerContext, opts: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((e) => errorResponse(e));
  app.notFound((c) =>
    errorJson(404, "NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`)
  );
  app.use(logRequests(opts.log));
  if (!ctx.auth) app.use(loopbackOnly);
  const counts = { total: 0 };
  app.use(concurrencyCap(opts.maxPerAddress ?? 256, opts.maxPerToken ?? 128, counts));
  const sessions = opts.sessions ?? new Sessions();

  // Bounded requests (queries and pages, not blob transfers) get a time limit.
  const tooSlow = () =>
    new HTTPException(503, {
      res: errorJson(503, "TIMEOUT", `The request took longer than ${ctx.requestTimeoutMs} ms`),
    });
  const limited = ["/v1/events", "/v1/models", "/v1/models/:id"];
  const gate = heavyGate(opts.maxHeavy ?? 2);
  app.on("GET", limited, noHead, timeout(ctx.requestTimeoutMs, tooSlow), gate);
  if (opts.ui) app.on("GET", ["/", "/models/*"], timeout(ctx.requestTimeoutMs, tooSlow), gate);

  const blobInfo = blobUploadInfo(ctx);
  app.get("/v1/health", async () =>
    json({
      ok: true,
      protocol: PROTOCOL_VERSION,
      schemaVersion: await ctx.store.schemaVersion(),
      seq: await head(ctx),
      ...(ctx.serverId ? { server: ctx.serverId } : {}),
      limits: {
        eventsBody: ctx.maxEventsBody,
        eventsPerPush: ctx.maxEventsPerPush,
        pullBytes: MAX_PULL_BYTES,
        ...blobInfo.limits,
      },
      capabilities: blobInfo.capabilities,
    }));
  app.route("/", eventsRoutes(ctx));
  app.route("/", blobRoutes(ctx));
  app.route("/", modelsRoutes(ctx));
  app.route(
    "/",
    adminRoutes(ctx, {
      sessions: () => sessions.size,
      inFlight: () => counts.total,
      startedAt: Date.now(),
    }),
  );
  if (opts.ui) {
    if (ctx.auth) {
      app.route("/", loginRoutes(ctx.auth, sessions));
      // Pages show what the signed-in token may read (a project-limited one: its projects).
      const signedIn = pageAuth(ctx.auth, (c) => sessionPrincipal(sessions, c));
      app.use("*", async (c, next) => {
        const path = new URL(c.req.url).pathname;
        if (path.startsWith("/v1/") || path.startsWith("/static/")) return await next();
        return await signedIn(c, next);
      });
    }
    app.route("/", uiRoutes(ctx.store, { readOnly: ctx.readOnly }));
  }
  return app;
}
