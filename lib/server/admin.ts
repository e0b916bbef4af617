/**
 * The `admin` role's duties: `GET /v1/admin/tokens` (names, roles and projects of the
 * configured tokens, never a secret), `GET /v1/admin/stats` (log, models, blobs, uploads in
 * progress, sessions, requests in flight) and `POST /v1/admin/blobs/gc` (deletes stored blobs
 * no model names, older than `graceMs`, default one hour, and uploads in progress older than
 * the partial expiry, never a quarantined blob), and the quarantine of blobs:
 * `POST /v1/admin/blobs/:hash/quarantine` (optional body `{"reason": "..."}`),
 * `DELETE /v1/admin/blobs/:hash/quarantine` (release) and `GET /v1/admin/blobs/quarantine`
 * (hash, reason, since, the admin token's name). A quarantined blob answers 404 like a missing
 * one to every token and its uploads are refused (`BLOB_QUARANTINED`); events naming it are
 * still accepted.
 *
 * @module
 */
import { Hono } from "../deps.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type AppEnv, head, HttpError, json, limitBody, type ServerContext } from "./http.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import {
  listQuarantine,
  quarantineBlob,
  quarantined,
  releaseBlob,
} from "../store/blob_quarantine.ts";
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
  app.get(
    "/v1/admin/blobs/quarantine",
    admin,
    async () => json({ blobs: await listQuarantine(ctx.store) }),
  );
  const path = "/v1/admin/blobs/:hash/quarantine";
  app.post(path, admin, limitBody(64 * 1024), async (c) => {
    const hash = checkedHash(c.req.param("hash"));
    const reason = parseReason(await c.req.text());
    const entry = { hash, reason, since: Date.now(), by: c.get("principal").name };
    await quarantineBlob(ctx.store, entry);
    return json(entry, 201);
  });
  app.delete(path, admin, async (c) => {
    const hash = checkedHash(c.req.param("hash"));
    const entry = await quarantined(ctx.store, hash);
    if (!entry || !(await releaseBlob(ctx.store, hash))) {
      throw new HttpError(404, "NOT_FOUND", `Blob ${hash} is not quarantined`);
    }
    return json({ released: entry });
  });
  return app;
}

/** A blob hash from a path: 64 lowercase hex, else a typed error naming it. */
function checkedHash(hash: string): string {
  if (!isSha256Hex(hash)) {
    throw new InvalidArgumentError("hash", hash, "must be a SHA-256 digest of 64 lowercase hex");
  }
  return hash;
}

/** The reason of an optional `{"reason": "..."}` body ("" when there is none). */
function parseReason(text: string): string {
  if (text.trim() === "") return "";
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError("body", text, 'must be JSON like {"reason": "..."}');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidArgumentError("body", body, "must be a JSON object");
  }
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) return "";
  if (typeof reason !== "string" || reason.length > 1000) {
    throw new InvalidArgumentError("reason", reason, "must be a string of at most 1000 characters");
  }
  return reason;
}
