/**
 * Who a request is: the tokens file
 * `{"tokens": [{"token": "...", "role": "write", "projects": ["vision"]}]}`, roles `read`,
 * `write`, `admin`, optional per-project limits, constant-time lookup, and the middleware that
 * puts a request's {@link Principal} on its hono context (hono's `bearerAuth`, with a
 * `verifyToken` that maps the token to its principal).
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "../errors.ts";
import { bearerAuth, type Context, type MiddlewareHandler } from "../deps.ts";
import { type AppEnv, errorJson, HttpError, type ServerContext } from "./http.ts";

/** A token's role: read < write < admin. */
export type Role = "read" | "write" | "admin";

/** One configured token. */
export interface TokenEntry {
  /** The secret bearer token. */
  token: string;
  /** What it may do. */
  role: Role;
  /** Projects the token may touch; absent means all. */
  projects?: string[];
  /** A name for logs (never the token itself). */
  name?: string;
}

/** Who a request is. */
export interface Principal {
  /** What it may do. */
  role: Role;
  /** Projects it may touch; undefined means all. */
  projects: Set<string> | undefined;
  /** Its name for logs, and the verified actor of the events it pushes. */
  name: string;
  /**
   * A stable id of the token (a digest, never the token): the owner of its uploads in
   * progress and of the blobs it proved it holds. `local` for the loopback caller.
   */
  id: string;
}

/** The caller of a server without tokens (loopback only): may do everything. */
export const LOCAL_PRINCIPAL: Principal = {
  role: "admin",
  projects: undefined,
  name: "local",
  id: "local",
};

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/** Whether a principal's role is at least `need`. */
export function hasRole(p: Principal, need: Role): boolean {
  return RANK[p.role] >= RANK[need];
}

/** Whether a principal may touch a project. */
export function mayTouch(p: Principal, project: string | undefined): boolean {
  if (!p.projects) return true;
  return project !== undefined && p.projects.has(project);
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The characters of a bearer token (RFC 6750 `b64token`), the only ones a header can carry. */
const TOKEN_CHARS = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * Refuses tokens a bearer header cannot carry (RFC 6750 allows letters, digits, `-._~+/` and
 * trailing `=`): such a token could never sign in, so the server says so when it starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTokenChars } from "./auth.ts";
 * checkTokenChars([{ token: "abc-DEF_123.456", role: "read" }]);
 * assert.throws(() => checkTokenChars([{ token: "has a space", role: "read" }]), /tokens\[0\]/);
 * ```
 */
export function checkTokenChars(entries: TokenEntry[], source = "tokens"): void {
  entries.forEach((e, i) => {
    if (typeof e.token !== "string" || !TOKEN_CHARS.test(e.token)) {
      throw new InvalidArgumentError(
        `${source}[${i}].token`,
        "<hidden>",
        "must use only letters, digits, - . _ ~ + / and a trailing =",
      );
    }
  });
}

/** Parses and checks a tokens file's JSON text. */
export function parseTokens(text: string, source = "tokens file"): TokenEntry[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    // Neither the text nor the parser's message (which may quote it) is shown: it holds tokens.
    const at = /position \d+(?: \(line \d+ column \d+\))?/.exec((e as Error).message)?.[0];
    throw new InvalidArgumentError(source, "<hidden>", `is not JSON${at ? ` (at ${at})` : ""}`);
  }
  const list = (j as { tokens?: unknown })?.tokens;
  if (!Array.isArray(list)) {
    throw new InvalidArgumentError(`${source}.tokens`, list, "must be an array");
  }
  return list.map((t, i) => {
    const f = `${source}.tokens[${i}]`;
    if (t === null || typeof t !== "object") {
      throw new InvalidArgumentError(f, t, "must be an object");
    }
    const e = t as Record<string, unknown>;
    if (typeof e.token !== "string" || e.token.length < 8) {
      throw new InvalidArgumentError(
        `${f}.token`,
        "<hidden>",
        "must be a string of at least 8 characters",
      );
    }
    if (e.role !== "read" && e.role !== "write" && e.role !== "admin") {
      throw new InvalidArgumentError(`${f}.role`, e.role, "must be read, write or admin");
    }
    if (
      e.projects !== undefined &&
      (!Array.isArray(e.projects) || e.projects.some((p) => typeof p !== "string"))
    ) {
      throw new InvalidArgumentError(
        `${f}.projects`,
        e.projects,
        "must be an array of project names",
      );
    }
    return {
      token: e.token,
      role: e.role,
      ...(e.projects ? { projects: e.projects as string[] } : {}),
      name: typeof e.name === "string" ? e.name : `token#${i}`,
    };
  });
}

