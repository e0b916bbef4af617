/**
 * `POST /v1/events` (a device pushes events: validated, authorised per project, ingested once)
 * and `GET /v1/events?after=CURSOR&limit=M[&maxBytes=B]` (a device pulls the log in server
 * order, filtered to the token's projects; the cursor is opaque, see `sync/cursor.ts`), in
 * pages of at most M events and, past the first event, B bytes ({@link MAX_PULL_BYTES} by
 * default and at most).
 *
 * @module
 */
import { decodeData, type StoredEvent, validateEvent } from "../events.ts";
import { InvalidArgumentError } from "../errors.ts";
import { hlcWall } from "../clock.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import {
  MAX_PULL_BYTES,
  MAX_PULL_LIMIT,
  type PullResponse,
  type PushResponse,
} from "../sync/protocol.ts";
import { type Context, Hono, type MiddlewareHandler } from "../deps.ts";
import { ByteBudget } from "./byte_budget.ts";
import {
  type AppEnv,
  dropBody,
  head,
  HttpError,
  json,
  limitBody,
  type ServerContext,
} from "./http.ts";
import { mayTouch, type Principal, requireRole } from "./auth.ts";
import { holdsBlob, mayReadBlob } from "./uploads.ts";
import { splitStream } from "../projections/project.ts";
import { projectOf, pullPage, streamEventsFrom } from "../projections/read.ts";
import { decodeCursor, encodeCursor } from "../sync/cursor.ts";

/** Deepest JSON nesting a push may hold (event payloads need a few levels; a bomb needs many). */
const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in a JSON text, counted without parsing it: JSON
 * nested thousands deep parses, but encoding it again overflows the stack, so it would fail
 * later, on every reader.
 */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** A browser posts text/plain or a form anywhere without a preflight; JSON it must ask for. */
const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    await dropBody(c);
    throw new HttpError(
      415,
      "INVALID_ARGUMENT",
      `Content-Type must be application/json, not ${JSON.stringify(type)}`,
    );
  }
  await next();
};

/** The projects a batch of events touches (for per-project tokens). */
async function touchedProjects(
  ctx: ServerContext,
  events: StoredEvent[],
): Promise<Set<string | undefined>> {
  const out = new Set<string | undefined>();
  const inBatch = new Map<string, string>();
  for (const e of events) {
    if (e.type === "model.created" || e.type === "task.created") {
      if (typeof e.data.project === "string") inBatch.set(e.stream, e.data.project);
    }
  }
  const known = new Map<string, string | undefined>();
  for (const e of events) {
    if (!known.has(e.stream)) {
      const [kind, id] = splitStream(e.stream);
      const project = await projectOf(ctx.store, kind, id, { createdOnly: true });
      known.set(e.stream, project ?? inBatch.get(e.stream));
    }
    out.add(known.get(e.stream));
    if (e.type === "model.created" || e.type === "task.created") out.add(e.data.project);
    if (e.type === "model.updated" && typeof e.data.fields?.project === "string") {
      out.add(e.data.fields.project);
    }
  }
  return out;
}

/** The model and task ids an event refers to besides its own stream. */
function referencesOf(e: StoredEvent): { kind: "model" | "task"; id: string }[] {
  const out: { kind: "model" | "task"; id: string }[] = [];
  const fields = e.type === "model.created"
    ? e.data
    : e.type === "model.updated"
    ? e.data.fields
    : undefined;
  if (fields?.parent) out.push({ kind: "model", id: fields.parent });
  if (fields?.task) out.push({ kind: "task", id: fields.task });
  if (e.type === "model.created" && e.data.originalTask) {
    out.push({ kind: "task", id: e.data.originalTask });
  }
  if (e.type === "task.model_connected") out.push({ kind: "model", id: e.data.modelId });
  return out;
}

/**
 * Refuses, for a project-limited token, a push that reaches outside its projects: a link,
 * parent or base model in a project it may not touch (ids the server does not know are
 * allowed: nothing to reach), or weights naming a stored blob it may not read and did not
 * upload itself.
 */
