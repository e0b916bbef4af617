/**
 * What a model needs from a task, and nothing more: the task's identity and store, a way to
 * record a model link, and which task is current. `Task` registers itself here when it is
 * made; the models talk to tasks only through this file, so `task.ts` may import the models
 * without a cycle. The `Task` type is imported for signatures only (erased at run time).
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { BaseModel } from "./base.ts";
import type { Task } from "../task.ts";

/** A model's role on a task. */
export type LinkRole = "input" | "output";

/** The task fields a model reads. `Task` implements this interface. */
export interface TaskLink {
  /** The task id. */
  readonly id: string;
  /** The task name (default name of its output models). */
  readonly name: string;
  /** The project name (default project of its models). */
  readonly project: string;
  /** The store the task and its models write to. */
  readonly store: Store;
  /** The default upload destination for output weights. */
  readonly outputUri: string | undefined;
}

/** The link records a task keeps for its models (module-internal: not part of `Task`). */
export interface ModelLinks {
  /** Appends a `task.model_connected` event and records the link (no-op when already so). */
  link(role: LinkRole, name: string, model: BaseModel): Promise<void>;
  /** Records a link that was already appended (by the model's creation). */
  remember(role: LinkRole, name: string, model: BaseModel): void;
  /** A default name for an unnamed output entry. */
  nextOutputName(): string;
}

const links = new WeakMap<TaskLink, ModelLinks>();
let current: Task | undefined;

/**
 * Registers a task's link records (called once by the `Task` constructor). Storing a `Task`
 * under a `TaskLink` key is what checks that `Task` implements the interface.
 */
export function registerTask(task: Task, records: ModelLinks): void {
  links.set(task, records);
}

/** Whether `v` is a registered task, i.e. a `Task`. */
export function isTask(v: unknown): v is Task {
  return typeof v === "object" && v !== null && links.has(v as TaskLink);
}

/** The link records of a task. */
export function linksOf(task: TaskLink): ModelLinks {
  const l = links.get(task);
  if (!l) throw new TypeError(`Task ${JSON.stringify(task.id)} was not made by Task.init`);
  return l;
}

/** The task made by the last `Task.init` that is not closed, if any. */
export function currentTask(): Task | undefined {
  return current;
}

/** Makes `task` the current task. */
export function setCurrentTask(task: Task): void {
  current = task;
}

/** Clears the current task if it is `task` (on close). */
export function clearCurrentTask(task: Task): void {
  if (current === task) current = undefined;
}
