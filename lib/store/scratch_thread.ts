/**
 * The main thread's side of the scratch fold's worker (`scratch_worker.ts`): opens the scratch
 * database there, hands it the log's pages as JSON texts and closes it, each call a promise
 * that settles with the worker's answer. The worker folds while this thread reads the next
 * pages: on two cores a rebuild of 1M events reads and folds in the time the fold alone took.
 *
 * @module
 */
import { ModelogError, type ModelogErrorCode } from "../errors.ts";
import { PageNotJsonError } from "./log_pages.ts";

/** A message to the worker. */
export type ToScratch =
  | { id: number; op: "open"; path: string }
  | { id: number; op: "fold"; text: string }
  | { id: number; op: "close" };

/** The worker's answer to a message. */
type FromScratch =
  | { id: number; ok: true }
  | { id: number; ok: false; kind: "json" | "modelog" | "other"; code?: string; message: string };

type Waiting = { resolve: () => void; reject: (e: Error) => void };

/** The error a failed answer stands for. */
function errorOf(a: Extract<FromScratch, { ok: false }>): Error {
  if (a.kind === "json") return new PageNotJsonError(a.message);
  if (a.kind === "modelog") {
    return new ModelogError((a.code ?? "STORE_CORRUPT") as ModelogErrorCode, a.message);
  }
  return new Error(`the rebuild's scratch fold failed: ${a.message}`);
}

/** A scratch database folded in a worker thread. */
export class ScratchThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #next = 1;
  #failed: Error | undefined;
  #ended = false;

  private constructor() {
    this.#worker = new Worker(new URL("./scratch_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<FromScratch>) => {
      const a = e.data;
      const w = this.#waiting.get(a.id);
      if (!w) return;
      this.#waiting.delete(a.id);
      if (a.ok) w.resolve();
      else w.reject(errorOf(a));
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`the rebuild's scratch worker failed: ${e.message}`));
    };
  }

  /** Starts the worker and creates the scratch database at `path` there. */
  static async open(path: string): Promise<ScratchThread> {
    const t = new ScratchThread();
    try {
      await t.#call({ op: "open", path });
    } catch (e) {
      t.end();
      throw e;
    }
    return t;
  }

  /**
   * Folds a page of the log (a `PAGE_JSON_SQL` text). Pages are folded in the order given.
   *
   * @throws {PageNotJsonError} When the page does not parse.
   */
  fold(text: string): Promise<void> {
    return this.#call({ op: "fold", text });
  }

  /** Closes the scratch database (its file stays) and ends the worker. */
  async close(): Promise<void> {
    try {
      await this.#call({ op: "close" });
    } finally {
      this.end();
    }
  }

  /** Ends the worker now (what it was doing is dropped); calls waiting on it fail. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#worker.terminate();
    this.#fail(new Error("the rebuild's scratch worker was ended"));
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    for (const w of this.#waiting.values()) w.reject(e);
    this.#waiting.clear();
  }

  #call(m: { op: "open"; path: string } | { op: "fold"; text: string } | { op: "close" }) {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...m } satisfies ToScratch);
    });
  }
}
