import { createBackup } from '../../server/backup/create-backup.ts';
import { restoreBackup } from '../../server/backup/restore-backup.ts';
import type { StandaloneCommand } from './context.ts';

/** `tessera backup FILE` and `tessera restore FILE`; the work is in server/backup/. */
export const backupCommands: Record<string, StandaloneCommand> = {
  backup: {
    usage: 'tessera backup FILE   (a consistent copy of the database and its secret key; keep it like the key)',
    positionals: 1,
    runAlone: ({ config, positionals: [file = ''] }) => createBackup(config, file),
  },
  restore: {
    usage: 'tessera restore FILE   (into an empty DATA_DIR, or an empty database at DATABASE_URL)',
    positionals: 1,
    runAlone: ({ config, positionals: [file = ''] }) => restoreBackup(config, file),
  },
};
