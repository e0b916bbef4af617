/**
 * A byte budget shared by requests whose bodies the server holds in memory whole (pushes): a
 * request takes its share before reading its body and gives it back when done, so concurrent
 * big pushes are handled one after another (their bytes wait in the sockets) instead of all
 * being parsed at once. The server's memory then stays bounded by the budget, not by the
 * number of clients. The heavy-request gate (`app.ts`) is the same budget counted in requests.
 *
 * @module
 */

/** A first-come, first-served budget of bytes. */
export class ByteBudget {
  #free: number;
  readonly #waiting: { bytes: number; go: () => void }[] = [];

  /** @param total The bytes that may be held at once (at least 1). */
  constructor(readonly total: number) {
    this.#free = Math.max(1, total);
  }

  /** Bytes not taken now. */
  get free(): number {
    return this.#free;
  }

  /**
   * Waits until `bytes` (at most the whole budget) are free, takes them, and returns the
   * function that gives them back (calling it twice gives them back once). Requests are served
   * in arrival order: a big one is not passed over forever by small ones.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ByteBudget } from "./byte_budget.ts";
   * const budget = new ByteBudget(10);
   * const release = await budget.take(8);
   * let second = false;
   * const next = budget.take(5).then((r) => ((second = true), r));
   * await Promise.resolve();
   * assert.equal(second, false);
   * release();
   * (await next)();
   * assert.equal(budget.free, 10);
   * ```
   */
  async take(bytes: number): Promise<() => void> {
    const want = Math.min(Math.max(0, bytes), Math.max(1, this.total));
    if (this.#waiting.length > 0 || want > this.#free) {
      await new Promise<void>((go) => this.#waiting.push({ bytes: want, go }));
    } else this.#free -= want;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#free += want;
      this.#wake();
    };
  }

  /** Lets in the waiters, in order, while the first fits. */
  #wake(): void {
    while (this.#waiting.length > 0 && this.#waiting[0]!.bytes <= this.#free) {
      const w = this.#waiting.shift()!;
      this.#free -= w.bytes;
      w.go();
    }
  }
}
