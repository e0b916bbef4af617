/**
 * The `admin` role's duties: `GET /v1/admin/tokens` (names, roles and projects of the
 * configured tokens, never a secret), `GET /v1/admin/stats` (log, models, blobs, uploads in
 * progress, sessions, requests in flight) and `POST /v1/admin/blobs/gc` (deletes stored blobs
 * no model names, older than `graceMs`, default one hour, and uploads in progress older than
 * the partial expiry).
 *
 * @module
 */
import { Hono } from "../deps.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type AppEnv, head, json, type ServerContext } from "./http.ts";
import { requireRole } from "./auth.ts";
import { countModelRows } from "../projections/read.ts";
import { blobStats, collectBlobs, expireStalePartials, uploadLimits } from "./uploads.ts";

/** What the admin routes report besides the store. */
export interface AdminExtras {
  /** Live UI sessions. */
  sessions: () => number;
  /** Requests being answered. */
  inFlight: () => number;
  /** When the server started (ms since the epoch). */
  startedAt: number;
}

/** The `/v1/admin` routes. */
export function adminRoutes(ctx: ServerContext, extras: AdminExtras): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = requireRole(ctx, "admin");
  app.get("/v1/admin/tokens", admin, () =>
    json({
      tokens: (ctx.auth?.list() ?? []).map(({ name, role, projects }) => ({
        name,
        role,
        projects,
      })),
    }));
  app.get("/v1/admin/stats", admin, async () =>
    json({
      seq: await head(ctx),
      models: await countModelRows(ctx.store),
      ...(await blobStats(ctx.store.blobs.dir)),
      sessions: extras.sessions(),
      inFlight: extras.inFlight(),
      uptimeMs: Date.now() - extras.startedAt,
    }));
  app.post("/v1/admin/blobs/gc", requireRole(ctx, "admin"), async (c) => {
    const text = c.req.query("graceMs") ?? "3600000";
    const grace = Number(text);
    if (!Number.isSafeInteger(grace) || grace < 0) {
      throw new InvalidArgumentError("graceMs", text, "must be a non-negative integer");
    }
    const limits = ctx.uploads ?? uploadLimits();
    const deleted = await collectBlobs(ctx.store, grace);
    const expiredPartials = await expireStalePartials(ctx.store.blobs.dir, limits.partialTtlMs);
    return json({ deleted, expiredPartials });
  });
  return app;
}
