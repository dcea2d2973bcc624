/**
 * The `inprocess` executor: functions of the program that embeds Chronolog (src/mod.ts), found by
 * task id. A task whose handler is not registered in this process is not armed here: another
 * process that has it fires it, and the task's runs and history stay in the shared log.
 */
import type { JsonValue } from "../../domain/task.ts";
import { MAX_RESULT_BYTES, type RunContext, type RunOutcome } from "./mod.ts";

/** What a handler is told about the run it performs. */
export interface HandlerContext {
  /** The task (job) id. */
  taskId: string;
  /** This run's id (the same across its retries). */
  runId: string;
  /** The occurrence this run is for. */
  scheduledFor: Date;
  /** 1 for the first attempt, then 2, 3… on retries. */
  attempt: number;
  /** The task's inputs. */
  inputs: JsonValue;
  /** Aborted when the run times out, is cancelled, or the scheduler shuts down. */
  signal: AbortSignal;
}

/** A scheduled function: its return value (JSON) is the run's result; a throw fails the run. */
export type Handler = (context: HandlerContext) => unknown;

/** The handlers of this process, by task id. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, Handler>();
  #listener: ((taskId: string) => void) | null = null;

  /** Whether this process can run the task. */
  has(taskId: string): boolean {
    return this.#handlers.has(taskId);
  }

  /** Registers (or replaces) the task's handler. */
  set(taskId: string, handler: Handler): void {
    this.#handlers.set(taskId, handler);
    this.#listener?.(taskId);
  }

  /** Forgets the task's handler: it no longer fires in this process. */
  delete(taskId: string): void {
    if (this.#handlers.delete(taskId)) this.#listener?.(taskId);
  }

  /** Hears each change (the scheduler arms or disarms the task); null stops. */
  listen(listener: ((taskId: string) => void) | null): void {
    this.#listener = listener;
  }

  /** Runs the task's handler; a throw, a non-JSON result or a missing handler fails the run. */
  async run(context: RunContext): Promise<RunOutcome> {
    const handler = this.#handlers.get(context.taskId);
    if (handler === undefined) {
      return { ok: false, error: "No handler is registered for this task in this process" };
    }
    const { signal } = context;
    const running = (async (): Promise<RunOutcome> => {
      try {
        return resultOf(
          await handler({
            taskId: context.taskId,
            runId: context.runId,
            scheduledFor: new Date(context.scheduledFor),
            attempt: context.attempt,
            inputs: context.inputs,
            signal,
          }),
        );
      } catch (error) {
        return {
          ok: false,
          error: error instanceof Error ? error.message || error.name : String(error),
        };
      }
    })();
    // A function cannot be stopped from outside: one that ignores its signal runs on, but the
    // run ends when the signal fires (timeout, cancellation, shutdown), so nothing waits for it.
    let stop = () => {};
    const aborted = new Promise<RunOutcome>((resolve) => {
      stop = () => resolve({ ok: false, error: `The run was aborted (${String(signal.reason)})` });
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop, { once: true });
    });
    try {
      return await Promise.race([running, aborted]);
    } finally {
      signal.removeEventListener("abort", stop);
    }
  }
}

/** A handler's return value as a run result: JSON, at most MAX_RESULT_BYTES. */
function resultOf(value: unknown): RunOutcome {
  if (value === undefined) return { ok: true, result: null };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    return { ok: false, error: `The handler's result is not JSON: ${String(error)}` };
  }
  if (text === undefined) {
    return { ok: false, error: "The handler's result is not JSON (a function or a symbol)" };
  }
  if (new TextEncoder().encode(text).byteLength > MAX_RESULT_BYTES) {
    return {
      ok: false,
      error: `The handler's result is larger than ${MAX_RESULT_BYTES} bytes of JSON`,
    };
  }
  return { ok: true, result: JSON.parse(text) as JsonValue };
}
