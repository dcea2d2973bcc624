/**
 * VTIMEZONE blocks written from the engine's own zone data (Temporal's tz database, read through
 * `zoneRules`), so a calendar converts every local time of the feed with exactly the offsets the
 * scheduler fires by. A packaged VTIMEZONE library carries its own copy of the tz database, which
 * drifts from the runtime's: timezones-ical-library 2.3.2 disagreed with Deno 2.9.6 on
 * America/Vancouver, America/Edmonton, Africa/Casablanca and Africa/El_Aaiun.
 *
 * A block lists each transition of the window as its own observance (a DTSTART without RRULE,
 * RFC 5545 §3.6.5 allows it): exact for zones whose rules change, and what every parser reads.
 */
import { zoneRules } from "../domain/schedule/zone.ts";

/** The zones a feed writes in UTC rather than with a TZID. */
const UTC_NAMES = /^(Etc\/)?(UTC|UCT|Universal|Zulu|GMT|GMT[+-]?0|Greenwich)$/i;

/** Zone names of the present IANA regions (not links such as US/Eastern or Japan). */
const REGION_NAMES =
  /^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)\//;

/**
 * The TZID a zone is written with, or null when its times are written in UTC. Calendar apps
 * often go by the name rather than the VTIMEZONE, so a legacy link (US/Eastern) is written under
 * the zone it links to (America/New_York); a region name is kept as given (ICU would turn
 * Asia/Kolkata into Asia/Calcutta).
 */
export function feedZone(zone: string): string | null {
  const rules = zoneRules(zone);
  if (rules === null || UTC_NAMES.test(rules.id)) return null;
  if (REGION_NAMES.test(rules.id)) return rules.id;
  const linked = new Intl.DateTimeFormat("en-US", { timeZone: rules.id }).resolvedOptions()
    .timeZone;
  return REGION_NAMES.test(linked) ? linked : rules.id;
}

/**
 * The VTIMEZONE of a zone covering instants [from, to] (epoch ms): the observance in effect at
 * `from` and every transition up to the first one after `to`. Null for a name Temporal does
 * not know.
 */
export function vtimezone(zone: string, from: number, to: number): string | null {
  const rules = zoneRules(zone);
  if (rules === null) return null;
  const names = abbreviations(rules.id);
  const lines = ["BEGIN:VTIMEZONE", `TZID:${rules.id}`];
  let index = rules.segmentIndex(from);
  for (;;) {
    const segment = rules.segment(index);
    const first = segment.start === -Infinity;
    // An observance starts at its transition's local time, read in the offset before it.
    const start = first ? Date.UTC(1970, 0, 1) : segment.start + segment.previousOffset;
    const kind = !first && segment.offset > segment.previousOffset &&
        segment.offset > segment.nextOffset
      ? "DAYLIGHT"
      : "STANDARD";
    lines.push(
      `BEGIN:${kind}`,
      `DTSTART:${new Date(start).toISOString().slice(0, 19).replace(/[-:]/g, "")}`,
      `TZOFFSETFROM:${offsetText(segment.previousOffset)}`,
      `TZOFFSETTO:${offsetText(segment.offset)}`,
      ...(first ? [] : [`TZNAME:${names(segment.start)}`]),
      `END:${kind}`,
    );
    if (segment.end > to || !rules.hasSegmentAfter(index)) break;
    index++;
  }
  lines.push("END:VTIMEZONE");
  return lines.join("\r\n");
}

/** ±HHMM, or ±HHMMSS when the offset has seconds (RFC 5545 utc-offset). */
function offsetText(offsetMs: number): string {
  const total = Math.round(Math.abs(offsetMs) / 1000);
  const parts = [Math.floor(total / 3600), Math.floor(total / 60) % 60];
  if (total % 60 !== 0) parts.push(total % 60);
  return `${offsetMs < 0 ? "-" : "+"}${parts.map((n) => String(n).padStart(2, "0")).join("")}`;
}

/** The short name of a zone's offset at an instant (EST, CEST, GMT+1), from Intl. */
function abbreviations(zone: string): (at: number) => string {
  const format = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" });
  return (at) =>
    format.formatToParts(new Date(at)).find((part) => part.type === "timeZoneName")?.value ??
      zone;
}
