/** A platform configuration error: names the configuration path, the bad value and what is allowed. */
export class ConfigError extends Error {
  /**
   * @param message - what is wrong, starting with the configuration path (e.g. `'abis[1]': …`)
   * @param issues - every problem found, when several are reported together
   */
  constructor(
    message: string,
    readonly issues: readonly string[] = [message],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