async function checkReferences(
  ctx: ServerContext,
  who: Principal,
  events: StoredEvent[],
): Promise<void> {
  const inBatch = new Map<string, string>();
  for (const e of events) {
    if (e.type === "model.created" || e.type === "task.created") {
      inBatch.set(e.stream, e.data.project ?? "");
    }
  }
  for (const [i, e] of events.entries()) {
    for (const ref of referencesOf(e)) {
      const project = await projectOf(ctx.store, ref.kind, ref.id) ??
        inBatch.get(`${ref.kind}:${ref.id}`);
      if (project !== undefined && !mayTouch(who, project)) {
        throw new HttpError(
          403,
          "FORBIDDEN",
          `events[${i}] refers to a ${ref.kind} outside this token's projects`,
        );
      }
    }
    if (e.type === "model.weights_updated" && e.data.hash) {
      const h = e.data.hash;
      if (
        await (ctx.blobs ?? ctx.store.blobs).has(h) && !(await mayReadBlob(ctx.store, who, h)) &&
        !(await holdsBlob(ctx.store, who, h))
      ) {
        throw new HttpError(
          403,
          "FORBIDDEN",
          `events[${i}] names a blob this token has not uploaded: upload its bytes first`,
        );
      }
    }
  }
}

/** Whether a model stream was in a token's projects at some point before `beforeSeq`. */
async function wasInScope(
  store: ServerContext["store"],
  who: Principal,
  stream: string,
  beforeSeq: number,
): Promise<boolean> {
  for (const e of await streamEventsFrom(store, stream, 0, MAX_PULL_LIMIT)) {
    if (e.seq! >= beforeSeq) break;
    const p = e.type === "model.created"
      ? e.data.project
      : e.type === "model.updated"
      ? e.data.fields.project
      : undefined;
    if (typeof p === "string" && mayTouch(who, p)) return true;
  }
  return false;
}

/**
 * Parses and validates a push body into events. A body with non-finite markers (`marked`) is
 * parsed with a reviver, which recurses: its depth is checked first. A plain body is parsed by
 * `JSON.parse`, which takes any depth (and no more memory for it than for flat text of the same
 * size), and each event's depth is checked by the validator, which names the event.
 */
function parsePush(ctx: ServerContext, text: string, marked: boolean): StoredEvent[] {
  let parsed: unknown;
  try {
    const depth = marked ? jsonDepth(text) : 0;
    if (depth > MAX_JSON_DEPTH) {
      throw new Error(`it nests ${depth} levels deep, more than ${MAX_JSON_DEPTH}`);
    }
    parsed = marked ? decodeData(text) : JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "INVALID_ARGUMENT", `Body is not JSON: ${(e as Error).message}`);
  }
  const list = (parsed as { events?: unknown })?.events;
  if (!Array.isArray(list)) {
    throw new HttpError(400, "INVALID_ARGUMENT", 'Body must be {"events": [...]}');
  }
  if (list.length > ctx.maxEventsPerPush) {
    throw new HttpError(
      413,
      "PAYLOAD_TOO_LARGE",
      `A push holds at most ${ctx.maxEventsPerPush} events, got ${list.length}`,
    );
  }
  const maxSkew = ctx.maxClockSkewMs;
  return list.map((e, i) => {
    try {
      const ev = validateEvent(e);
      if (hlcWall(ev.at) > Date.now() + maxSkew) {
        throw new Error(
          `event.at ${JSON.stringify(ev.at)} is more than ${maxSkew} ms ahead of the server's ` +
            "clock: check this device's clock",
        );
      }
      if (ev.type === "model.weights_updated" && ev.data.hash && !isSha256Hex(ev.data.hash)) {
        throw new Error(`data.hash ${JSON.stringify(ev.data.hash)} is not a sha256 digest`);
      }
      return ev;
    } catch (err) {
      throw new HttpError(400, "INVALID_EVENT", `events[${i}]: ${(err as Error).message}`);
    }
  });
}

