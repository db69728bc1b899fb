import type { Command } from 'commander';
import { addClientFlags, collectParam, jobOptions, lazy } from './flags.js';

export function registerImportCommand(program: Command): void {
  addClientFlags(jobOptions(program.command('import <file>')))
    .description('create one job per row of a spreadsheet (.xlsx), CSV/TSV or JSONL file; the header row names the params')
    .option('--template <name>', 'template from the config')
    .option('--kind <kind>', 'a built-in kind instead of a template')
    .option('--param <k=v>', 'a param added to every row (repeatable; row values win)', collectParam)
    .option('--sheet <name>', 'worksheet (default the first)')
    .option('--format <fmt>', 'xlsx, csv or jsonl (default from the extension)')
    .option('--dry-run', 'check every row, create nothing')
    .option('--dest <name[:dir]>', 'download, hikvision: the destination of every row (as --param dest=...)')
    .option('--wait', 'then wait for them as `drover wait --tag` does (exit 1 if one failed)')
    .action(lazy(() => import('./import-action.js'), 'importAction'));
}
