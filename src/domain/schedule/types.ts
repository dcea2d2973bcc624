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
  gap: GapPolicy;
  repeat: RepeatPolicy;
}

/** A schedule as a user states it; instants are epoch milliseconds. */
export interface ScheduleSpec {
  type: ScheduleType;
  expression: string;
  /** IANA zone name; defaults to UTC. */
  timezone?: string | null;
  startAt?: number | null;
  endAt?: number | null;
  maxRuns?: number | null;
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
