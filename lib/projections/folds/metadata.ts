/**
 * The `model_metadata` fold: each metadata key of a model is its own last-writer-wins element
 * (set with `present = 1`, removed with `present = 0`), changed by `model.metadata_changed`.
 *
 * @module
 */
import { type Fold, key, pick, splitStream } from "../fold.ts";

/** One metadata key of a model. */
export interface MetadataRow {
  /** The model id. */
  model_id: string;
  /** The key. */
  key: string;
  /** The value's type name. */
  type: string;
  /** The value as a string. */
  value: string;
  /** 1 when the key is set. */
  present: number;
  /** HLC of the last set or remove. */
  at: string;
}

/** The state of the `model_metadata` fold. */
export interface MetadataState {
  /** Rows by model id and key. */
  readonly rows: Map<string, MetadataRow>;
  /** Keys of the rows changed. */
  readonly dirty: Set<string>;
}

function setKey(s: MetadataState, row: MetadataRow): void {
  const k = key(row.model_id, row.key);
  const cur = s.rows.get(k);
  if (cur && cur.at >= row.at) return;
  s.rows.set(k, row);
  s.dirty.add(k);
}

/** The `model_metadata` fold. */
export const metadataFold: Fold<MetadataState> = {
  name: "metadata",
  init: () => ({ rows: new Map(), dirty: new Set() }),
  preload(events) {
    const ids = new Set<string>();
    for (const e of events) {
      if (e.type === "model.metadata_changed") ids.add(splitStream(e.stream)[1]);
    }
    return ids.size
      ? [{ table: "model_metadata", columns: ["model_id"], keys: [...ids].map((i) => [i]) }]
      : [];
  },
  load(s, _table, rows) {
    for (const r of rows as readonly MetadataRow[]) s.rows.set(key(r.model_id, r.key), { ...r });
  },
  apply(s, e) {
    if (e.type !== "model.metadata_changed") return;
    const model_id = splitStream(e.stream)[1];
    const at = e.at;
    for (const k of e.data.remove ?? []) {
      setKey(s, { model_id, key: k, type: "str", value: "", present: 0, at });
    }
    for (const [k, v] of Object.entries(e.data.set ?? {})) {
      setKey(s, { model_id, key: k, type: v.type, value: v.value, present: 1, at });
    }
  },
  outputs: [{
    table: "model_metadata",
    key: ["model_id", "key"],
    columns: ["model_id", "key", "type", "value", "present", "at"],
    rows: (s, all) => pick(s.rows, s.dirty, all),
  }],
};
