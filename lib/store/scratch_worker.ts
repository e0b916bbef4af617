/**
 * The worker thread a local `rebuild()` folds in (started by `scratch_thread.ts`): it owns the
 * scratch database (`scratch.ts`) and folds the log's pages it is sent as JSON texts
 * (`log_pages.ts`), one after the other, so the parse and the fold run beside the main thread's
 * reads of the next pages. Each message gets one answer with its id.
 *
 * @module
 */
import { Scratch } from "./scratch.ts";
import { eventsOfPage, PageNotJsonError } from "./log_pages.ts";
import { ModelogError } from "../errors.ts";
import type { ToScratch } from "./scratch_thread.ts";

const port = globalThis as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent<ToScratch>) => void) | null;
};

let scratch: Scratch | undefined;

// Each message is answered before the next is taken (the fold is synchronous).
port.onmessage = (e) => answer(e.data);

function answer(m: ToScratch): void {
  try {
    if (m.op === "open") scratch = new Scratch(m.path);
    else if (m.op === "fold") {
      if (!scratch) throw new Error("the scratch database is not open");
      scratch.fold(eventsOfPage(m.text));
    } else {
      scratch?.close();
      scratch = undefined;
    }
    port.postMessage({ id: m.id, ok: true });
  } catch (err) {
    const kind = err instanceof PageNotJsonError
      ? "json"
      : err instanceof ModelogError
      ? "modelog"
      : "other";
    port.postMessage({
      id: m.id,
      ok: false,
      kind,
      code: err instanceof ModelogError ? err.code : undefined,
      message: err instanceof Error ? err.message : String(err),
    });
  }
}
