/**
 * The web UI: server-rendered pages over a store, mounted at `/` by the modelog server (and by
 * `cli.ts ui`, read-only over the local store).
 *
 * - `/` the models table (`ui_list.ts`).
 * - `/models/<id>` one model (`ui_model.ts`); `<id>` may be a unique prefix (`ui_ids.ts`);
 *   with write access, its POST actions (`ui_actions.ts`).
 * - `/compare?ids=A,B` models side by side (`ui_compare.ts`).
 * - `/static/plotly.min.js` plotly.js from the pinned npm package, cached in memory.
 *
 * Pages load nothing from anywhere but this server (a Content-Security-Policy enforces it).
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { type Context, Hono, loadPlotlyJs } from "../deps.ts";
import type { AppEnv } from "./http.ts";
import { notFound } from "./ui_response.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, modelsPage } from "./ui_list.ts";
import {
  HISTORY_LIMIT,
  MAX_POINTS_PER_SERIES,
  modelPage,
  type ModelPageOptions,
  PLOTLY_PATH,
} from "./ui_model.ts";
import { comparePage } from "./ui_compare.ts";
import { actionRoutes, doneMessage, type UiWriteOptions, writeAccess } from "./ui_actions.ts";

export { DEFAULT_PAGE_SIZE, HISTORY_LIMIT, MAX_PAGE_SIZE, MAX_POINTS_PER_SERIES };
export { PAGE_CSP } from "./ui_response.ts";

const PLOTLY_VERSION = "3.1.0";

let plotlyBytes:
  | Promise<{ raw: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> }>
  | undefined;

/** plotly.min.js as bytes, plain and gzipped, loaded and compressed once per process. */
function plotly(): Promise<{ raw: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> }> {
  plotlyBytes ??= (async () => {
    const raw = new TextEncoder().encode(await loadPlotlyJs());
    const gz = new Blob([raw]).stream().pipeThrough(new CompressionStream("gzip"));
    const gzip = new Uint8Array(await new Response(gz).arrayBuffer());
    return { raw, gzip };
  })();
  plotlyBytes.catch(() => (plotlyBytes = undefined));
  return plotlyBytes;
}

async function servePlotly(req: Request): Promise<Response> {
  const etag = `"plotly.js-dist-min@${PLOTLY_VERSION}"`;
  const headers: Record<string, string> = {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": "public, max-age=31536000, immutable",
    etag,
    vary: "accept-encoding",
    "x-content-type-options": "nosniff",
  };
  if (req.headers.get("if-none-match") === etag) {
    return new Response(null, { status: 304, headers });
  }
  const { raw, gzip } = await plotly();
  const useGzip = /\bgzip\b/.test(req.headers.get("accept-encoding") ?? "");
  const body = useGzip ? gzip : raw;
  if (useGzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.byteLength);
  return new Response(req.method === "HEAD" ? null : body, { headers });
}

/** The UI's paths; other methods than GET and HEAD get 405 on them. */
const UI_PATHS = ["/", PLOTLY_PATH, "/compare", "/models/*"];

/**
 * The web UI's routes over a store: `/`, `/models/<id>`, `/static/plotly.min.js`. The server
 * mounts them (behind its page auth when it has tokens).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uiRoutes } from "./ui.ts";
 * import { openStore } from "../store/store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ home: dir });
 * const ui = uiRoutes(store);
 * const res = await ui.request("/");
 * assert.equal(res.status, 200);
 * assert.match(await res.text(), /No models yet/);
 * assert.equal((await ui.request("/", { method: "POST" })).status, 405);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function uiRoutes(store: Store, opts: UiWriteOptions = { readOnly: true }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(PLOTLY_PATH, (c) => servePlotly(c.req.raw));
  // A project-limited token's pages show only its projects.
  const scope = (c: Context) => c.get("principal")?.projects;
  app.get("/", (c) => modelsPage(new URL(c.req.url), store, scope(c)));
  app.get("/compare", (c) => comparePage(new URL(c.req.url), store, scope(c)));
  app.route("/", actionRoutes(store, opts));
  app.get("/models/*", async (c, next) => {
    const url = new URL(c.req.url);
    if (!url.pathname.startsWith("/models/")) return await next(); // `/models` itself: no page
    const write = writeAccess(c, opts);
    const notice = doneMessage(url.searchParams.get("done"));
    const projects = scope(c);
    return await modelPathPage(url.pathname, store, {
      ...(write ? { write } : {}),
      ...(notice ? { notice } : {}),
      ...(projects ? { projects } : {}),
    });
  });
  for (const p of UI_PATHS) {
    app.all(p, async (c: Context, next) => {
      if (p.endsWith("*") && !new URL(c.req.url).pathname.startsWith("/models/")) {
        return await next();
      }
      return new Response("Method not allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    });
  }
  return app;
}

async function modelPathPage(
  path: string,
  store: Store,
  opts: ModelPageOptions,
): Promise<Response> {
  const m = /^\/models\/([^/]+)$/.exec(path);
  if (!m) return notFound(`No page ${path}`);
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return notFound(`No page ${path}`);
  }
  return await modelPage(id, store, opts);
}

/** A function serving a page, or undefined for a path it does not serve. */
type PageHandler = (req: Request, url: URL, store: Store) => Promise<Response | undefined>;

const routesByStore = new WeakMap<Store, Hono<AppEnv>>();

/**
 * The web UI as one function over a store (for benchmarks and the `pages` option of
 * `startServer`, which takes only this value and means "serve the UI"): the response of
 * {@link uiRoutes}, or undefined for a path the UI does not serve.
 */
export const uiPages: PageHandler = async (req, _url, store) => {
  let app = routesByStore.get(store);
  if (!app) {
    app = uiRoutes(store);
    app.notFound(() => new Response(null, { status: 404, headers: { [UNROUTED]: "1" } }));
    routesByStore.set(store, app);
  }
  const res = await app.fetch(req);
  return res.headers.has(UNROUTED) ? undefined : res;
};
const UNROUTED = "x-modelog-unrouted";
