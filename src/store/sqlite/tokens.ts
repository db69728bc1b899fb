import type Database from 'better-sqlite3';
import { ConflictError } from '../../core/errors.js';
import type { StoredToken } from '../store.js';
import { rowToToken, TOKEN_COLUMNS, tokenValues, type TokenRow } from '../token-rows.js';

/** The access tokens table in SQLite. */
export class SqliteTokens {
  private readonly insert: Database.Statement;
  private readonly byId: Database.Statement;
  private readonly all: Database.Statement;
  private readonly del: Database.Statement;
  private readonly touch: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`INSERT INTO tokens (${TOKEN_COLUMNS.join(', ')}) VALUES (${TOKEN_COLUMNS.map(() => '?').join(', ')})`);
    this.byId = db.prepare('SELECT * FROM tokens WHERE id = ?');
    this.all = db.prepare('SELECT * FROM tokens ORDER BY name');
    this.del = db.prepare('DELETE FROM tokens WHERE name = ? RETURNING *');
    this.touch = db.prepare('UPDATE tokens SET last_used_at = @now WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @now)');
  }

  addToken(t: StoredToken): void {
    try {
      this.insert.run(...tokenValues(t));
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed: tokens\.name/.test(err.message)) throw new ConflictError(`a token named ${t.name} exists already (drover token revoke ${t.name} first)`);
      if (err instanceof Error && /UNIQUE constraint failed: tokens\.id/.test(err.message)) throw new ConflictError('a token with this id exists already; make another');
      throw err;
    }
  }

  tokenById(id: string): StoredToken | null {
    const r = this.byId.get(id) as TokenRow | undefined;
    return r ? rowToToken(r) : null;
  }

  listTokens(): StoredToken[] {
    return (this.all.all() as TokenRow[]).map(rowToToken);
  }

  deleteToken(name: string): StoredToken | null {
    const r = this.del.get(name) as TokenRow | undefined;
    return r ? rowToToken(r) : null;
  }

  touchToken(p: { id: string; now: number }): void {
    this.touch.run(p);
  }
}
