/*
 * The `evtchn plugin` command group: `evtchn plugin new DIR --kind KIND`.
 */
import { Command, Option } from 'commander';
import { PLUGIN_KINDS, type PluginKind } from '@evtchn/core';
import { scaffoldPlugin } from './scaffold.js';

/** Output of the command group. */
export interface PluginCommandIo {
  /** Standard output. */
  out(text: string): void;
}

/**
 * Adds `plugin new` to the CLI.
 * @param cmd - the root command
 * @param io - where to print
 */
export function pluginCommand(cmd: Command, io: PluginCommandIo): void {
  const plugin = cmd.command('plugin').description('work with plugin packages');
  plugin
    .command('new')
    .description('write a new plugin package that builds and passes its conformance suite')
    .argument('<dir>', 'folder of the new package (must not exist or be empty)')
    .addOption(new Option('--kind <kind>', 'what the plugin provides').choices([...PLUGIN_KINDS]).makeOptionMandatory())
    .option('--name <package>', 'npm package name (default: the folder name)')
    .action((dir: string, opts: { kind: PluginKind; name?: string }) => {
      const files = scaffoldPlugin(dir, { kind: opts.kind, name: opts.name });
      io.out(`created a ${opts.kind} plugin in ${dir}:\n${files.map((f) => `  ${f}\n`).join('')}next: cd ${dir} && npm install && npm run build && npm test\n`);
    });
}
