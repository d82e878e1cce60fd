const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A byte count as people read it, in powers of 1,024 as the settings count them: "414 B" (below
 * 1 KiB a dataset of a few small images is not "0 KiB"), "12 KiB", "3.4 MiB", "50.0 GiB",
 * "1.0 PiB". One wording for the CLI and the dashboard (browser-safe).
 */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  let unit = 0;
  let value = n / 1024;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${UNITS[unit]}`;
}
