/**
 * The `plots` fold: the newest plot (by HLC) per model, title, series and iteration. An
 * append needs nothing loaded: the write itself keeps the newer row (`ON CONFLICT … WHERE
 * excluded.at > plots.at`), so last-writer-wins holds across batches too.
 *
 * @module
 */
import { type Fold, key, pick, splitStream } from "../fold.ts";

/** The latest plot per model/title/series/iteration. */
export interface PlotRow {
  /** The model id. */
  model_id: string;
  /** The plot title. */
  title: string;
  /** The series. */
  series: string;
  /** The iteration. */
  iteration: number;
  /** The plot kind. */
  kind: string;
  /** The `metric.plot` event holding the figure. */
  event_id: string;
  /** HLC of that event. */
  at: string;
}

/** The state of the `plots` fold. */
export interface PlotsState {
  /** Rows by model id, title, series and iteration. */
  readonly rows: Map<string, PlotRow>;
  /** Keys of the rows changed. */
  readonly dirty: Set<string>;
}

/** The `plots` fold. */
export const plotsFold: Fold<PlotsState> = {
  name: "plots",
  init: () => ({ rows: new Map(), dirty: new Set() }),
  preload: () => [],
  load() {},
  apply(s, e) {
    if (e.type !== "metric.plot") return;
    const model_id = splitStream(e.stream)[1];
    const d = e.data;
    const k = key(model_id, d.title, d.series, d.iteration);
    const cur = s.rows.get(k);
    if (!cur || cur.at < e.at) {
      s.rows.set(k, {
        model_id,
        title: d.title,
        series: d.series,
        iteration: d.iteration,
        kind: d.kind,
        event_id: e.id,
        at: e.at,
      });
      s.dirty.add(k);
    }
  },
  outputs: [{
    table: "plots",
    columns: ["model_id", "title", "series", "iteration", "kind", "event_id", "at"],
    rows: (s, all) => pick(s.rows, s.dirty, all),
    verb: "INSERT",
    suffix: `ON CONFLICT(model_id, title, series, iteration) DO UPDATE SET kind = excluded.kind,
       event_id = excluded.event_id, at = excluded.at WHERE excluded.at > plots.at`,
  }],
};
