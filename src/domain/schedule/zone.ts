/**
 * A time zone's UTC offsets as a table of segments, read once from Temporal's tz database.
 *
 * Temporal is the only source of zone rules here: every transition comes from
 * `ZonedDateTime#getTimeZoneTransition`. Asking Temporal for each conversion costs 2–3 µs, which
 * would cap next-run computation far below what a million schedules need, so each zone's
 * transitions are read once into sorted arrays and searched in O(log n).
 */

/** The instant where zone tables start; nothing Chronolog schedules lies before it. */
const TABLE_START_MS = Date.UTC(1900, 0, 1);

/** A stretch of time with one UTC offset, and the offsets of its neighbours. */
export interface Segment {
  /** First instant of the segment (ms); -Infinity for the first. */
  start: number;
  /** First instant after the segment (ms); Infinity for the last. */
  end: number;
  /** UTC offset in the segment, ms (local = instant + offset). */
  offset: number;
  /** Offset of the previous segment (equal to `offset` for the first). */
  previousOffset: number;
  /** Offset of the next segment (equal to `offset` for the last). */
  nextOffset: number;
}

/** The offsets of one IANA zone, extended lazily as later instants are asked for. */
export class ZoneRules {
  readonly id: string;
  #starts: number[] = [-Infinity];
  #offsets: number[];
  #cursor: Temporal.ZonedDateTime;
  #complete = false;

  constructor(id: string) {
    this.id = id;
    this.#cursor = Temporal.Instant.fromEpochMilliseconds(TABLE_START_MS).toZonedDateTimeISO(id);
    this.#offsets = [this.#cursor.offsetNanoseconds / 1e6];
  }

  /** Index of the segment holding instant `t`. */
  segmentIndex(t: number): number {
    this.#extendPast(t);
    const starts = this.#starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= t) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** The segment at an index returned by segmentIndex (or the one after it). */
  segment(index: number): Segment {
    if (index + 1 >= this.#starts.length) this.#extendPast(this.#starts[index]);
    const offsets = this.#offsets;
    const last = index + 1 >= this.#starts.length;
    return {
      start: this.#starts[index],
      end: last ? Infinity : this.#starts[index + 1],
      offset: offsets[index],
      previousOffset: index > 0 ? offsets[index - 1] : offsets[index],
      nextOffset: last ? offsets[index] : offsets[index + 1],
    };
  }

  /** True when a segment follows the one at `index`. */
  hasSegmentAfter(index: number): boolean {
    if (index + 1 >= this.#starts.length) this.#extendPast(this.#starts[index]);
    return index + 1 < this.#starts.length;
  }

  /** UTC offset (ms) in effect at instant `t`. */
  offsetAt(t: number): number {
    return this.#offsets[this.segmentIndex(t)];
  }

  /** Reads transitions until one lies after `t`, or the zone has no more. */
  #extendPast(t: number): void {
    while (!this.#complete && this.#starts[this.#starts.length - 1] <= t) {
      const next = this.#cursor.getTimeZoneTransition("next");
      if (next === null) {
        this.#complete = true;
        return;
      }
      this.#starts.push(next.epochMilliseconds);
      this.#offsets.push(next.offsetNanoseconds / 1e6);
      this.#cursor = next;
    }
  }
}

// A memo of a pure function: tz data does not change while a process runs, and a
// table per schedule would cost ~0.3 ms and a few KB each.
const zones = new Map<string, ZoneRules | null>();

/**
 * The rules of an IANA zone name (case-insensitive, canonical spelling kept), or null when the
 * name is not a zone Temporal knows. UTC offsets such as "+05:00" are not IANA names.
 */
export function zoneRules(name: string): ZoneRules | null {
  const known = zones.get(name);
  if (known !== undefined) return known;
  let rules: ZoneRules | null = null;
  if (/^[A-Za-z]/.test(name) && name.length <= 64) {
    try {
      const id = new Temporal.ZonedDateTime(0n, name).timeZoneId;
      rules = id === name ? new ZoneRules(id) : zoneRules(id);
    } catch {
      rules = null;
    }
  }
  if (zones.size < 10_000) zones.set(name, rules);
  return rules;
}
