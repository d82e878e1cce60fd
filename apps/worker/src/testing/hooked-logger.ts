import { ConsoleLogger } from '@nestjs/common';

/** For specs: the process log as lines, and a hook on each, so a test acts the moment a line is said. */
export class HookedLogger extends ConsoleLogger {
  readonly lines: string[] = [];
  onLine: (message: string) => void = () => undefined;
  override log(message: unknown, ...rest: unknown[]): void {
    this.heard(message);
    super.log(message, ...rest);
  }
  override warn(message: unknown, ...rest: unknown[]): void {
    this.heard(message);
    super.warn(message, ...rest);
  }
  private heard(message: unknown): void {
    this.lines.push(String(message));
    this.onLine(String(message));
  }
}
