import { readFile } from 'node:fs/promises';
import { AppError } from '../../server/errors.ts';
import { BATCH_SIZE, type ImportReport, ImportStopped, importUsers } from '../../server/user-import/import-users.ts';
import { describePosition, type ImportSource } from '../../server/user-import/imported-user.ts';
import { readJsonLines } from '../../server/user-import/json-lines.ts';
import { readKeycloakExport } from '../../server/user-import/keycloak-export.ts';
import { type Command, text } from './context.ts';

/**
 * `tessera users import FILE [--from keycloak] [--dry-run]`; the work is in server/user-import/.
 * The report is JSON on stdout; refused users, a progress line on long files and a one-line
 * summary go to stderr. One audit event per run (with its counts), none for a dry run.
 */
const SOCKET_BATCH_SIZE = 200;

const READERS: Record<string, (text: string) => ImportSource> = {
  'json-lines': readJsonLines,
  keycloak: readKeycloakExport,
};

async function readSource(file: string, from: string): Promise<ImportSource> {
  const read = READERS[from];
  if (!read)
    throw new AppError('invalid_input', `--from must be keycloak (or leave it out for JSON lines), not ${from}`);
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    throw new AppError('invalid_input', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return read(content);
}

function summary(report: ImportReport): string {
  const counts = `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.invalid.length} invalid`;
  return `users import: ${counts}${report.dry_run ? ' (dry run: nothing was written)' : ''}`;
}

export const importCommands: Record<string, Command> = {
  'users import': {
    usage:
      'tessera users import FILE [--from keycloak] [--dry-run]   (JSON lines, one user a line, or a Keycloak realm export)',
    options: { from: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    positionals: 1,
    async run({ db, secrets, audit, values, databaseMode, positionals: [file = ''] }) {
      const from = text(values.from) ?? 'json-lines';
      const dryRun = values['dry-run'] === true;
      const source = await readSource(file, from);
      // Through a running server's socket, statements and batches stay small: see StatementSize.
      const overSocket = databaseMode === 'socket';
      const onProgress = (done: number, total: number) => {
        if (total > BATCH_SIZE && (done % BATCH_SIZE === 0 || done === total)) {
          process.stderr.write(`users import: ${done} of ${total} users\n`);
        }
      };
      const recorded = (report: ImportReport, stopped: boolean) =>
        dryRun
          ? Promise.resolve()
          : audit({
              type: 'users.imported',
              actor: 'cli',
              details: {
                from,
                created: report.created,
                updated: report.updated,
                unchanged: report.unchanged,
                invalid: report.invalid.length,
                roles_created: report.roles_created,
                ...(stopped ? { stopped: true } : {}),
              },
            });
      let report: ImportReport;
      try {
        report = await importUsers(db, secrets, source, {
          dryRun,
          onProgress,
          ...(overSocket ? { statementSize: 'small', batchSize: SOCKET_BATCH_SIZE } : {}),
        });
      } catch (err) {
        if (err instanceof ImportStopped) await recorded(err.report, true);
        throw err;
      }
      await recorded(report, false);
      for (const invalid of report.invalid) process.stderr.write(`${describePosition(invalid)}: ${invalid.error}\n`);
      process.stderr.write(`${summary(report)}\n`);
      return report;
    },
  },
};
