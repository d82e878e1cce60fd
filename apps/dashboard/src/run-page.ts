import { formatBytes } from '@trainyard/client/browser';
import type { RunDetailView, RunProgress } from '@trainyard/contracts';
import { api, errorText, isGone } from './api';
import { lineChart, type ChartPoint, type LineChart } from './chart';
import { clear, h } from './dom';
import {
  formatDuration,
  formatMeasured,
  formatNumber,
  kindLabel,
  mergeByStep,
  queueFacts,
  runDuration,
  runEnded,
  runWaiting,
} from './format';
import { confusionHeatmap } from './heatmap';
import { keepFollowing } from './live-stream';
import { timeElement } from './local-time';
import { runHousekeepingPanel } from './run-housekeeping-panel';
import { runLogsPanel } from './run-logs-panel';
import { runsStillRecorded } from './run-presence';
import {
  augmentationSampleSaved,
  curveLines,
  evaluationNote,
  noCurvesNote,
  progressBar,
  progressHeadline,
} from './run-page-state';

/** How often an ended run's page asks whether the run is still recorded (it may be deleted elsewhere). */
const PRESENCE_CHECK_MS = 10_000;

/**
 * One run, live: curves from the downsampled series, then extended by server-sent events
 * (progress, new points, status) — no polling. Also attempts, checkpoints and the evaluation.
 */
