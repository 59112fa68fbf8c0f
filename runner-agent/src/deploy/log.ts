import { systemClock, type Clock } from '../../../src/pipeline/clock.js';
import type { DeployEvent, DeployStep, StepOutcome } from './record.js';

/**
 * The step log of one deploy: each step is one line (`deploy ocr-det@2: warmup: ...`) for the
 * operator and one {@link DeployEvent} for the events spool, so the two never disagree.
 */
export class DeployLog {
  readonly events: DeployEvent[] = [];
  private last: number;

  constructor(
    /** `deploy ocr-det@2`, `rollback ocr-det`: what each line starts with. */
    readonly prefix: string,
    private readonly print: (line: string) => void,
    private readonly clock: Clock = systemClock,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.last = clock.now();
  }

  /** Starts timing the next step (time spent between steps, e.g. waiting on the lock, is not counted). */
  begin(): void {
    this.last = this.clock.now();
  }

  /** Records and prints a step that ended with `outcome`. */
  step(step: DeployStep, outcome: StepOutcome, detail: string): void {
    const at = this.clock.now();
    this.events.push({ step, outcome, at: this.now().toISOString(), ms: round(at - this.last), detail });
    this.last = at;
    const verb = outcome === 'ok' ? '' : outcome === 'fail' ? ' failed' : ' skipped';
    this.print(`${this.prefix}: ${step}${verb}: ${detail}`);
  }

  /** A line that is not a step (`done: serving 2`), printed but not recorded. */
  note(text: string): void {
    this.print(`${this.prefix}: ${text}`);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
