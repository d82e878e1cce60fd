import { formatClock, formatDateTime, localTimeParts, timeTitle, zoneHeading } from './local-time';

describe('times on the dashboard', () => {
  // A log line and a run's creation, as the user reported them: the same instant read in three zones.
  const at = '2026-12-05T16:45:13.250Z';

  it("shows an instant in the reader's zone with its offset, the same shape in every zone", () => {
    expect(formatDateTime(at, 'America/New_York')).toBe('2026-12-05 11:45:13 UTC-5');
    // Tokyo is already on the next day: the date is local too, and the offset says so.
    expect(formatDateTime(at, 'Asia/Tokyo')).toBe('2026-12-06 01:45:13 UTC+9');
    expect(formatDateTime(at, 'Asia/Kolkata')).toBe('2026-12-05 22:15:13 UTC+5:30');
    expect(formatDateTime(at, 'UTC')).toBe('2026-12-05 16:45:13 UTC');
    // Summer time is the date's own offset, not today's.
    expect(formatDateTime('2026-07-01T12:00:00Z', 'America/New_York')).toBe('2026-07-01 08:00:00 UTC-4');
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('not a time')).toBe('—');
  });

  it("gives a log line's time of day in the same zone as the lists (no longer UTC beside local)", () => {
    expect(formatClock(at, 'America/New_York')).toBe('11:45:13');
    expect(formatClock('2026-12-05T15:00:00Z', 'Asia/Tokyo')).toBe('00:00:00');
    expect(localTimeParts(at, 'America/New_York')).toEqual({ date: '2026-12-05', time: '11:45:13', offset: 'UTC-5' });
  });

  it('keeps the exact UTC instant and the zone in the tooltip', () => {
    expect(timeTitle(at, 'America/New_York')).toBe(
      '2026-12-05T16:45:13.250Z · 2026-12-05 11:45:13 UTC-5 (America/New_York)',
    );
    expect(zoneHeading('Asia/Tokyo', Date.parse(at))).toBe('times in Asia/Tokyo, UTC+9');
    expect(zoneHeading('America/New_York', Date.parse('2026-07-01T12:00:00Z'))).toBe(
      'times in America/New_York, UTC-4',
    );
    expect(zoneHeading('Etc/UTC')).toBe('times in UTC');
  });
});