export function runPage(root: HTMLElement, id: string): () => void {
  const series = new Map<string, ChartPoint[]>();
  let seriesLoaded = false;
  const charts: { loss?: LineChart; accuracy?: LineChart } = {};
  let run: RunDetailView | null = null;
  const header = h('div', { class: 'run-header' });
  const progress = h('div', { class: 'progress-box' });
  // While the run waits: where it stands in its queue, read again every few seconds.
  const queueNote = h('p', { class: 'muted', id: 'queue-position', hidden: true });
  const lossBox = h('div', { class: 'chart', id: 'chart-loss' });
  const accBox = h('div', { class: 'chart', id: 'chart-accuracy' });
  const chartsBox = h('div', { class: 'charts', id: 'run-charts' }, lossBox, accBox);
  // Where the curves would be, once an ended run is known to have none.
  const noCurves = h('p', { class: 'muted', id: 'no-curves', hidden: true });
  const attempts = h('section', { class: 'card' });
  const checkpoints = h('section', { class: 'card' });
  const evaluation = h('section', { class: 'card' });
  const data = h('section', { class: 'card', hidden: true });
  const live = h('span', { class: 'live muted', id: 'live-state' }, 'connecting…');
  const logs = runLogsPanel(id);
  // A reading of the run that failed after the page was drawn (the API away a moment): said above
  // the rest, which is left as it was, until a later reading succeeds.
  const problem = h('p', { class: 'error', id: 'run-problem', role: 'alert', hidden: true });
  // The run deleted while the page is open (another tab, the CLI, a script): said once, above what
  // the page last read of it, and nothing about it is asked again.
  const goneNotice = h('p', { class: 'error', id: 'run-gone', role: 'alert', hidden: true });
  let gone = false;
  const refreshOrSay = () =>
    void refresh().catch((err: unknown) => {
      if (isGone(err)) return markGone();
      problem.textContent = `Could not read the run again: ${errorText(err)}`;
      problem.hidden = false;
    });
  const housekeeping = runHousekeepingPanel(refreshOrSay, () => (location.hash = '#/'));
  clear(
    root,
    header,
    goneNotice,
    problem,
    housekeeping.element,
    progress,
    queueNote,
    chartsBox,
    noCurves,
    h('div', { class: 'grid2' }, attempts, checkpoints),
    evaluation,
    data,
    logs.element,
  );
  charts.loss = lineChart(lossBox, 'Loss');
  charts.accuracy = lineChart(accBox, 'Accuracy');

  const drawCharts = () => {
    const curves = curveLines(series);
    charts.loss?.setLines(curves.loss);
    accBox.hidden = curves.scores.length === 0;
    if (curves.scores.length) charts.accuracy?.setLines(curves.scores);
    drawNoCurves();
  };

  /** An ended run with no metric says so, where empty charts would read as curves still to come. */
  const drawNoCurves = () => {
    const curves = curveLines(series);
    const note = run && seriesLoaded ? noCurvesNote(run, curves.loss.length + curves.scores.length > 0) : null;
    noCurves.textContent = note ?? '';
    noCurves.hidden = note === null;
    chartsBox.hidden = note !== null;
  };

  const drawProgress = (p: RunProgress | null, status: string) => {
    const bar = progressBar(status, p);
    const ended = runEnded(status);
    clear(
      progress,
      bar
        ? h(
            'div',
            {
              class: `bar${bar.stopped ? ` stopped ${status.toLowerCase()}` : ''}`,
              role: 'progressbar',
              'aria-label': 'Progress',
              'aria-valuenow': Math.round(bar.fraction * 100),
              'aria-valuetext': bar.stopped
                ? `${Math.round(bar.fraction * 100)}%, ${status.toLowerCase()} there`
                : null,
              'aria-valuemin': 0,
              'aria-valuemax': 100,
            },
            h('div', { style: `width:${(bar.fraction * 100).toFixed(1)}%` }),
          )
        : '',
      h(
        'div',
        { class: 'progress-facts', id: 'progress-facts' },
        progressHeadline(status, p),
        p?.imagesPerSec !== undefined ? ` · ${formatNumber(p.imagesPerSec, 3)} images/s` : '',
        p?.loss !== undefined ? ` · loss ${formatMeasured(p.loss)}` : '',
        p?.etaSeconds !== undefined && status === 'RUNNING' ? ` · ETA ${formatDuration(p.etaSeconds * 1000)}` : '',
        // Whether the page is following the run: nothing to follow once it has ended, but when it did.
        ended ? (run?.endedAt ? [' · ended ', timeElement(run.endedAt)] : '') : [' · ', live],
        // A compacted run's curves are drawn from fewer points: say so, lest they read as a short series.
        run?.metricsCompactedAt
          ? h(
              'span',
              {
                id: 'metrics-compacted',
                title: 'of every 256 steps of a series, only its first, min, max and last points are kept',
              },
              ' · metrics compacted ',
              timeElement(run.metricsCompactedAt),
            )
          : '',
      ),
    );
  };

  const drawHeader = (r: RunDetailView) => {
    clear(
      header,
      h(
        'h1',
        {},
        r.name,
        ' ',
        h('span', { class: `badge ${r.status.toLowerCase()}`, id: 'run-status' }, r.status.toLowerCase()),
      ),
      h(
        'p',
        { class: 'muted' },
        `${kindLabel(r.kind)} · ${r.backend ?? 'no backend yet'} · ${formatDuration(runDuration(r))}`,
        r.baseRunId ? [' · base ', h('a', { href: `#/runs/${r.baseRunId}` }, r.baseRunId.slice(0, 8))] : '',
        ` · ${r.id}`,
        r.failureReason ? h('span', { class: 'error' }, ` · ${r.failureReason}`) : '',
      ),
    );
  };

  const drawAttempts = (r: RunDetailView) => {
    const start = Math.min(...r.attempts.map((a) => Date.parse(a.startedAt)));
    const end = Math.max(...r.attempts.map((a) => (a.endedAt ? Date.parse(a.endedAt) : Date.now())));
    const span = Math.max(1, end - start);
    clear(
      attempts,
      h('h2', {}, 'Attempts'),
      r.attempts.length === 0
        ? h('p', { class: 'muted' }, 'Not started yet.')
        : h(
            'ol',
            { class: 'timeline' },
            r.attempts.map((a) => {
              const from = ((Date.parse(a.startedAt) - start) / span) * 100;
              const to = (((a.endedAt ? Date.parse(a.endedAt) : Date.now()) - start) / span) * 100;
              return h(
                'li',
                {},
                h('span', { class: 'attempt-label' }, `#${a.number} ${a.outcome.toLowerCase()}`),
                h(
                  'span',
                  { class: 'track' },
                  h('span', {
                    class: `segment ${a.outcome.toLowerCase()}`,
                    style: `left:${from}%;width:${Math.max(1, to - from)}%`,
                  }),
                ),
                h(
                  'span',
                  { class: 'muted' },
                  `${a.backend ?? '—'} · ${a.workerId ?? 'no worker'} · ${formatDuration((a.endedAt ? Date.parse(a.endedAt) : Date.now()) - Date.parse(a.startedAt))}`,
                ),
                a.error ? h('div', { class: 'error' }, a.error) : '',
              );
            }),
          ),
    );
  };

  const drawCheckpoints = (r: RunDetailView) => {
    clear(
      checkpoints,
      h('h2', {}, 'Checkpoints'),
      r.checkpoints.length === 0
        ? h('p', { class: 'muted' }, 'None yet.')
        : h(
            'table',
            { class: 'compact' },
            h(
              'thead',
              {},
              h('tr', {}, ...['#', 'Epoch', 'Step', 'Size', 'Models', 'Files', 'Archive'].map((c) => h('th', {}, c))),
            ),
            h(
              'tbody',
              {},
              r.checkpoints.map((c) => {
                const files = h('td', {}, listButton(c.sequence));
                return h(
                  'tr',
                  {},
                  h('td', {}, c.sequence),
                  h('td', {}, c.epoch),
                  h('td', {}, c.step),
                  h('td', {}, formatBytes(c.bytes)),
                  h('td', {}, c.models.join(', ')),
                  files,
                  h(
                    'td',
                    {},
                    h(
                      'a',
                      {
                        href: api.checkpointArchiveUrl(id, c.sequence),
                        download: '',
                        class: 'archive-link',
                        title: 'Every file of the checkpoint in one .tar, manifest.json (sha256 of each) first',
                      },
                      '.tar',
                    ),
                  ),
                );
              }),
            ),
          ),
    );
  };

  const listButton = (sequence: number): HTMLElement =>
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: (event: Event) => void listFiles(sequence, (event.currentTarget as HTMLElement).parentElement!),
      },
      'list',
    );

  const listFiles = async (sequence: number, cell: HTMLElement) => {
    let files;
    try {
      ({ files } = await api.checkpointFiles(id, sequence));
    } catch (err) {
      // Said where it was asked, with the button to ask again: the API may only have been away a moment.
      clear(cell, h('span', { class: 'error' }, errorText(err)), ' ', listButton(sequence));
      return;
    }
    clear(
      cell,
      h(
        'ul',
        { class: 'files' },
        files.map((f) =>
          h(
            'li',
            {},
            h(
              'a',
              {
                href: api.checkpointFileUrl(id, sequence, f.file),
                download: '',
              },
              f.file,
            ),
            ` ${formatBytes(f.bytes)}`,
          ),
        ),
      ),
    );
  };

  const drawEvaluation = (r: RunDetailView) => {
    const result = r.result;
    if (!result) {
      clear(
        evaluation,
        h('h2', {}, 'Evaluation'),
        h('p', { class: 'muted', id: 'evaluation-note' }, evaluationNote(r.status)),
      );
      return;
    }
    // A classification report (fine-tune, evaluation) or a pretrain's reconstruction report.
    const classification = 'accuracy' in result ? result : null;
    const topK = 'topK' in result ? result.topK : undefined;
    clear(
      evaluation,
      h('h2', {}, `Evaluation (${result.split ?? 'test'} split)`),
      topK ? h('p', {}, `top-${topK.k} accuracy ${formatNumber(topK.accuracy)}`) : '',
      classification
        ? h(
            'p',
            {},
            `accuracy ${formatNumber(classification.accuracy)} · macro F1 ${formatNumber(classification.macroF1 ?? null)} · ${result.samples} samples`,
          )
        : h(
            'p',
            {},
            `reconstruction MSE ${formatNumber('mse' in result ? result.mse : null)} · ${result.samples} samples`,
          ),
      classification?.unscoredClasses?.length
        ? h(
            'p',
            { class: 'muted' },
            `Macro scores over ${classification.classNames.length - classification.unscoredClasses.length} of ${classification.classNames.length} classes, leaving out those with no image in the split that the model never predicted: ${classification.unscoredClasses.join(', ')}`,
          )
        : '',
      classification?.confusionMatrix && classification.classNames
        ? confusionHeatmap(classification.classNames, classification.confusionMatrix)
        : '',
      classification?.perClass
        ? h(
            'table',
            { class: 'compact' },
            h(
              'thead',
              {},
              h('tr', {}, ...['Class', 'Precision', 'Recall', 'F1', 'Support'].map((c) => h('th', {}, c))),
            ),
            h(
              'tbody',
              {},
              classification.perClass.map((c) =>
                h(
                  'tr',
                  {},
                  h('td', {}, c.className),
                  h('td', { class: 'num' }, formatNumber(c.precision)),
                  h('td', { class: 'num' }, formatNumber(c.recall)),
                  h('td', { class: 'num' }, formatNumber(c.f1)),
                  h('td', { class: 'num' }, c.support),
                ),
              ),
            ),
          )
        : '',
    );
  };

  // Asked for once, and only once the API has it: any other request is a 404 and a console error.
  let grid: HTMLImageElement | null = null;
  const augmentationGrid = (r: Pick<RunDetailView, 'spec' | 'progress' | 'checkpoints'>) => {
    if (grid || !augmentationSampleSaved(r)) return grid;
    grid = h('img', {
      src: api.augmentationPreviewUrl(id),
      alt: 'Augmented training samples',
      class: 'augmentation',
      hidden: true,
    });
    grid.addEventListener('load', () => {
      grid!.hidden = false;
      data.hidden = false;
    });
    return grid;
  };

  /** What the data looked like: files skipped as unreadable, and the augmented samples the run trained on. */
  const drawData = (r: RunDetailView) => {
    const report = r.dataReport;
    const image = augmentationGrid(r);
    clear(
      data,
      h('h2', {}, 'Data and augmentation'),
      report ? h('p', {}, `${report.files} files · ${report.skippedCount} skipped`) : '',
      report?.skipped.length
        ? h(
            'ul',
            { class: 'files' },
            report.skipped.slice(0, 20).map((s) => h('li', {}, `${s.file}: ${s.reason}`)),
          )
        : '',
      image,
    );
    data.hidden = !report && !(image && !image.hidden);
  };

  const drawQueue = async () => {
    const waiting = run !== null && runWaiting(run.status);
    const text = waiting ? await api.runQueue(id).then((q) => `Waiting: ${queueFacts(q)}`, errorText) : '';
    queueNote.textContent = text;
    queueNote.hidden = !text;
  };
  const queueTimer = window.setInterval(
    () => document.visibilityState === 'visible' && !queueNote.hidden && void drawQueue(),
    5000,
  );

  const refresh = async () => {
    run = await api.run(id);
    problem.hidden = true;
    drawHeader(run);
    housekeeping.show(run);
    drawProgress(run.progress, run.status);
    void drawQueue();
    drawAttempts(run);
    drawCheckpoints(run);
    drawEvaluation(run);
    drawData(run);
    drawNoCurves();
  };

  const loadSeries = async () => {
    const body = await api.series(id, undefined, { maxPoints: 1000 });
    for (const s of body.series) series.set(s.name, mergeByStep(series.get(s.name) ?? [], s.points));
    seriesLoaded = true;
    drawCharts();
  };

  // Subscribe first, then load: points written in between arrive by both ways and merge by step.
  // The server keeps the stream open after the run ends; one that drops is opened again.
  const events = keepFollowing(
    async (signal) => {
      for await (const event of api.events(id, { signal })) {
        live.textContent = '● live';
        if (event.type === 'progress') {
          if (run) {
            run.progress = event.progress;
            // Training has begun: a fine-tune's augmentation sample is saved by now.
            if (!grid && augmentationGrid(run)) drawData(run);
          }
          drawProgress(event.progress, run?.status ?? 'RUNNING');
        } else if (event.type === 'metrics') {
          const byName = new Map<string, ChartPoint[]>();
          for (const p of event.points) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
          for (const [name, incoming] of byName) series.set(name, mergeByStep(series.get(name) ?? [], incoming));
          drawCharts();
        } else if (event.type === 'status') {
          if (run && run.status !== event.status) refreshOrSay();
        }
      }
      return false;
    },
    () => (live.textContent = 'reconnecting…'),
  );

  /** Stops every reading of the run and says it is gone; the page keeps what it last read. */
  function markGone(): void {
    if (gone) return;
    gone = true;
    stopReading();
    goneNotice.textContent =
      'This run is no longer recorded: it was deleted while this page was open. What follows is how the page last read it.';
    goneNotice.hidden = false;
    problem.hidden = true;
    housekeeping.element.hidden = true;
    live.textContent = '';
  }

  // A run can only be deleted once it has ended, when no event is left to say anything about it:
  // while the tab is visible the page asks every 10 s whether the run is still recorded (one
  // request, a 200 either way), and stops asking once it is not.
  const presenceTimer = window.setInterval(() => {
    if (gone || !run || !runEnded(run.status) || document.visibilityState !== 'visible') return;
    void runsStillRecorded([id]).then(
      (recorded) => recorded.has(id) || markGone(),
      () => undefined, // the API away a moment: the next turn asks again
    );
  }, PRESENCE_CHECK_MS);

  function stopReading(): void {
    window.clearInterval(queueTimer);
    window.clearInterval(presenceTimer);
    events.close();
    logs.close();
  }

  void refresh()
    .then(loadSeries)
    .catch((err: unknown) => clear(root, h('p', { class: 'error' }, errorText(err))));
  return () => {
    stopReading();
    charts.loss?.destroy();
    charts.accuracy?.destroy();
  };
}
