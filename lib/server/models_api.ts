/**
 * `GET /v1/models` (a page of models matching a filter, newest update first, with a cursor)
 * and `GET /v1/models/:id` (one model's fields, metadata and reports).
 *
 * @module
 */
import { InvalidArgumentError, ModelNotFoundError } from "../errors.ts";
import { parseModelQuery } from "../query_text.ts";
import type { Store } from "../store/store.ts";
import { Model } from "../models/model.ts";
import { Hono } from "../deps.ts";
import { type AppEnv, json, type ServerContext } from "./http.ts";
import { mayTouch, requireRole } from "./auth.ts";

/** `GET /v1/models` page size when `limit` is not given. */
const DEFAULT_MODELS_PAGE = 500;
/** Largest `GET /v1/models` page. */
const MAX_MODELS_PAGE = 10_000;

/** A model's full record for the API: fields, metadata and reports. */
export async function modelRecord(store: Store, id: string): Promise<Record<string, unknown>> {
  return await recordOf(await Model.get(id, { store }));
}

async function recordOf(m: Model): Promise<Record<string, unknown>> {
  return {
    model: m.toJSON(),
    metadata: m.getAllMetadata(),
    scalarSummary: await m.getScalarSummary(),
    singleValues: await m.getReportedSingleValues(),
    plots: await m.getReportedPlots(),
  };
}

/**
 * The `/v1/models` routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {} });
 * const page = await fetch(`${server.url}/v1/models?limit=10`).then((r) => r.json());
 * assert.deepEqual(page, { models: [], next: null });
 * const missing = await fetch(`${server.url}/v1/models/nosuchmodel`);
 * assert.equal(missing.status, 404);
 * assert.equal((await missing.json()).error.code, "MODEL_NOT_FOUND");
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function modelsRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const s = ctx.store;
  app.get("/v1/models", requireRole(ctx, "read"), async (c) => {
    const who = c.get("principal");
    const q = parseModelQuery(new URL(c.req.url).searchParams);
    // Pages are bounded: 500 models unless `limit` asks for another size (at most 10,000).
    q.maxResults ??= DEFAULT_MODELS_PAGE;
    if (q.maxResults > MAX_MODELS_PAGE) {
      throw new InvalidArgumentError("limit", q.maxResults, `must be at most ${MAX_MODELS_PAGE}`);
    }
    if (who.projects?.size === 1 && !q.projectName) q.projectName = [...who.projects][0]!;
    const want = q.maxResults ?? 0;
    // A page holds only models the token may see, and its cursor names one of them: for a
    // project-limited token, pages of other projects' models are skipped here.
    const models: Model[] = [];
    let after = q.after;
    let more = false;
    for (;;) {
      const found = await Model.queryModels({ ...q, ...(after ? { after } : {}), store: s });
      for (const m of found) {
        if (mayTouch(who, m.project) && (!want || models.length < want)) models.push(m);
      }
      more = want > 0 && found.length === want;
      if (!more || models.length >= want || !who.projects) break;
      if (c.req.raw.signal.aborted) break; // the client left: stop working for it
      after = found[found.length - 1]!.cursor;
    }
    const last = models[models.length - 1];
    return json({
      models: models.map((m) => m.toJSON()),
      next: more && last ? `${last.cursor.lastUpdate},${last.cursor.id}` : null,
    });
  });
  app.get("/v1/models/:id{[0-9a-z_-]{1,64}}", requireRole(ctx, "read"), async (c) => {
    const who = c.get("principal");
    const id = c.req.param("id");
    const m = await Model.get(id, { store: s });
    // Another project's model gets the answer of a missing one: nothing tells it exists.
    if (!mayTouch(who, m.project)) throw new ModelNotFoundError(id);
    return json(await recordOf(m));
  });
  return app;
}
