/**
 * Model ids in UI URLs: a full id, or a unique prefix of at least 6 characters (the short ids
 * the demo and CLI print). An unknown id is a 404; an ambiguous prefix lists its matches.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { Model } from "../models/model.ts";
import { ModelogError } from "../errors.ts";
import { modelIdsWithPrefix } from "../projections/read.ts";
import { h, page } from "../reports/layout.ts";
import { htmlResponse, notFound } from "./ui_response.ts";

/** The shortest id prefix a URL may give. */
export const MIN_PREFIX = 6;

/** A model found from a URL's id, or the page to answer instead (404, ambiguous prefix). */
export type FoundModel = { model: Model } | { response: Response };

/**
 * Loads the model an id or id prefix names.
 *
 * @param store the store
 * @param id a full id or a prefix of at least {@link MIN_PREFIX} characters
 * @param projects a project-limited viewer's projects: other projects' models look missing
 * @returns the model, or the response to give (404 page, or a page listing the matches)
 */
export async function findModel(
  store: Store,
  id: string,
  projects?: ReadonlySet<string>,
): Promise<FoundModel> {
  const visible = (m: Model) => !projects || projects.has(m.project);
  const missing = { response: notFound(`No model ${JSON.stringify(id)} in this store.`) };
  try {
    const m = await Model.get(id, { store });
    return visible(m) ? { model: m } : missing;
  } catch (e) {
    if (
      !(e instanceof ModelogError &&
        (e.code === "MODEL_NOT_FOUND" || e.code === "INVALID_ARGUMENT"))
    ) throw e;
  }
  if (id.length < MIN_PREFIX || !/^[0-9A-Za-z_-]+$/.test(id)) return missing;
  const found = await Promise.all(
    (await modelIdsWithPrefix(store, id, 20)).map((m) => Model.get(m, { store })),
  );
  const ids = found.filter(visible).map((m) => m.id);
  if (ids.length === 0) return missing;
  if (ids.length === 1) return { model: found.find((m) => m.id === ids[0])! };
  const list = ids.map((m) => `<li><a href="/models/${encodeURIComponent(m)}">${h(m)}</a></li>`);
  return {
    response: htmlResponse(
      page({
        title: "Ambiguous id",
        crumbs: [],
        body: `<div class="error" id="ambiguous">The id prefix ${
          h(JSON.stringify(id))
        } matches ${ids.length}${ids.length === 20 ? " or more" : ""} models: give more of it.</div>
<div class="card"><ul>${list.join("")}</ul></div>`,
      }),
      409,
    ),
  };
}
