/**
 * How the web UI answers: HTML pages with their security headers, and the 404 page.
 *
 * @module
 */
import { h, page } from "../reports/layout.ts";

/**
 * The CSP of every UI page: scripts and styles only from this origin (and inline), no requests
 * anywhere else.
 */
export const PAGE_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; " +
  "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The HTML response of a UI page. */
export function htmlResponse(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": PAGE_CSP,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      // same-origin: form posts carry their Origin (the sign-in and CSRF checks read it);
      // no other site ever gets a referrer.
      "referrer-policy": "same-origin",
    },
  });
}

/** The UI's 404 page. */
export function notFound(message: string): Response {
  return htmlResponse(
    page({
      title: "Not found",
      crumbs: [],
      body: `<div class="error">${h(message)}</div><p><a href="/">All models</a></p>`,
    }),
    404,
  );
}
