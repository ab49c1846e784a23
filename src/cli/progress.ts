import cliProgress from 'cli-progress';

/** What progress reporting sees of each step. */
export interface ProgressTick {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  samplesPerSec: number;
  epsilon?: number;
}

/**
 * A progress bar when stderr is a terminal; otherwise periodic JSONL progress lines on stderr (a log
 * file gets no bar redraws). Events (`checkpoint`, `warning`, `done`) are JSONL lines in either case.
 */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;

  constructor(
    private readonly tty = Boolean(process.stderr.isTTY),
    /** Minimum ms between JSONL progress lines (0: every step). */
    private readonly everyMs = 1000,
  ) {}

  tick(t: ProgressTick): void {
    if (this.tty) {
      const payload = { epoch: t.epoch + 1, loss: t.loss.toFixed(4), sps: t.samplesPerSec.toFixed(0), eps: t.epsilon !== undefined ? ` · ε ${t.epsilon.toFixed(2)}` : '' };
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          { format: 'epoch {epoch} |{bar}| {value}/{total} steps · loss {loss} · {sps} samples/s{eps}', stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(t.totalSteps, t.step, payload);
      } else this.bar.update(t.step, payload);
      return;
    }
    const now = Date.now();
    if (this.everyMs > 0 && now - this.lastLine < this.everyMs && t.step !== t.totalSteps) return;
    this.lastLine = now;
    this.event('progress', { ...t });
  }

  /** A JSONL event line on stderr (the bar, if any, is kept intact). */
  event(type: string, fields: Record<string, unknown>): void {
    const line = JSON.stringify({ type, ...fields });
    if (this.bar) this.bar.stop(), (this.bar = null);
    process.stderr.write(line + '\n');
  }

  /** A `warning` event; bound, so it can be passed as a callback (`onWarning: progress.warn`). */
  readonly warn = (message: string): void => this.event('warning', { message });

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
