/**
 * Domain errors shared by every part. The HTTP layer maps them to status codes; the CLI prints
 * their message. Each store maps its own driver errors to these.
 */
export class DroverError extends Error {
  constructor(
    message: string,
    /** HTTP status this error maps to. */
    readonly status: number,
    /** Stable machine-readable code. */
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input from a client; names the field that is wrong. */
export class ValidationError extends DroverError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message, 400, 'invalid');
  }
}

export class NotFoundError extends DroverError {
  constructor(message: string) {
    super(message, 404, 'not_found');
  }
}

/** The token is valid but not for this: another worker's name, a queue it may not lease from. */
export class ForbiddenError extends DroverError {
  constructor(message: string) {
    super(message, 403, 'forbidden');
  }
}

/** The operation conflicts with the job's current state, or a lease token is stale. */
export class ConflictError extends DroverError {
  constructor(message: string) {
    super(message, 409, 'conflict');
  }
}

/** A file or database that cannot be opened, or a config that cannot be used. */
export class ConfigError extends DroverError {
  constructor(message: string) {
    super(message, 500, 'config');
  }
}

/** The coordinator's storage is full, or below the free space it keeps in reserve: nothing of the request was stored. */
export class StorageFullError extends DroverError {
  constructor(message: string) {
    super(message, 507, 'storage_full');
  }
}

/**
 * A value a client sent, as an error message quotes it: its JSON, cut after 80 characters. JSON
 * nested thousands deep is not written out (JSON.stringify would exhaust the stack: a 500).
 */
export function quoted(v: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    return 'JSON nested too deep to show';
  }
  if (text === undefined) return String(v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
