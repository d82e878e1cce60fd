import { h } from './dom';

/**
 * Confusion matrix as a heatmap: rows are actual classes, columns predicted; each cell's shade is
 * its share of the actual class (so classes of different sizes read alike) and it shows the count.
 */
export function confusionHeatmap(classNames: string[], matrix: number[][]): HTMLElement {
  return h(
    'table',
    { class: 'heatmap', 'aria-label': 'Confusion matrix (rows: actual, columns: predicted)' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { class: 'corner' }, 'actual ↓ / predicted →'),
        ...classNames.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      matrix.map((row, i) => {
        const total = row.reduce((a, b) => a + b, 0) || 1;
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, classNames[i] ?? String(i)),
          ...row.map((count, j) => {
            const share = count / total;
            const hue = i === j ? 'var(--good-rgb)' : 'var(--bad-rgb)';
            return h(
              'td',
              {
                style: `background: rgba(${hue}, ${(0.08 + share * 0.85).toFixed(3)})`,
                title: `${classNames[i]} → ${classNames[j]}: ${count} (${(share * 100).toFixed(1)}%)`,
              },
              count,
            );
          }),
        );
      }),
    ),
  );
}
