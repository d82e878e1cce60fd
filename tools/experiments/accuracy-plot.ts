import sharp from 'sharp';

export interface PlotSeries {
  label: string;
  colour: string;
  /** x = labels per class (log scale), y = mean accuracy, err = the half-width of its error bar. */
  points: { x: number; y: number; err: number }[];
}

const W = 640;
const H = 420;
const M = { left: 64, right: 24, top: 36, bottom: 56 };

/**
 * Accuracy against labels per class on a log x axis, one line per init with ±1 std bars, drawn as
 * SVG and rendered to PNG with sharp (already a dependency; no chart library needed).
 */
export function accuracyPlotSvg(title: string, series: PlotSeries[], yLabel = 'test accuracy (mean ± std)'): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y - p.err, p.y + p.err]));
  const [lx0, lx1] = [Math.log10(Math.min(...xs)) - 0.1, Math.log10(Math.max(...xs)) + 0.1];
  const y0 = Math.max(0, Math.floor(Math.min(...ys) * 10) / 10);
  const y1 = Math.min(1, Math.ceil(Math.max(...ys) * 10) / 10);
  const px = (x: number) => M.left + ((Math.log10(x) - lx0) / (lx1 - lx0)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const parts: string[] = [
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-family="sans-serif">${escape(title)}</text>`,
  ];
  for (let y = y0; y <= y1 + 1e-9; y += 0.1) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${M.left - 8}" y="${py(y) + 4}" text-anchor="end" font-size="11" font-family="sans-serif">${y.toFixed(1)}</text>`,
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    parts.push(
      `<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11" font-family="sans-serif">${x}</text>`,
    );
  }
  parts.push(
    `<text x="${W / 2}" y="${H - 14}" text-anchor="middle" font-size="12" font-family="sans-serif">labels per class (log scale)</text>`,
  );
  parts.push(
    `<text x="16" y="${H / 2}" text-anchor="middle" font-size="12" font-family="sans-serif" transform="rotate(-90 16 ${H / 2})">${escape(yLabel)}</text>`,
  );
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#333"/>`,
  );
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    parts.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(' ')}"/>`,
    );
    for (const p of pts) {
      parts.push(
        `<line x1="${px(p.x)}" x2="${px(p.x)}" y1="${py(p.y - p.err)}" y2="${py(p.y + p.err)}" stroke="${s.colour}" stroke-width="1.5"/>`,
      );
      parts.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${s.colour}"/>`);
    }
    const ly = M.top + 16 + i * 18;
    parts.push(
      `<line x1="${W - M.right - 150}" x2="${W - M.right - 128}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="3"/>`,
    );
    parts.push(
      `<text x="${W - M.right - 122}" y="${ly}" font-size="12" font-family="sans-serif">${escape(s.label)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

export function renderPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
