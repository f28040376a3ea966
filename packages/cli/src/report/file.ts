/*
 * The file a report goes to, checked before any work is done (like `--trace`): a path that
 * cannot be written fails at once with the option's name, not after a long run or sweep.
 */
import { closeSync, existsSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { ConfigError } from '@evtchn/core';

/** A report's output file, checked writable; written once the report is ready. */
export class ReportFile {
  private readonly created: boolean;

  /**
   * @param path - where the report goes
   * @param option - the option that named it, for messages (`--report`)
   * @throws ConfigError when the file cannot be written
   */
  constructor(
    readonly path: string,
    option = '--report',
  ) {
    const existed = existsSync(path);
    try {
      if (existed && statSync(path).isDirectory()) throw new Error('is a directory');
      // An existing file is opened without truncating it; a new one is created (and removed
      // again by discard() if no report comes).
      closeSync(openSync(path, existed ? 'r+' : 'wx'));
    } catch (e) {
      throw new ConfigError(`${option} ${path}: cannot write the report: ${(e as Error).message}`);
    }
    this.created = !existed;
  }

  /** Writes the report. */
  write(html: string): void {
    writeFileSync(this.path, html);
  }

  /** Removes the file this object created, when no report will be written. */
  discard(): void {
    if (this.created) rmSync(this.path, { force: true });
  }
}
