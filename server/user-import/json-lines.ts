import { type ImportSource, isInvalid, toImportedUser } from './imported-user.ts';

/**
 * Reads a JSON lines file: one user object a line, blank lines skipped. A line that is not JSON,
 * not an object or not a valid user is refused with its number; the others are read on.
 */
export function readJsonLines(text: string): ImportSource {
  const source: ImportSource = { users: [], invalid: [] };
  // A byte-order mark (some editors on Windows write one) is not part of the first line.
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, index) => {
      const line = index + 1;
      const content = raw.trim();
      if (content === '') return;
      let fields: unknown;
      try {
        fields = JSON.parse(content);
      } catch {
        source.invalid.push({ line, error: 'is not valid JSON' });
        return;
      }
      const user = toImportedUser({ line }, fields);
      if (isInvalid(user)) source.invalid.push(user);
      else source.users.push(user);
    });
  return source;
}
