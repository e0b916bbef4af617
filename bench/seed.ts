/**
 * Synthetic model histories for the benchmark, built in memory as ready-to-ingest events (UUIDv7
 * ids, HLC timestamps), so that 100,000 models take seconds instead of 100,000 API calls.
 *
 * Every model gets `eventsPerModel` events: `model.created` (with tags), `model.metadata_changed`,
 * then `model.weights_updated` snapshots, a `model.tags_changed`, and every fourth model is
 * published. Tags and metadata are drawn from a seeded PRNG, so runs are comparable:
 *
 * - tag `demo` on 30 % of models, `TF` on 30 % (independently), one architecture tag, one team tag;
 * - metadata `dataset` = `ds-0` … `ds-19` (5 % each), `key` = `value` (50 %) or `other`.
 *
 * @module
 */
import { formatHlc, uuidv7 } from "../lib/clock.ts";
import type { NewEvent, StoredEvent } from "../lib/events.ts";

/** Number of distinct `dataset` metadata values. */
export const DATASETS = 20;

import { rng } from "../tests/fixtures/helpers.ts";
export { rng };

const ARCHS = ["resnet", "bert", "yolo", "unet", "gpt", "vit"];

/** Generates the events of models `from` … `to - 1`, in time order. */
export class Seeder {
  readonly origin = "bench0000000000";
  readonly actor = "bench";
  #wall: number;
  #counter = 0;
  readonly #rand: () => number;
  readonly #eventsPerModel: number;

  constructor(options: { eventsPerModel: number; seed?: number; startMs?: number }) {
    this.#eventsPerModel = Math.max(3, options.eventsPerModel);
    this.#rand = rng(options.seed ?? 42);
    this.#wall = options.startMs ?? Date.now() - 30 * 86_400_000;
  }

  #at(): string {
    // About one model per simulated second; strictly increasing.
    this.#counter++;
    if (this.#counter > 999_999) {
      this.#wall++;
      this.#counter = 0;
    }
    return formatHlc({ wall: this.#wall, counter: this.#counter, origin: this.origin });
  }

  /** The model id of the n-th generated model. */
  static modelId(n: number): string {
    return n.toString(16).padStart(32, "0");
  }

  /** The events of models [from, to). */
  events(from: number, to: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    const r = this.#rand;
    for (let n = from; n < to; n++) {
      this.#wall += 1 + Math.floor(r() * 2000);
      this.#counter = 0;
      const id = Seeder.modelId(n);
      const stream = `model:${id}`;
      const ev = (type: StoredEvent["type"], data: unknown): StoredEvent =>
        ({
          id: uuidv7(),
          stream,
          type,
          at: this.#at(),
          origin: this.origin,
          v: 1,
          actor: this.actor,
          data,
        }) as StoredEvent;
      const tags = [ARCHS[n % ARCHS.length]!, `team-${Math.floor(r() * 10)}`];
      if (r() < 0.3) tags.push("demo");
      if (r() < 0.3) tags.push("TF");
      out.push(ev("model.created", {
        name: `model-${n}`,
        project: `project-${n % 50}`,
        framework: tags.includes("TF") ? "TensorFlow" : "PyTorch",
        comment: `synthetic model ${n}`,
        labels: { background: 0, object: 1 },
        tags,
        uri: "",
      }));
      out.push(ev("model.metadata_changed", {
        set: {
          dataset: { value: `ds-${Math.floor(r() * DATASETS)}`, type: "str" },
          key: { value: r() < 0.5 ? "value" : "other", type: "str" },
          lr: { value: String(Math.round(r() * 1000) / 10000), type: "float" },
        },
      }));
      const rest = this.#eventsPerModel - 2;
      const published = n % 4 === 0;
      const snapshots = rest - 1 - (published ? 1 : 0);
      for (let j = 0; j < snapshots; j++) {
        out.push(ev("model.weights_updated", {
          uri: `https://models.example.com/${id}/ckpt-${j}.pt`,
          hash: id.slice(0, 32) + String(j).padStart(32, "0"),
          size: 1_000_000 + j,
          iteration: (j + 1) * 100,
          filename: `ckpt-${j}.pt`,
        }));
      }
      out.push(ev("model.tags_changed", { add: ["v2"], remove: [tags[1]!] }));
      if (published) out.push(ev("model.published", {}));
    }
    return out;
  }
}

/**
 * `n` small `metric.plot` events (a 3-bar histogram each) of one model, in append batches of
 * `batch`: the sync benchmarks' payload.
 */
export function plotEventBatches(modelId: string, n: number, batch: number): NewEvent[][] {
  const batches: NewEvent[][] = [];
  for (let i = 0; i < n; i += batch) {
    const b: NewEvent[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      b.push({
        stream: `model:${modelId}`,
        type: "metric.plot",
        data: {
          title: `plot${j % 10}`,
          series: "s",
          iteration: j,
          kind: "histogram",
          figure: { data: [{ type: "bar", y: [j % 7, j % 5, j % 3] }], layout: {} },
        },
      } as NewEvent);
    }
    batches.push(b);
  }
  return batches;
}
