import type pg from 'pg';
import { ConflictError } from '../../core/errors.js';
import type { StoredToken } from '../store.js';
import { rowToToken, TOKEN_COLUMNS, tokenValues, type TokenRow } from '../token-rows.js';

/** The access tokens table in PostgreSQL, shared by every coordinator of the database. */
export class PgTokens {
  constructor(private readonly pool: pg.Pool) {}

  async addToken(t: StoredToken): Promise<void> {
    try {
      await this.pool.query(`INSERT INTO tokens (${TOKEN_COLUMNS.join(', ')}) VALUES (${TOKEN_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, tokenValues(t));
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e.code === '23505' && e.constraint === 'tokens_pkey') throw new ConflictError(`a token named ${t.name} exists already (drover token revoke ${t.name} first)`);
      if (e.code === '23505') throw new ConflictError('a token with this id exists already; make another');
      throw err;
    }
  }

  async tokenById(id: string): Promise<StoredToken | null> {
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM tokens WHERE id = $1', [id]);
    return rows[0] ? rowToToken(rows[0]) : null;
  }

  async listTokens(): Promise<StoredToken[]> {
    return (await this.pool.query<TokenRow>('SELECT * FROM tokens ORDER BY name COLLATE "C"')).rows.map(rowToToken);
  }

  async deleteToken(name: string): Promise<StoredToken | null> {
    const { rows } = await this.pool.query<TokenRow>('DELETE FROM tokens WHERE name = $1 RETURNING *', [name]);
    return rows[0] ? rowToToken(rows[0]) : null;
  }

  async touchToken(p: { id: string; now: number }): Promise<void> {
    await this.pool.query('UPDATE tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)', [p.id, p.now]);
  }
}
