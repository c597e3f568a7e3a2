/**
 * A bounded-frequency runner (kube-proxy's BoundedFrequencyRunner): run() asks
 * for a sync; syncs are at least minIntervalMs apart (a burst of events becomes
 * one sync) and at most maxIntervalMs apart (the periodic full reconcile).
 * Never two at once: a request during a sync schedules one more after it.
 */
export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** periodic: true when the sync is the timer's, not a request's */
  sync: (periodic: boolean) => Promise<void>;
  onError?: (e: unknown) => void;
}

export class BoundedFrequencyRunner {
  private lastStart = 0;
  private timer?: NodeJS.Timeout;
  private periodic?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private started = false;

  constructor(private readonly opts: RunnerOptions) {}

  start(): void {
    this.started = true;
    this.armPeriodic();
  }

  /**
   * Ask for a sync as soon as the minimum interval allows. Before start()
   * this does nothing: informers deliver their first lists one resource at
   * a time, and a sync then would program Services without their endpoints.
   */
  run(): void {
    if (this.stopped || !this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastStart + this.opts.minIntervalMs - Date.now());
    this.timer = setTimeout(() => void this.go(false), wait);
  }

  /** Wait for the sync in progress, then stop (no more syncs). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.periodic);
    await this.running;
  }

  private armPeriodic(): void {
    clearTimeout(this.periodic);
    if (this.stopped) return;
    this.periodic = setTimeout(() => void this.go(true), this.opts.maxIntervalMs);
    this.periodic.unref();
  }

  private async go(periodic: boolean): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.running) {
      this.again ||= !this.stopped;
      return;
    }
    this.lastStart = Date.now();
    this.running = this.opts.sync(periodic).catch((e) => this.opts.onError?.(e));
    await this.running;
    this.running = undefined;
    this.armPeriodic();
    if (this.again) {
      this.again = false;
      this.run();
    }
  }
}
