/** Words for schedule descriptions ("at 09:00 on Monday–Friday, New York time"). */
import { formatTimeOfDay } from "./calendar.ts";

/** Weekday names indexed 0 = Sunday … 6 = Saturday (and 7 = Sunday). */
export const WEEKDAY_NAMES = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
  "Sunday",
];

/** Month names indexed 1 = January … 12 = December. */
export const MONTH_NAMES = [
  "",
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** "New York time" for America/New_York, "UTC" for UTC. */
export function zoneLabel(zone: string): string {
  if (/^(Etc\/)?(UTC|GMT|UCT|Universal|Zulu)$/i.test(zone)) return "UTC";
  if (!zone.includes("/") || zone.startsWith("Etc/")) return `${zone} time`;
  return `${zone.slice(zone.lastIndexOf("/") + 1).replaceAll("_", " ")} time`;
}

/** "a, b and c". */
export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

/** Groups sorted numbers into runs ("1–5, 7") named by `name`; runs of three or more use a dash. */
export function describeRuns(values: readonly number[], name: (value: number) => string): string {
  const runs: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    if (j - i >= 2) runs.push(`${name(values[i])}–${name(values[j])}`);
    else for (let k = i; k <= j; k++) runs.push(name(values[k]));
    i = j + 1;
  }
  return joinWords(runs);
}

/** "at 09:00 and 17:30". */
export function describeTimes(seconds: readonly number[]): string {
  return `at ${joinWords(seconds.map(formatTimeOfDay))}`;
}

/** "31st", "2nd". */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13
    ? "th"
    : n % 10 === 1
    ? "st"
    : n % 10 === 2
    ? "nd"
    : n % 10 === 3
    ? "rd"
    : "th";
  return `${n}${suffix}`;
}
