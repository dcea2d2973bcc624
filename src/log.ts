/** The log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of the log levels. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Facts attached to a log line; rendered as one JSON object after the message. */
export type LogFields = Record<string, unknown>;

/** Where the service writes its log lines. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger writing one line per event, dropping events below `level`. */
export function createLogger(level: LogLevel): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  function write(at: LogLevel, message: string, fields?: LogFields): void {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    const suffix = fields === undefined ? "" : ` ${JSON.stringify(fields, errorReplacer)}`;
    const line = `${new Date().toISOString()} ${at.toUpperCase()} ${message}${suffix}`;
    if (at === "warn" || at === "error") console.error(line);
    else console.log(line);
  }
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}

// JSON.stringify renders an Error as {}; the stack is what an operator needs.
function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? (value.stack ?? `${value.name}: ${value.message}`) : value;
}

/** The message of a thrown value, without a stack and with any URL (it may hold a password) masked. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s]*/gi, "<url>");
}
