// Progress for long ingests: a redrawn bar on a terminal, periodic plain lines otherwise (CI logs,
// files), so a log never fills with carriage returns and a terminal never scrolls a line per batch.
import type { IngestProgress } from './ingest';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressPrinterOptions {
  label?: string;
  stream?: ProgressStream;
  /** Minimum time between plain lines when the stream is not a terminal. */
  intervalMs?: number;
  /** Documents already done when this attempt started (a resumed ingest), so the ETA uses this attempt's pace. */
  startDocs?: number;
  now?: () => number;
}

export interface ProgressPrinter {
  update(p: IngestProgress): void;
  /** Ends the bar (newline on a terminal) and prints a final line. */
  done(p?: IngestProgress): void;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One status line: percentage, docs, chunks, throughput and an ETA from the rate since start. */
export function describeProgress(p: IngestProgress, elapsedMs: number, startDocs = 0): string {
  const frac = p.docsTotal === 0 ? 1 : p.docsDone / p.docsTotal;
  const done = p.docsDone - startDocs;
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? ((p.docsTotal - p.docsDone) / rate) * 1000 : NaN;
  const chunkRate = elapsedMs > 0 ? (p.chunks / (elapsedMs / 1000)).toFixed(1) : '0';
  return `${(frac * 100).toFixed(1)}% ${p.docsDone}/${p.docsTotal} docs, ${p.chunks}/${p.chunksTotal} chunks, ${chunkRate} chunks/s, eta ${formatDuration(eta)}`;
}

export function createProgressPrinter(opts: ProgressPrinterOptions = {}): ProgressPrinter {
  const stream = opts.stream ?? process.stderr;
  const label = opts.label ?? 'ingest';
  const intervalMs = opts.intervalMs ?? 5000;
  const now = opts.now ?? (() => Date.now());
  const start = now();
  const startDocs = opts.startDocs ?? 0;
  let lastLine = -Infinity;
  let last: IngestProgress | null = null;
  const tty = Boolean(stream.isTTY);

  const bar = (p: IngestProgress): string => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 100) - 90));
    const frac = p.docsTotal === 0 ? 1 : p.docsDone / p.docsTotal;
    const filled = Math.round(frac * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  };

  return {
    update(p) {
      last = p;
      const t = now();
      const text = `${label} ${describeProgress(p, t - start, startDocs)}`;
      if (tty) {
        stream.write(`\r${bar(p)} ${text}\x1b[K`);
      } else if (t - lastLine >= intervalMs || p.docsDone === p.docsTotal) {
        stream.write(`${text}\n`);
        lastLine = t;
      }
    },
    done(p) {
      const final = p ?? last;
      if (tty) stream.write('\n');
      if (final) stream.write(`${label} done: ${final.docsDone}/${final.docsTotal} docs, ${final.chunks} chunks in ${formatDuration(now() - start)}\n`);
    },
  };
}
