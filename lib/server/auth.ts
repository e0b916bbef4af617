/**
 * Bearer-token authentication for the modelog server: a tokens file
 * `{"tokens": [{"token": "...", "role": "write", "projects": ["vision"]}]}`, roles `read`,
 * `write`, `admin`, optional per-project limits, constant-time comparison.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "../errors.ts";

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
  role: Role;
  projects: Set<string> | undefined;
  name: string;
}

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
  readonly #entries: { digest: Uint8Array; entry: TokenEntry }[];
  /** @param entries the configured tokens */
  constructor(entries: TokenEntry[]) {
    this.#entries = entries.map((entry) => ({ digest: digest(entry.token), entry }));
  }

  /** The principal for an `Authorization` header, or undefined when it matches no token. */
  authenticate(header: string | null): Principal | undefined {
    if (!header) return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!m) return undefined;
    const d = digest(m[1]!);
    let found: TokenEntry | undefined;
    for (const e of this.#entries) {
      // Compare every entry (no early exit) so timing does not reveal which one matched.
      if (timingSafeEqual(e.digest, d)) found = e.entry;
    }
    if (!found) return undefined;
    return {
      role: found.role,
      projects: found.projects ? new Set(found.projects) : undefined,
      name: found.name ?? "token",
    };
  }
}
