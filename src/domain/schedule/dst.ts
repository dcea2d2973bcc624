/**
 * Reading wall-clock times in a zone, with the daylight-saving rules of SPEC §1.
 *
 * The zone's timeline is a list of segments with one UTC offset each. Inside a segment, local
 * times map to instants one to one and in order, so the first occurrence after an instant is
 * found segment by segment: the pattern's first local time in the segment's local range, plus,
 * when the segment opens with a gap and the policy shifts, the first skipped local time read with
 * the offset before the gap (RFC 5545 §3.3.5; Temporal's "compatible" disambiguation).
 */
import type { DstPolicy, Occurrence } from "./types.ts";
import type { ZoneRules } from "./zone.ts";

/** SPEC default for wall-clock schedules: shift out of gaps, fire the first of repeats. */
export const WALL_CLOCK_POLICY: DstPolicy = { gap: "shift", repeat: "first" };
/** SPEC default for cron with hour `*`: real time, so skipped hours never fire, repeats twice. */
export const REAL_TIME_POLICY: DstPolicy = { gap: "skip", repeat: "both" };
/** SPEC default for rrule (RFC 5545 §3.3.10): nonexistent instances are ignored. */
export const RRULE_POLICY: DstPolicy = { gap: "skip", repeat: "first" };

/** Four hundred Gregorian years: every calendar pattern repeats within this span. */
export const HORIZON_DAYS = 146_097;
const HORIZON_MS = HORIZON_DAYS * 86_400_000;

/** A set of wall-clock times (local ms, whole seconds). */
export interface LocalPattern {
  /** The first local time in the set that is ≥ `local` and < `limit`, or -1. */
  nextLocal(local: number, limit: number): number;
}

/** The first occurrence of a wall-clock pattern strictly after instant `after`. */
export function nextWallClock(
  zone: ZoneRules,
  pattern: LocalPattern,
  options: { policy: DstPolicy; after: number },
): Occurrence | null {
  const { policy, after } = options;
  let t = after + 1;
  let index = zone.segmentIndex(t);
  const horizon = after + HORIZON_MS;
  for (;;) {
    const segment = zone.segment(index);
    const { start, end, offset, previousOffset, nextOffset } = segment;
    const opensWithFold = previousOffset > offset;
    const closesWithFold = nextOffset < offset;
    let low = Math.max(t, start) + offset;
    let high = end + offset;
    if (opensWithFold && policy.repeat === "first") low = Math.max(low, start + previousOffset);
    if (closesWithFold && policy.repeat === "last") high = Math.min(high, end + nextOffset);

    let best: Occurrence | null = null;
    if (low < high) {
      const local = pattern.nextLocal(low, high);
      if (local >= 0) {
        const dst = opensWithFold && local < start + previousOffset
          ? "fold_second"
          : closesWithFold && local >= end + nextOffset
          ? "fold_first"
          : "none";
        best = { at: local - offset, local, dst };
      }
    }
    if (policy.gap === "shift" && previousOffset < offset) {
      // Local times in [start + previousOffset, start + offset) do not exist; read with the
      // offset before the gap they land in [start, start + gap), ahead of the segment's own.
      const gapLow = Math.max(start + previousOffset, t + previousOffset);
      const gapHigh = start + offset;
      const local = gapLow < gapHigh ? pattern.nextLocal(gapLow, gapHigh) : -1;
      const at = local - previousOffset;
      if (local >= 0 && (best === null || at < best.at)) {
        best = { at, local, dst: "gap_shifted" };
      }
    }
    if (best !== null) return best;
    if (end > horizon || !zone.hasSegmentAfter(index)) return null;
    index += 1;
    t = end;
  }
}

/** True when a wall-clock time exists in the zone (is not skipped by a gap). */
export function localTimeExists(zone: ZoneRules, local: number): boolean {
  const day = 86_400_000;
  const last = zone.segmentIndex(local + 2 * day);
  for (let index = zone.segmentIndex(local - 2 * day); index <= last; index++) {
    const { start, end, offset } = zone.segment(index);
    if (start + offset <= local && local < end + offset) return true;
  }
  return false;
}

/** The wall-clock reading of an instant in a zone. */
export function toLocal(zone: ZoneRules, instant: number): number {
  return instant + zone.offsetAt(instant);
}
