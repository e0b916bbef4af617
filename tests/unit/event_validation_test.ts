/** The shared event validator refuses control characters and JSON nested past the server's limit. */
import assert from "node:assert/strict";
import { InvalidEventError, MAX_EVENT_DEPTH, validateEvent } from "../../lib/events.ts";
import { formatHlc, uuidv7 } from "../../lib/clock.ts";

function ev(type: string, data: unknown, stream = "model:abc"): unknown {
  const at = formatHlc({ wall: Date.now(), counter: 0, origin: "dev" });
  return { id: uuidv7(), stream, type, at, origin: "dev", v: 1, actor: "me", data };
}

function refused(e: unknown, field: string): void {
  assert.throws(() => validateEvent(e), (err: unknown) => {
    assert.ok(err instanceof InvalidEventError, String(err));
    assert.equal(err.code, "INVALID_EVENT");
    assert.equal(err.field, field);
    return true;
  });
}

Deno.test("validateEvent refuses NUL and control characters in names, tags, keys", () => {
  refused(ev("model.created", { name: "a\u0000" }), "data.name");
  refused(ev("model.updated", { fields: { name: "a\nb" } }), "data.fields.name");
  refused(ev("model.tags_changed", { add: ["ok", "b\u007f"] }), "data.add");
  refused(
    ev("model.metadata_changed", { set: { "k\u0000": { value: "1", type: "int" } } }),
    "data.set",
  );
  refused(ev("task.created", { project: "p", name: "n\u0000" }, "task:abc"), "data.name");
  // Free text keeps its newlines; removing an old bad tag stays possible.
  validateEvent(ev("model.updated", { fields: { comment: "line 1\nline 2" } }));
  validateEvent(ev("model.tags_changed", { remove: ["old\u0000tag"] }));
});

Deno.test("validateEvent refuses data nested deeper than the push limit allows", () => {
  const nest = (n: number) => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  // data itself is level 2 (the event is level 1): figure, layout, then the nested value.
  const plot = (layoutDepth: number) =>
    ev("metric.plot", {
      kind: "histogram",
      title: "t",
      series: "s",
      iteration: 0,
      figure: { data: [], layout: { x: nest(layoutDepth) } },
    });
  // event(1) data(2) figure(3) layout(4) x: arrays 5..
  validateEvent(plot(MAX_EVENT_DEPTH - 4));
  refused(plot(MAX_EVENT_DEPTH - 3), "event.data");
  refused(plot(70), "event.data");
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  refused(ev("model.created", { labels: {}, extra: cyc }), "event.data");
  // A scalar batch's point arrays are checked point by point; anything else it carries is held
  // to the same depth (its encoding would overflow the stack, or a server would refuse it).
  const scalars = (extra: unknown) =>
    ev("metric.scalars", { title: "t", series: "s", iters: [0, 1], values: [1, 2], extra });
  // event(1) data(2) extra: arrays 3..
  validateEvent(scalars(nest(MAX_EVENT_DEPTH - 2)));
  refused(scalars(nest(MAX_EVENT_DEPTH - 1)), "event.data");
  refused(scalars(nest(100_000)), "event.data");
  refused(scalars(cyc), "event.data");
});

Deno.test("an event checked once is taken as it is again; a changed copy of it is checked anew", () => {
  const good = ev("model.created", { name: "m", project: "p" }) as Record<string, unknown>;
  assert.equal(validateEvent(good), good);
  assert.equal(validateEvent(good), good);
  refused({ ...good, stream: "nowhere" }, "event.stream");
  refused({ ...good, data: { name: "a\u0000", project: "p" } }, "data.name");
  // A refused object stays refused.
  const bad = ev("model.created", { name: "b\u0000" });
  refused(bad, "data.name");
  refused(bad, "data.name");
});
