/**
 * The web UI's write actions on a model page: add and remove tags, publish, archive and
 * unarchive. Only for a viewer who may write: a token of role `write` or `admin` (the principal
 * the server's auth middleware put on the request), or the local caller of a loopback server
 * without tokens; never on a read-only server.
 *
 * Cross-site requests are refused twice: hono's `csrf` middleware checks the `Origin` (and
 * `Sec-Fetch-Site`) of every form post, and every form carries a token derived from the
 * viewer's principal with a per-process secret (HMAC-SHA256), checked in constant time.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Store } from "../store/store.ts";
import type { Model } from "../models/model.ts";
import { type Context, csrf, Hono } from "../deps.ts";
import { ModelogError } from "../errors.ts";
import { type AppEnv, limitBody } from "./http.ts";
import { hasRole, LOCAL_PRINCIPAL, type Principal } from "./auth.ts";
import { h, page } from "../reports/layout.ts";
import { htmlResponse } from "./ui_response.ts";
import { findModel } from "./ui_ids.ts";

/** What a viewer who may write gets: the CSRF token to put in each form. */
export interface WriteAccess {
  /** The form token of this viewer. */
  csrf: string;
}

/** How the UI decides who may write. */
export interface UiWriteOptions {
  /** A read-only server: nobody writes. */
  readOnly: boolean;
}

const SECRET = randomBytes(32);
const MAX_ACTION_BODY = 16 * 1024;

function tokenFor(p: Principal): string {
  return createHmac("sha256", SECRET).update(`${p.role}\u0000${p.name}`).digest("base64url");
}

/** The request's principal: the one the auth middleware set, else the local caller. */
function principalOf(c: Context<AppEnv>): Principal {
  return c.get("principal") ?? LOCAL_PRINCIPAL;
}

/** The viewer's write access, or undefined when the viewer may only read. */
export function writeAccess(c: Context<AppEnv>, opts: UiWriteOptions): WriteAccess | undefined {
  if (opts.readOnly) return undefined;
  const p = principalOf(c);
  return hasRole(p, "write") ? { csrf: tokenFor(p) } : undefined;
}

/** The actions card of a model page (a read-only note without write access). */
export function actionsCard(m: Model, w: WriteAccess | undefined): string {
  if (!w) {
    return `<p class="muted" id="read-only">Read-only: sign in with a write token to edit.</p>`;
  }
  const base = `/models/${encodeURIComponent(m.id)}`;
  const hidden = `<input type="hidden" name="csrf" value="${h(w.csrf)}">`;
  const form = (action: string, inner: string, id: string) =>
    `<form class="inline" method="post" action="${
      h(base + action)
    }" id="${id}">${hidden}${inner}</form>`;
  const removes = m.tags.map((t) =>
    form(
      "/tags",
      `<input type="hidden" name="remove" value="${h(t)}"><button class="small plain" ` +
        `title="remove tag ${h(t)}">${h(t)} ×</button>`,
      `rm-tag-${h(encodeURIComponent(t))}`,
    )
  ).join("");
  return `<section id="actions"><div class="card actions">
${
    form(
      "/tags",
      `<input name="add" placeholder="new tag(s), comma separated" required>
<button class="small" type="submit">Add tags</button>`,
      "add-tags",
    )
  }
${removes}
${
    m.published
      ? ""
      : form("/publish", `<button class="small" type="submit">Publish</button>`, "publish")
  }
${
    form(
      "/archive",
      `<input type="hidden" name="archived" value="${m.archived ? "0" : "1"}">` +
        `<button class="small plain" type="submit">${
          m.archived ? "Unarchive" : "Archive"
        }</button>`,
      "archive",
    )
  }
</div></section>`;
}

const DONE: Record<string, string> = {
  tags: "Tags saved.",
  publish: "Published.",
  archive: "Archived.",
  unarchive: "Unarchived.",
};

/** The message of a `?done=` code after a write action, or undefined. */
export function doneMessage(code: string | null): string | undefined {
  return code ? DONE[code] : undefined;
}

function refused(status: number, message: string): Response {
  return htmlResponse(
    page({
      title: "Not allowed",
      crumbs: [],
      body: `<div class="error" id="error">${h(message)}</div><p><a href="/">All models</a></p>`,
    }),
    status,
  );
}

/**
 * The POST routes of the write actions: `/models/<id>/tags` (`add`: comma list, `remove`: one
 * tag), `/models/<id>/publish`, `/models/<id>/archive` (`archived`: `1` or `0`). Each answers
 * 303 back to the model page, 403 without write access or with a bad form token.
 */
export function actionRoutes(store: Store, opts: UiWriteOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/models/:id/*", csrf());
  app.use("/models/:id/*", limitBody(MAX_ACTION_BODY));
  const act = (path: string, run: (m: Model, form: URLSearchParams) => Promise<string>) =>
    app.post(`/models/:id/${path}`, async (c) => {
      const form = new URLSearchParams(await c.req.text());
      if (opts.readOnly) return refused(403, "This server is read-only.");
      const p = principalOf(c);
      if (!hasRole(p, "write")) {
        return refused(403, `This token's role ${p.role} cannot write.`);
      }
      const given = Buffer.from(form.get("csrf") ?? "");
      const want = Buffer.from(tokenFor(p));
      if (given.length !== want.length || !timingSafeEqual(given, want)) {
        return refused(403, "The form token is missing or stale: reload the page and try again.");
      }
      const found = await findModel(store, c.req.param("id"), p.projects);
      if ("response" in found) return found.response;
      let done: string;
      try {
        done = await run(found.model, form);
      } catch (e) {
        if (!(e instanceof ModelogError)) throw e;
        return refused(e.code === "INVALID_ARGUMENT" ? 400 : 409, e.message);
      }
      return c.redirect(`/models/${encodeURIComponent(found.model.id)}?done=${done}`, 303);
    });
  act("tags", async (m, f) => {
    const add = (f.get("add") ?? "").split(",").map((t) => t.trim()).filter((t) => t);
    const remove = f.getAll("remove").filter((t) => t);
    if (add.length) await m.addTags(...add);
    if (remove.length) await m.removeTags(...remove);
    return "tags";
  });
  act("publish", async (m) => {
    await m.publish();
    return "publish";
  });
  act("archive", async (m, f) => {
    if (f.get("archived") === "0") {
      await m.unarchive();
      return "unarchive";
    }
    await m.archive();
    return "archive";
  });
  return app;
}