/**
 * The `/v1/events` routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {} });
 * const pull = await fetch(`${server.url}/v1/events?after=0`).then((r) => r.json());
 * assert.deepEqual(pull.events, []);
 * assert.equal(pull.more, false);
 * const plain = await fetch(`${server.url}/v1/events`, { method: "POST", body: "{}" });
 * assert.equal(plain.status, 415);
 * await plain.body?.cancel();
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function eventsRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const s = ctx.store;
  const withServerId = () => (ctx.serverId ? { server: ctx.serverId } : {});
  const budget = new ByteBudget(ctx.pushBytesInFlight ?? Math.floor(ctx.maxEventsBody / 2));

  app.post(
    "/v1/events",
    requireRole(ctx, "write"),
    requireJson,
    limitBody(ctx.maxEventsBody),
    async (c) => {
      // A body of unknown length (chunked) counts as the largest allowed.
      const length = Number(c.req.header("content-length") ?? ctx.maxEventsBody);
      const release = await budget.take(Number.isFinite(length) ? length : ctx.maxEventsBody);
      try {
        return await takePush(c);
      } finally {
        release();
      }
    },
  );

  /** A push, once its bytes fit the budget. */
  async function takePush(c: Context<AppEnv>): Promise<Response> {
    const who = c.get("principal");
    // The raw request's text, not hono's (which keeps it for the request's lifetime): a big
    // push's body is garbage once parsed.
    const body = await c.req.raw.text();
    // A body without the non-finite marker holds no NaN or infinity: the data column is the
    // plain JSON text (see `ingest.ts`).
    const plainData = !body.includes('"$nf"');
    let events = parsePush(ctx, body, !plainData);
    if (who.projects) {
      const named = new Set(
        events.flatMap((e) =>
          e.type === "model.created" || e.type === "task.created" ? [e.data.project] : []
        ),
      );
      for (const p of await touchedProjects(ctx, events)) {
        if (!mayTouch(who, p)) {
          // A project the push names itself may be named back; one the server holds not.
          const shown = p !== undefined && named.has(p) ? ` ${JSON.stringify(p)}` : "";
          throw new HttpError(
            403,
            "FORBIDDEN",
            `This push touches a project${shown} outside this token's projects`,
          );
        }
      }
      await checkReferences(ctx, who, events);
    }
    // The actor of an event pushed with a token is that token's name, whatever the device
    // wrote (a loopback server without tokens trusts its caller's label).
    if (ctx.auth) {
      events = events.map((e) => (e.actor === who.name ? e : { ...e, actor: who.name }));
    }
    const fresh = await s.ingest(events, { remote: true, plainData });
    const out: PushResponse = {
      accepted: fresh.length,
      duplicates: events.length - fresh.length,
      seq: await head(ctx),
      ...withServerId(),
    };
    return json(out);
  }

  app.get("/v1/events", requireRole(ctx, "read"), async (c) => {
    const who = c.get("principal");
    const afterText = c.req.query("after") ?? null;
    const limitText = c.req.query("limit") ?? null;
    const cursor = decodeCursor(afterText);
    const after = cursor.seq;
    const limit = Number(limitText ?? "1000");
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PULL_LIMIT) {
      throw new InvalidArgumentError(
        "limit",
        limitText,
        `must be an integer from 1 to ${MAX_PULL_LIMIT}`,
      );
    }
    const bytesText = c.req.query("maxBytes") ?? null;
    const maxBytes = Number(bytesText ?? MAX_PULL_BYTES);
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_PULL_BYTES) {
      throw new InvalidArgumentError(
        "maxBytes",
        bytesText,
        `must be an integer from 1 to ${MAX_PULL_BYTES}`,
      );
    }
    const { events: page, next, more } = await pullPage(s, cursor, limit, maxBytes);
    let events = page;
    const gone: string[] = [];
    if (who.projects) {
      const mayRead = new Map<string, boolean>();
      const sent = new Set<string>();
      events = [];
      for (const e of page) {
        if (c.req.raw.signal.aborted) break; // the client left: stop working for it
        let ok = mayRead.get(e.stream);
        if (ok === undefined) {
          const [kind, id] = splitStream(e.stream);
          ok = mayTouch(who, await projectOf(s, kind, id));
          mayRead.set(e.stream, ok);
        }
        const move = e.type === "model.updated" && typeof e.data.fields.project === "string";
        if (ok && move && !sent.has(e.stream)) {
          // The model may just have entered this token's scope: its earlier events, which
          // earlier pulls skipped, come first (a device ignores those it has).
          sent.add(e.stream);
          for (const old of await streamEventsFrom(s, e.stream, 0, MAX_PULL_LIMIT)) {
            if (old.seq! < e.seq! && old.seq! <= after) events.push(old);
          }
        }
        if (ok) events.push(e);
        else if (move && await wasInScope(s, who, e.stream, e.seq!)) {
          // It left this token's scope: the device learns its new place and that it is gone.
          events.push(e);
          gone.push(splitStream(e.stream)[1]);
        }
      }
    }
    const out: PullResponse = {
      events: events as PullResponse["events"],
      next: encodeCursor(next),
      more,
      ...withServerId(),
      head: await head(ctx),
      ...(gone.length ? { gone } : {}),
    };
    return json(out);
  });

  app.all("/v1/events", (c) => {
    throw new HttpError(405, "INVALID_ARGUMENT", `Method ${c.req.method} not allowed`);
  });
  return app;
}
