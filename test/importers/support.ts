import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { readTable, type ReadTableOptions } from '../../src/importers/index.js';
import { tempDir } from '../support/tmp.js';

/** Writes `text` to a file called `name` in a fresh temp dir. */
export function writeFile(name: string, text: string): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, text);
  return file;
}

/** The ValidationError readTable rejects with (fails the test if it resolves or throws another error). */
export async function readFailure(file: string, opts?: ReadTableOptions): Promise<ValidationError> {
  const err: unknown = await readTable(file, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}
