/** The seven schedule types of SPEC §1. */
export const SCHEDULE_TYPES = [
  "once",
  "interval",
  "cron",
  "daily",
  "weekly",
  "monthly",
  "rrule",
] as const;

/** One of the seven schedule types. */
export type ScheduleType = typeof SCHEDULE_TYPES[number];

/** What to do with a local time that a daylight-saving gap skips. */
export type GapPolicy = "shift" | "skip";

/** What to do with a local time that a daylight-saving fold repeats. */
export type RepeatPolicy = "first" | "both" | "last";

/** How a wall-clock schedule reads local times at a DST edge (SPEC §1). */
export interface DstPolicy {
  /** A skipped local time: fire shifted forward by the gap (default), or skip the occurrence. */
  gap: GapPolicy;
  /** A repeated local time: fire at the first instant (default), both, or the last. */
  repeat: RepeatPolicy;
}

/** A schedule as a user states it; instants are epoch milliseconds. */
export interface ScheduleSpec {
  /** Which of the seven schedule types. */
  type: ScheduleType;
  /** The expression of that type ("0 9 * * 1-5", "PT15M", "1-5 09:00"…). */
  expression: string;
  /** IANA zone name; defaults to UTC. */
  timezone?: string | null;
  /** No run before this instant (epoch ms). */
  startAt?: number | null;
  /** No run after this instant (epoch ms). */
  endAt?: number | null;
  /** The schedule ends after this many runs. */
  maxRuns?: number | null;
  /** How local times at DST edges are read (wall-clock types only). */
  dstPolicy?: Partial<DstPolicy> | null;
  /**
   * When the schedule was enabled: the interval anchor and the rrule DTSTART default when
   * `startAt` is absent.
   */
  anchor?: number | null;
}

/** How an occurrence's local time met a daylight-saving edge. */
export type DstEdge = "none" | "gap_shifted" | "fold_first" | "fold_second";

/** One instant a schedule fires, with the local wall time it was read from. */
export interface Occurrence {
  /** The instant, epoch milliseconds. */
  at: number;
  /** The nominal local wall time, as milliseconds since 1970-01-01T00:00 on the wall clock. */
  local: number;
  /** Whether the local time fell in a DST gap or fold. */
  dst: DstEdge;
}
