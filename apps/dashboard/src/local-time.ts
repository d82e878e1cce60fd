/**
 * Times as the dashboard shows them: in the reader's own time zone (the browser's), each date with
 * its UTC offset so it never reads as another zone's, the same "2026-12-05 11:43:55" shape on every
 * page, and the exact instant in UTC (as the API's answers, the CLI and the workers' logs give it)
 * in a tooltip. A person reading runs compares them with their own clock ("an hour ago"), so
 * local time; the offset and the UTC tooltip are there for matching against server logs.
 */
import { h } from './dom';

const formats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone (a log of thousands of lines reuses it): `undefined` is the browser's zone. */
function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    });
    formats.set(key, format);
  }
  return format;
}

/** An instant's date, time of day and UTC offset in `timeZone` (the browser's when absent); null for no valid time. */
export function localTimeParts(
  iso: string | null | undefined,
  timeZone?: string,
): { date: string; time: string; offset: string } | null {
  const at = iso ? new Date(iso) : null;
  if (!at || Number.isNaN(at.getTime())) return null;
  const part: Record<string, string> = {};
  for (const { type, value } of formatter(timeZone).formatToParts(at)) part[type] = value;
  // Intl writes the offset "GMT-5", "GMT+5:30", and "GMT" or "GMT+0" for none.
  const offset = (part['timeZoneName'] ?? 'GMT').replace(/^GMT/, 'UTC').replace(/^UTC[+-]0$/, 'UTC');
  return {
    date: `${part['year']}-${part['month']}-${part['day']}`,
    time: `${part['hour']}:${part['minute']}:${part['second']}`,
    offset,
  };
}

/** "2026-12-05 11:43:55 UTC-5": a date and time in `timeZone` (the browser's when absent), with its offset. */
export function formatDateTime(iso: string | null | undefined, timeZone?: string): string {
  const t = localTimeParts(iso, timeZone);
  return t ? `${t.date} ${t.time} ${t.offset}` : '—';
}

/** "11:43:55": the time of day in `timeZone` (the browser's when absent), for a log whose heading names the zone. */
export function formatClock(iso: string | null | undefined, timeZone?: string): string {
  return localTimeParts(iso, timeZone)?.time ?? '—';
}

/** What a time's tooltip says: the exact instant in UTC, then where the reader is. */
export function timeTitle(iso: string, timeZone?: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${at.toISOString()} · ${formatDateTime(iso, timeZone)} (${timeZoneName(timeZone)})`;
}

/** The zone times are shown in: "America/New_York", or the one given. */
export function timeZoneName(timeZone?: string): string {
  return timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Which zone times are in, said once for a list of times of day (a log): "times in Asia/Tokyo, UTC+9". */
export function zoneHeading(timeZone?: string, now = Date.now()): string {
  const name = timeZoneName(timeZone);
  if (/^(Etc\/)?(UTC|UCT|GMT|Zulu)$/.test(name)) return 'times in UTC';
  return `times in ${name}, ${localTimeParts(new Date(now).toISOString(), timeZone)?.offset ?? 'UTC'}`;
}

/** A `<time>` element for an instant: local date and time with its offset, or the time of day alone (`clock`). */
export function timeElement(iso: string, style: 'datetime' | 'clock' = 'datetime'): HTMLTimeElement {
  return h(
    'time',
    { datetime: iso, title: timeTitle(iso) },
    style === 'clock' ? formatClock(iso) : formatDateTime(iso),
  );
}
