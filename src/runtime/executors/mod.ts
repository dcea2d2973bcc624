/**
 * Executors: what a run does (SPEC §2). Each executor turns one run of a task into an outcome;
 * the firing pipeline records the outcome in the log. Executors never throw for a failed run:
 * a failure is an outcome with the reason in `error`.
 */
import type { JsonValue } from "../../domain/task.ts";

/** What an executor knows about the run it performs. */
export interface RunContext {
  taskId: string;
  runId: string;
  /** The occurrence (epoch ms): with the task id, the run's idempotency key. */
  scheduledFor: number;
  attempt: number;
  inputs: JsonValue;
  /** Aborted when the run times out, is cancelled, or the service stops. */
  signal: AbortSignal;
}

/** How a run ended. */
export type RunOutcome =
  | { ok: true; result: JsonValue }
  | { ok: false; error: string; timedOut?: boolean };

/**
 * An outcome the log can hold. PostgreSQL text and jsonb refuse NUL and unpaired UTF-16
 * surrogates, which a handler, an endpoint or a command's output can produce: they are written as
 * U+FFFD, instead of a record that fails every time it is tried.
 */
export function storableOutcome<T extends RunOutcome>(outcome: T): T {
  const stored: RunOutcome = outcome.ok
    ? { ...outcome, result: storableJson(outcome.result) }
    : { ...outcome, error: storableText(outcome.error) };
  return stored as T;
}

function storableText(text: string): string {
  return text.toWellFormed().replaceAll("\u0000", "\uFFFD");
}

function storableJson(value: JsonValue): JsonValue {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [storableText(key), storableJson(item)]),
    );
  }
  return value;
}

/** The largest result an executor keeps, in bytes of JSON (64 KiB). */
export const MAX_RESULT_BYTES = 64 * 1024;

/** Bytes read from a stream up to a limit. */
export interface CappedRead {
  /** The bytes kept: at most the limit. */
  bytes: Uint8Array;
  /** Every byte read, kept or not. */
  bytesRead: number;
  /** Whether the stream held more than the limit (so `bytes` is not all of it). */
  truncated: boolean;
}

/** How `readCapped` treats a stream longer than its limit. */
export interface ReadCappedOptions {
  /** The most bytes kept (default MAX_RESULT_BYTES). */
  limit?: number;
  /**
   * Beyond the limit: "cancel" stops reading and cancels the stream (a peer that may send
   * forever); "drain" reads on to the end, discarding (a child process that would block on a
   * full pipe and never exit).
   */
  overflow: "cancel" | "drain";
  /** Which bytes are kept beyond the limit: the first (a result) or the last (an error's tail). */
  keep?: "head" | "tail";
  /** Cancels the stream and rejects with the signal's reason when aborted. */
  signal?: AbortSignal;
}

/** Reads a byte stream without ever holding more than the limit (plus one chunk) in memory. */
export async function readCapped(
  stream: ReadableStream<Uint8Array>,
  options: ReadCappedOptions,
): Promise<CappedRead> {
  const limit = options.limit ?? MAX_RESULT_BYTES;
  const keepTail = options.keep === "tail";
  const signal = options.signal;
  const reader = stream.getReader();
  const cancel = (): void => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let bytesRead = 0;
  try {
    signal?.throwIfAborted();
    while (true) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      bytesRead += value.byteLength;
      if (keepTail) {
        chunks.push(value);
        kept += value.byteLength;
        while (kept - chunks[0].byteLength >= limit) kept -= chunks.shift()!.byteLength;
      } else if (kept < limit) {
        const room = limit - kept;
        chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
        kept += Math.min(room, value.byteLength);
      }
      if (bytesRead > limit && options.overflow === "cancel") {
        await reader.cancel();
        break;
      }
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
  const bytes = concat(chunks);
  return {
    bytes: bytes.byteLength > limit ? bytes.subarray(bytes.byteLength - limit) : bytes,
    bytesRead,
    truncated: bytesRead > limit,
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** What a run keeps instead of a result over MAX_RESULT_BYTES: how much there was. */
export function truncatedResult(bytesRead: number): JsonValue {
  return { truncated: true, bytes_read: bytesRead, limit: MAX_RESULT_BYTES };
}

/** Whether a result's JSON fits in MAX_RESULT_BYTES. */
export function fitsResult(value: JsonValue): boolean {
  return new TextEncoder().encode(JSON.stringify(value)).byteLength <= MAX_RESULT_BYTES;
}

/**
 * A run's deadline: `signal` aborts when the run's own signal does or `timeoutS` seconds pass.
 * Dispose it (`using`) to clear the timer once the run ends.
 */
export class RunDeadline implements Disposable {
  /** Aborted by the run's signal or the timeout, whichever comes first. */
  readonly signal: AbortSignal;
  readonly #timeoutS: number;
  readonly #timeout = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(runSignal: AbortSignal, timeoutS: number) {
    this.#timeoutS = timeoutS;
    this.signal = AbortSignal.any([runSignal, this.#timeout.signal]);
    // setTimeout fires at once when the delay does not fit in an int32 (about 24.8 days).
    const delayMs = Math.min(Math.max(0, timeoutS * 1000), 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      this.#timeout.abort(new DOMException(`Timed out after ${timeoutS} s`, "TimeoutError"));
    }, delayMs);
  }

  /** The failed outcome of a run stopped by the deadline or the run's signal. */
  failure(subject: string): RunOutcome {
    return { ok: false, error: this.error(subject), timedOut: this.#timedOut() };
  }

  #timedOut(): boolean {
    return this.#timeout.signal.aborted && this.signal.reason === this.#timeout.signal.reason;
  }

  /** Why the run stopped, as its error: `subject` timed out, or the run's abort reason. */
  error(subject: string): string {
    if (this.#timedOut()) return `${subject} timed out after ${this.#timeoutS} s`;
    const reason = this.signal.reason;
    return typeof reason === "string" && reason !== ""
      ? `The run was aborted: ${reason}`
      : "The run was aborted";
  }

  /** Clears the timer. */
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
  }
}
