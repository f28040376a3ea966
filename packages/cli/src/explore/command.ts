/*
 * `evtchn explore FILE`: replays an `evtchn-replay/1` delivery scenario, records the state each
 * step leaves, and writes the explorer page (one self-contained HTML file).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { jsonlLines, readScenario, ScenarioError } from '@evtchn/conformance';
import { ReportFile } from '../report/file.js';
import { captureReplay, type ExploreData } from './capture.js';
import { explorerHtml } from './page.js';

/** What {@link exploreFile} made. */
export interface ExploreResult {
  /** The page's path, when it was written. */
  readonly out?: string;
  /** The page. */
  readonly html: string;
  /** The captured steps. */
  readonly data: ExploreData;
}

/**
 * Writes the explorer page of a delivery scenario.
 * @param file - the scenario (`evtchn-replay/1`)
 * @param out - where the page goes (checked writable before the replay); `undefined`: not written
 * @param expectFile - an `.expected.jsonl` to show beside each step's output
 * @throws ScenarioError for an unreadable or malformed scenario, ConfigError for an unwritable `out`
 */
export function exploreFile(file: string, out: string | undefined, expectFile?: string): ExploreResult {
  const scenario = readScenario(file);
  const format = (scenario as { format?: unknown } | null)?.format;
  if (format !== 'evtchn-replay/1')
    throw new ScenarioError(`${file}: $.format`, `the explorer steps through evtchn-replay/1 delivery scenarios, got ${JSON.stringify(format)}`);
  let expected: string[] | undefined;
  if (expectFile !== undefined) {
    try {
      expected = jsonlLines(readFileSync(expectFile, 'utf8'));
    } catch (e) {
      throw new ScenarioError(expectFile, `cannot read: ${(e as Error).message}`);
    }
  }
  const page = out === undefined ? undefined : new ReportFile(out, '--out');
  let data: ExploreData;
  try {
    data = captureReplay(scenario, basename(file), expected);
  } catch (e) {
    page?.discard();
    throw e;
  }
  const html = explorerHtml(data);
  page?.write(html);
  return { ...(out !== undefined && { out }), html, data };
}

/** The default page name for a scenario: `NAME.explore.html` in the current folder. */
export function defaultExploreOut(file: string): string {
  return `${basename(file).replace(/\.json$/i, '')}.explore.html`;
}