/** Looks up bearer tokens in constant time per entry. */
export class TokenAuth {
  readonly #entries: { digest: Uint8Array; entry: TokenEntry; id: string }[];
  /** @param entries the configured tokens */
  constructor(entries: TokenEntry[]) {
    this.#entries = entries.map((entry) => ({
      digest: digest(entry.token),
      entry,
      id: createHash("sha256").update(`modelog-token-id:${entry.token}`).digest("hex").slice(0, 16),
    }));
  }

  /** The configured tokens without their secrets (the admin's token list). */
  list(): { name: string; role: Role; projects: string[] | null; id: string }[] {
    return this.#entries.map(({ entry, id }) => ({
      name: entry.name ?? "token",
      role: entry.role,
      projects: entry.projects ?? null,
      id,
    }));
  }

  /** The principal of a token, or undefined when it matches none. */
  lookup(token: string): Principal | undefined {
    const d = digest(token);
    let hit: { entry: TokenEntry; id: string } | undefined;
    for (const e of this.#entries) {
      // Compare every entry (no early exit) so timing does not reveal which one matched.
      if (timingSafeEqual(e.digest, d)) hit = e;
    }
    if (!hit) return undefined;
    const found = hit.entry;
    return {
      role: found.role,
      projects: found.projects ? new Set(found.projects) : undefined,
      name: found.name ?? "token",
      id: hit.id,
    };
  }
}

/**
 * Middleware finding the request's principal from its bearer token with hono's `bearerAuth`;
 * a missing, malformed or unknown token gets `onFail`'s answer.
 */
function bearer(auth: TokenAuth, onFail: (c: Context) => Response): MiddlewareHandler<AppEnv> {
  const fail = { message: onFail };
  return bearerAuth<AppEnv>({
    verifyToken: (token, c) => {
      const p = auth.lookup(token);
      if (p) c.set("principal", p);
      return p !== undefined;
    },
    noAuthenticationHeader: fail,
    invalidAuthenticationHeader: fail,
    invalidToken: fail,
  });
}

const unauthorized = () => errorJson(401, "UNAUTHORIZED", "Missing or unknown bearer token");

/**
 * Middleware requiring a role: 403 on a read-only server for anything but reads, 401 without
 * a known bearer token, 403 when the token's role is below `need`. Sets `principal`.
 */
export function requireRole(ctx: ServerContext, need: Role): MiddlewareHandler<AppEnv> {
  const check = ctx.auth ? bearer(ctx.auth, unauthorized) : undefined;
  return async (c, next) => {
    if (ctx.readOnly && need !== "read") {
      throw new HttpError(403, "FORBIDDEN", "This server is read-only");
    }
    if (!check) {
      c.set("principal", LOCAL_PRINCIPAL);
      return await next();
    }
    return await check(c, async () => {
      const p = c.get("principal");
      if (!hasRole(p, need)) {
        throw new HttpError(403, "FORBIDDEN", `This token's role ${p.role} cannot ${need}`);
      }
      await next();
    });
  };
}

/**
 * Middleware for the web UI's pages: browsers cannot send a bearer header, so pages take the
 * token from a bearer header when there is one, else the session of the cookie `/login` sets.
 * Neither: a redirect to `/login`.
 */
export function pageAuth(
  auth: TokenAuth,
  fromCookie: (c: Context) => Principal | undefined,
): MiddlewareHandler<AppEnv> {
  const toLogin = () => new Response(null, { status: 303, headers: { location: "/login" } });
  const check = bearer(auth, toLogin);
  return async (c, next) => {
    if (c.req.header("authorization") !== undefined) return await check(c, next);
    const p = fromCookie(c);
    if (!p) return toLogin();
    c.set("principal", p);
    await next();
  };
}
