import { useState } from 'preact/hooks';
import type { ImportAnswer, ImportRequest, KindsAnswer, TemplatesAnswer } from '../../../src/protocol/messages.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { get, post, session } from '../api.js';
import { useData } from '../hooks.js';
import { href } from '../router.js';
import { Note } from '../ui.js';

const FORMATS: Record<string, ImportRequest['format']> = { xlsx: 'xlsx', csv: 'csv', tsv: 'csv', jsonl: 'jsonl', ndjson: 'jsonl' };

/** The upload as base64, read in the browser. */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error ?? new Error('cannot read the file'));
    r.readAsDataURL(file);
  });
}

/**
 * A spreadsheet (xlsx, csv, JSON Lines) made into jobs, one per row, as drover import does: first
 * checked, with every problem by row and column, then created.
 */
export function Import() {
  const templates = useData(() => get<TemplatesAnswer>(ROUTES.templates.path()), []);
  const kinds = useData(() => get<KindsAnswer>(ROUTES.kinds.path()), []);
  const [file, setFile] = useState<File | null>(null);
  const [target, setTarget] = useState('');
  const [checked, setChecked] = useState<{ key: string; answer: ImportAnswer } | null>(null);
  const [created, setCreated] = useState<ImportAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [defaults, setDefaults] = useState({ queue: '', owner: '', priority: '', tags: '', params: '' });
  const admin = session.value?.role === 'admin';
  const ext = file?.name.split('.').pop()?.toLowerCase() ?? '';
  const format = FORMATS[ext];
  const key = `${file?.name}|${file?.size}|${file?.lastModified}|${target}|${JSON.stringify(defaults)}`;

  const request = async (): Promise<ImportRequest> => {
    if (!file) throw new Error('choose a file');
    if (!format) throw new Error(`${file.name}: unknown file extension (.xlsx, .csv, .tsv, .jsonl, .ndjson)`);
    const [how, name] = target.split(':', 2);
    if (!name) throw new Error('choose a template or a kind');
    const params: Record<string, string> = {};
    for (const line of defaults.params.split('\n')) {
      const t = line.trim();
      if (!t) continue;
      const i = t.indexOf('=');
      if (i <= 0) throw new Error(`params: "${t}" is not NAME=VALUE`);
      params[t.slice(0, i).trim()] = t.slice(i + 1).trim();
    }
    return {
      format,
      name: file.name,
      data: await base64Of(file),
      ...(how === 'template' ? { template: name } : { kind: name }),
      defaults: {
        ...(defaults.queue ? { queue: defaults.queue } : {}),
        ...(defaults.owner ? { owner: defaults.owner } : {}),
        ...(defaults.priority ? { priority: Number(defaults.priority) } : {}),
        ...(defaults.tags ? { tags: defaults.tags.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
        params,
      },
    };
  };
  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const answer = await post<ImportAnswer>(ROUTES.importJobs.path(dryRun), await request(), { okStatuses: [422] });
      if (dryRun) setChecked({ key, answer });
      else if (answer.errors.length > 0) setChecked({ key, answer });
      else {
        setCreated(answer);
        setChecked(null);
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const clean = checked?.key === key && checked.answer.errors.length === 0 ? checked.answer : null;

  if (!admin) return <Note kind="info">Importing needs the admin token.</Note>;
  return (
    <section class="card import">
      <h2>Import a spreadsheet</h2>
      <p class="muted">One job per row; each column is a param. The same as drover import FILE.</p>
      <div class="form-grid">
        <label>
          <span>File (.xlsx, .csv, .tsv, .jsonl)</span>
          <input type="file" name="file" accept=".xlsx,.csv,.tsv,.jsonl,.ndjson" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </label>
        <label>
          <span>Template or kind</span>
          <select name="target" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">choose…</option>
            <optgroup label="Templates">
              {templates.data?.templates.map((t) => (
                <option key={t.name} value={`template:${t.name}`}>
                  {t.name} ({t.kind}{t.required.length ? `; needs ${t.required.join(', ')}` : ''})
                </option>
              ))}
            </optgroup>
            <optgroup label="Kinds">
              {kinds.data?.kinds.map((k) => (
                <option key={k} value={`kind:${k}`}>
                  {k}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        {(['queue', 'owner', 'priority', 'tags'] as const).map((k) => (
          <label key={k}>
            <span>{k === 'tags' ? 'Tags (comma-separated)' : k[0]?.toUpperCase() + k.slice(1)}</span>
            <input name={k} value={defaults[k]} onInput={(e) => setDefaults({ ...defaults, [k]: e.currentTarget.value })} inputMode={k === 'priority' ? 'numeric' : undefined} />
          </label>
        ))}
        <label class="wide">
          <span>Params for every row (NAME=VALUE, one a line; a column overrides)</span>
          <textarea name="params" rows={3} value={defaults.params} onInput={(e) => setDefaults({ ...defaults, params: e.currentTarget.value })} />
        </label>
      </div>
      <div class="actions">
        <button type="button" disabled={busy || !file || !target} onClick={() => run(true)}>
          Check
        </button>
        <button type="button" class="primary" disabled={busy || !clean} onClick={() => run(false)}>
          {clean ? `Create ${clean.rows} job${clean.rows === 1 ? '' : 's'}` : 'Create'}
        </button>
      </div>
      {error && <Note>{error}</Note>}
      {checked && checked.key === key && checked.answer.errors.length === 0 && <Note kind="ok">{checked.answer.rows} rows are valid; nothing created yet.</Note>}
      {checked && checked.answer.errors.length > 0 && (
        <>
          <Note>
            {checked.answer.errors.length} problem{checked.answer.errors.length === 1 ? '' : 's'} in {checked.answer.rows} rows; nothing was created.
          </Note>
          <table class="list" data-testid="import-errors">
            <thead>
              <tr>
                <th class="num">Row</th>
                <th>Column</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {checked.answer.errors.map((p, i) => (
                <tr key={i}>
                  <td class="num">{p.row ?? '–'}</td>
                  <td>{p.column ?? '–'}</td>
                  <td>{p.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {created && (
        <Note kind="ok">
          Created {created.jobs.length} jobs, tagged <a href={href('/jobs', { tag: created.tag })}>{created.tag}</a>.
        </Note>
      )}
    </section>
  );
}
