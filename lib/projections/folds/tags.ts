/**
 * The `model_tags` fold: each tag of a model is its own last-writer-wins element (added with
 * `present = 1`, removed with `present = 0`), set by `model.created` and `model.tags_changed`.
 *
 * @module
 */
import { type Fold, key, pick, splitStream } from "../fold.ts";

/** A tag of a model with its LWW timestamp. */
export interface TagRow {
  /** The model id. */
  model_id: string;
  /** The tag. */
  tag: string;
  /** 1 when the tag is on the model. */
  present: number;
  /** HLC of the last add or remove. */
  at: string;
}

/** The state of the `model_tags` fold. */
export interface TagsState {
  /** Rows by model id and tag. */
  readonly rows: Map<string, TagRow>;
  /** Keys of the rows changed. */
  readonly dirty: Set<string>;
}

function setTag(s: TagsState, modelId: string, tag: string, present: number, at: string): void {
  const k = key(modelId, tag);
  const cur = s.rows.get(k);
  if (cur && cur.at >= at) return;
  s.rows.set(k, { model_id: modelId, tag, present, at });
  s.dirty.add(k);
}

/** The `model_tags` fold. */
export const tagsFold: Fold<TagsState> = {
  name: "tags",
  init: () => ({ rows: new Map(), dirty: new Set() }),
  preload(events) {
    // A model has few tags: load them all for each model whose tags the batch changes.
    const ids = new Set<string>();
    for (const e of events) {
      if (e.type === "model.created" || e.type === "model.tags_changed") {
        ids.add(splitStream(e.stream)[1]);
      }
    }
    return ids.size
      ? [{ table: "model_tags", columns: ["model_id"], keys: [...ids].map((i) => [i]) }]
      : [];
  },
  load(s, _table, rows) {
    for (const r of rows as readonly TagRow[]) s.rows.set(key(r.model_id, r.tag), { ...r });
  },
  apply(s, e) {
    const id = splitStream(e.stream)[1];
    if (e.type === "model.created") {
      for (const t of e.data.tags ?? []) setTag(s, id, t, 1, e.at);
    } else if (e.type === "model.tags_changed") {
      for (const t of e.data.remove ?? []) setTag(s, id, t, 0, e.at);
      for (const t of e.data.add ?? []) setTag(s, id, t, 1, e.at);
    }
  },
  outputs: [{
    table: "model_tags",
    key: ["model_id", "tag"],
    columns: ["model_id", "tag", "present", "at"],
    rows: (s, all) => pick(s.rows, s.dirty, all),
  }],
};
