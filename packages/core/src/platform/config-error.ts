/** One problem of a configuration, with where it is when that is known. */
export interface ConfigProblem {
  /** What is wrong, starting with the field path (e.g. `domains[1].vcpus: must be >= 1, got 0`). */
  message: string;
  /** Field path (e.g. `domains[1].vcpus`), when the problem belongs to one field. */
  path?: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** 1-based column in the file, when known. */
  column?: number;
}

/** A platform configuration error: names the configuration path, the bad value and what is allowed. */
export class ConfigError extends Error {
  /**
   * @param message - what is wrong, starting with the configuration path (e.g. `'abis[1]': …`)
   * @param issues - every problem found, when several are reported together
   * @param problems - the same problems with their field paths and file positions
   */
  constructor(
    message: string,
    readonly issues: readonly string[] = [message],
    readonly problems: readonly ConfigProblem[] = issues.map((m) => ({ message: m })),
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
