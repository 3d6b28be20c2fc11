/**
 * One live status line on a TTY (rewritten in place with the elapsed time), plain lines otherwise,
 * so `trigger --wait` reads well in a terminal and in CI logs alike.
 */
export class ProgressLine {
  private readonly started = Date.now();
  private current = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly out: NodeJS.WriteStream) {}

  private get live(): boolean {
    return this.out.isTTY === true;
  }

  /** A line that stays (e.g. "sent"). */
  note(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
    this.render();
  }

  /** The current state; on a TTY it replaces the previous one. */
  update(text: string): void {
    this.current = text;
    if (!this.live) {
      this.out.write(`${this.elapsed()} ${text}\n`);
      return;
    }
    this.render();
    this.timer ??= setInterval(() => this.render(), 250).unref();
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
    this.current = '';
  }

  private elapsed(): string {
    return `[${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s]`;
  }

  private render(): void {
    if (this.live && this.current) this.out.write(`\r\x1b[K${this.elapsed()} ${this.current}`);
  }

  private clear(): void {
    if (this.live && this.current) this.out.write('\r\x1b[K');
  }
}
