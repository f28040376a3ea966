/*
 * The guides in docs/guides are documentation a reader copies from: every ```ts block is
 * extracted to its own module and type-checked against the workspace sources with the
 * repository's tsconfig.check.json settings, so a guide cannot drift from the API.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const guidesDir = join(root, 'docs', 'guides');
const guides = readdirSync(guidesDir)
  .filter((f) => f.endsWith('.md'))
  .sort();

interface Snippet {
  guide: string;
  /** 1-based line of the first code line in the guide. */
  line: number;
  code: string;
}

function snippets(guide: string): Snippet[] {
  const lines = readFileSync(join(guidesDir, guide), 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    out.push({ guide, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

// Snippets are written under node_modules so that package resolution walks up to the
// workspace's node_modules; `paths` maps @evtchn/* to the TypeScript sources.
const cacheDir = join(root, 'node_modules', '.cache');
mkdirSync(cacheDir, { recursive: true });
const workDir = mkdtempSync(join(cacheDir, 'guide-snippets-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function typeCheck(list: Snippet[]): string[] {
  const configFile = ts.readConfigFile(join(root, 'tsconfig.check.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
  const files = list.map((s, i) => {
    const file = join(workDir, `${s.guide.replace(/\.md$/, '')}-${i}.ts`);
    // Each block is its own module, as a reader's file would be.
    writeFileSync(file, `${s.code}\nexport {};\n`);
    return file;
  });
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, rootDir: undefined, typeRoots: [join(root, 'node_modules', '@types')] };
  const program = ts.createProgram(files, options);
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file) {
      problems.push(text);
      continue;
    }
    const idx = files.indexOf(d.file.fileName);
    const where =
      idx >= 0
        ? `docs/guides/${list[idx]!.guide}:${list[idx]!.line + d.file.getLineAndCharacterOfPosition(d.start ?? 0).line}`
        : relative(root, d.file.fileName);
    problems.push(`${where}: ${text}`);
  }
  return problems;
}

describe('docs/guides', () => {
  it('has the guides the documentation promises, each with a title', () => {
    for (const g of ['getting-started.md', 'assembling-a-platform.md', 'writing-an-abi-plugin.md', 'writing-an-architecture-plugin.md', 'replay-formats.md'])
      expect(guides).toContain(g);
    for (const g of guides) expect(readFileSync(join(guidesDir, g), 'utf8')).toMatch(/^---\ntitle: \S.*\n---\n/);
  });

  it('extracts the ts code blocks', () => {
    const abi = snippets('writing-an-abi-plugin.md');
    expect(abi.length).toBeGreaterThan(3);
    expect(abi[0]!.code).toContain('class FlatHypervisorSide');
  });

  it('every ts code block of every guide type-checks against the workspace', () => {
    const all = guides.flatMap(snippets);
    expect(all.length).toBeGreaterThan(8);
    expect(typeCheck(all)).toEqual([]);
  });
});
