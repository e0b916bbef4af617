/**
 * Builds the server's hono app: request logging, the loopback guard of a server without
 * tokens, time limits on bounded requests, the JSON error format, and the route modules
 * (health, events, blobs, models, and the web UI with its sign-in).
 *
 * @module
 */
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
import { blobRoutes } from "./blobs.ts";
import { modelsRoutes } from "./models_api.ts";
import { cookieToken, loginRoutes } from "./login.ts";
import { uiRoutes } from "./ui.ts";

/** Host names a server without tokens answers to. */
const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** What {@link buildApp} mounts besides the API. */
export interface AppOptions {
  /** Serve the web UI at `/` (with `/login` when the server has tokens). */
  ui: boolean;
  /** Where request lines go. Tokens are never logged. */
  log: (line: string) => void;
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

  // Bounded requests (queries and pages, not blob transfers) get a time limit.
  const tooSlow = () =>
    new HTTPException(503, {
      res: errorJson(503, "TIMEOUT", `The request took longer than ${ctx.requestTimeoutMs} ms`),
    });
  const limited = ["/v1/events", "/v1/models", "/v1/models/:id"];
  app.on("GET", limited, noHead, timeout(ctx.requestTimeoutMs, tooSlow));
  if (opts.ui) app.on("GET", ["/", "/models/*"], timeout(ctx.requestTimeoutMs, tooSlow));

  app.get("/v1/health", async () =>
    json({
      ok: true,
      schemaVersion: await ctx.store.schemaVersion(),
      seq: await head(ctx),
      ...(ctx.serverId ? { server: ctx.serverId } : {}),
    }));
  app.route("/", eventsRoutes(ctx));
  app.route("/", blobRoutes(ctx));
  app.route("/", modelsRoutes(ctx));
  if (opts.ui) {
    if (ctx.auth) {
      app.route("/", loginRoutes(ctx.auth));
      // Pages show every project, so a project-limited token is refused.
      const signedIn = pageAuth(ctx.auth, cookieToken);
      app.use("*", async (c, next) => {
        const path = new URL(c.req.url).pathname;
        if (path.startsWith("/v1/") || path.startsWith("/static/")) return await next();
        return await signedIn(c, async () => {
          if (c.get("principal").projects) {
            throw new HttpError(
              403,
              "FORBIDDEN",
              "The web UI needs a token without a project limit",
            );
          }
          await next();
        });
      });
    }
    app.route("/", uiRoutes(ctx.store, { readOnly: ctx.readOnly }));
  }
  return app;
}
