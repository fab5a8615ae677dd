import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';
import type { WorkspaceSize } from '../apiTypes';
import { timeZones } from '../jobs';
import type { RunAsJobModel, RunAsJobState } from '../runAsJobModel';
import { useModelState } from './useModelState';

export interface RunAsJobProps {
  model: RunAsJobModel;
  /** Close the dialog. */
  close: () => void;
}

function sizeLabel(s: WorkspaceSize): string {
  const memory = s.memoryMiB >= 1024 ? `${Math.round((s.memoryMiB / 1024) * 10) / 10} GB` : `${s.memoryMiB} MB`;
  return `${s.displayName} — ${s.cpu} CPU, ${memory}${s.gpu ? `, ${s.gpu} GPU` : ''}${s.available ? '' : ' (not on this hub)'}`;
}

/** The error sentence under the field it is about. */
function FieldError({ s, field }: { s: RunAsJobState; field: string }): JSX.Element | null {
  return s.error && s.errorField === field ? (
    <div className="jp-AtriumJob-fieldError" role="alert">
      {s.error}
    </div>
  ) : null;
}

/** Fields whose errors are shown beside them; any other error is shown above the buttons. */
function shownAtField(s: RunAsJobState): boolean {
  const f = s.errorField;
  if (!f) return false;
  if (f.startsWith('parameters.')) return s.parameters.some((p) => `parameters.${p.name}` === f);
  return ['team', 'name', 'schedule', 'timezone', 'image', 'size', 'timeoutMinutes', 'retries'].includes(f);
}

function Schedule({ model, s }: { model: RunAsJobModel; s: RunAsJobState }): JSX.Element {
  const zones = React.useMemo(() => timeZones(s.timezone), [s.timezone]);
  const p = s.preview;
  return (
    <div className="jp-AtriumJob-schedule">
      <div className="jp-AtriumJob-row">
        <label className="jp-AtriumJob-field jp-AtriumJob-cron">
          <span>Schedule (cron)</span>
          <input
            name="schedule"
            type="text"
            className="jp-mod-styled"
            spellCheck={false}
            value={s.schedule}
            aria-invalid={s.errorField === 'schedule' || p.status === 'error'}
            onChange={(e) => model.setField({ schedule: e.currentTarget.value })}
          />
        </label>
        <label className="jp-AtriumJob-field">
          <span>Time zone</span>
          <HTMLSelect name="timezone" value={s.timezone} options={zones} onChange={(e) => model.setField({ timezone: e.currentTarget.value })} />
        </label>
      </div>
      <div className="jp-AtriumJob-hint">Five fields: minute, hour, day of month, month, day of week. “0 6 * * 1-5” is 06:00 on weekdays; “*/30 * * * *” every 30 minutes.</div>
      <div className={`jp-AtriumJob-preview jp-mod-${p.status}`} data-status={p.status} aria-live="polite">
        {p.status === 'loading' && <span className="jp-AtriumJob-hint">Reading the schedule…</span>}
        {p.status === 'error' && <span className="jp-AtriumJob-previewError">{p.error}</span>}
        {p.status === 'ready' && (
          <>
            <strong className="jp-AtriumJob-previewWords">{p.description}</strong>
            <span className="jp-AtriumJob-hint"> ({s.timezone})</span>
            <div className="jp-AtriumJob-hint">Next runs:</div>
            <ul className="jp-AtriumJob-upcoming">
              {p.upcoming.map((u) => (
                <li key={u}>{u}</li>
              ))}
            </ul>
          </>
        )}
      </div>
      <FieldError s={s} field="schedule" />
      <FieldError s={s} field="timezone" />
      <label className="jp-AtriumJob-check">
        <input name="alsoRunNow" type="checkbox" checked={s.alsoRunNow} onChange={(e) => model.setField({ alsoRunNow: e.currentTarget.checked })} /> Also run once now
      </label>
    </div>
  );
}

function Parameters({ model, s }: { model: RunAsJobModel; s: RunAsJobState }): JSX.Element {
  if (!s.hasParameterCell) {
    return (
      <p className="jp-AtriumJob-hint jp-AtriumJob-noParameters">
        This notebook has no parameters. Tag a cell <code>parameters</code> to make its values editable per job (papermill’s convention: its <code>name = value</code> lines
        are the defaults).
      </p>
    );
  }
  if (s.parameters.length === 0) {
    return <p className="jp-AtriumJob-hint">The cell tagged <code>parameters</code> assigns no values (write them as <code>name = value</code>, one per line).</p>;
  }
  return (
    <>
      <p className="jp-AtriumJob-hint">From the cell tagged <code>parameters</code>. Change a value for this job; the notebook itself stays as it is.</p>
      <table className="jp-AtriumJob-parameters">
        <tbody>
          {s.parameters.map((p) => {
            const changed = p.value.trim() !== p.default.trim();
            const field = `parameters.${p.name}`;
            return (
              <tr key={p.name} data-parameter={p.name}>
                <th scope="row">
                  <label htmlFor={`atrium-job-param-${p.name}`}>
                    <code>{p.name}</code>
                  </label>
                </th>
                <td>
                  <input
                    id={`atrium-job-param-${p.name}`}
                    name={field}
                    type="text"
                    className="jp-mod-styled"
                    spellCheck={false}
                    value={p.value}
                    aria-invalid={s.errorField === field}
                    onChange={(e) => model.setParameter(p.name, e.currentTarget.value)}
                  />
                  {changed && (
                    <div className="jp-AtriumJob-hint">
                      Notebook’s value: <code>{p.default}</code>{' '}
                      <button type="button" className="jp-AtriumJob-link" onClick={() => model.setParameter(p.name, p.default)}>
                        put it back
                      </button>
                    </div>
                  )}
                  <FieldError s={s} field={field} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function Result({ s, close }: { s: RunAsJobState; close: () => void }): JSX.Element {
  const r = s.result!;
  return (
    <div className="jp-AtriumJob">
      <div className="jp-AtriumJob-result" role="status">
        <strong>{r.message}</strong>
        <p>
          <code>
            {r.team}/{r.name}
          </code>{' '}
          runs as you, from the notebook as it was just saved. Follow it in the <strong>Jobs</strong> panel of the Atrium sidebar, or{' '}
          <a className="jp-AtriumJob-hubLink" href={r.url} target="_blank" rel="noreferrer">
            open the job in the hub ↗
          </a>
          .
        </p>
      </div>
      <div className="jp-AtriumJob-buttons">
        <button type="button" className="jp-Dialog-button jp-mod-accept jp-mod-styled" onClick={close}>
          <div className="jp-Dialog-buttonLabel">Close</div>
        </button>
      </div>
    </div>
  );
}

/** The body of the "Run as job" dialog. */
export function RunAsJob({ model, close }: RunAsJobProps): JSX.Element {
  const s = useModelState(model);
  if (s.result) return <Result s={s} close={close} />;
  const sending = s.status === 'sending';
  const sizes = model.sizesOf(s.image);
  const runsNow = s.mode === 'once' || s.alsoRunNow;
  return (
    <form
      className="jp-AtriumJob"
      onSubmit={(e) => {
        e.preventDefault();
        void model.submit();
      }}
    >
      <p className="jp-AtriumJob-intro">
        Runs <code>{s.notebookPath}</code> top to bottom in a fresh kernel on the hub, as you (with your data access), even when this workspace is stopped. The job
        keeps a copy of the notebook as it is now; later edits here do not change it.
      </p>
      {s.status === 'loading' && <p className="jp-AtriumJob-hint">Loading your teams and the images…</p>}

      <div className="jp-AtriumJob-row">
        <label className="jp-AtriumJob-field">
          <span>Team</span>
          <HTMLSelect name="team" value={s.team} options={s.teams} onChange={(e) => model.setField({ team: e.currentTarget.value })} />
        </label>
        <label className="jp-AtriumJob-field jp-AtriumJob-grow">
          <span>Job name</span>
          <input name="name" type="text" className="jp-mod-styled" spellCheck={false} value={s.name} aria-invalid={s.errorField === 'name'} onChange={(e) => model.setField({ name: e.currentTarget.value })} />
        </label>
      </div>
      <div className="jp-AtriumJob-hint">Lower-case letters, digits and dashes; it is part of the job’s address in the hub.</div>
      <FieldError s={s} field="team" />
      <FieldError s={s} field="name" />
      {s.conflict && (
        <div className="jp-AtriumJob-conflict" data-can-update={s.conflict.canUpdate}>
          {s.conflict.canUpdate ? (
            <>
              <p>
                That job is yours. Give it this notebook as it is now? Its schedule, parameters and settings stay as they are{runsNow ? '; a run starts at once' : ''}.
              </p>
              <button type="button" className="jp-mod-styled jp-mod-accept jp-AtriumJob-update" disabled={sending} onClick={() => void model.updateSnapshot()}>
                Update its notebook snapshot
              </button>
            </>
          ) : (
            <p>
              It belongs to {s.conflict.owner}; only they can change what it runs. Pick another name.
            </p>
          )}
        </div>
      )}

      <fieldset className="jp-AtriumJob-section">
        <legend>When</legend>
        <label className="jp-AtriumJob-radio">
          <input type="radio" name="mode" value="once" checked={s.mode === 'once'} onChange={() => model.setField({ mode: 'once' })} /> Run once now
        </label>
        <label className="jp-AtriumJob-radio">
          <input type="radio" name="mode" value="schedule" checked={s.mode === 'schedule'} onChange={() => model.setField({ mode: 'schedule' })} /> On a schedule
        </label>
        {s.mode === 'schedule' && <Schedule model={model} s={s} />}
      </fieldset>

      <fieldset className="jp-AtriumJob-section">
        <legend>Parameters</legend>
        <Parameters model={model} s={s} />
      </fieldset>

      <fieldset className="jp-AtriumJob-section">
        <legend>Runs with</legend>
        <div className="jp-AtriumJob-row">
          <label className="jp-AtriumJob-field jp-AtriumJob-grow">
            <span>Image</span>
            <HTMLSelect
              name="image"
              value={s.image}
              options={s.images.map((i) => ({ value: i.name, label: `${i.displayName} ${i.version}${i.recommended ? ' (recommended)' : ''}${i.deprecated ? ' (deprecated)' : ''}` }))}
              onChange={(e) => model.setField({ image: e.currentTarget.value })}
            />
          </label>
          <label className="jp-AtriumJob-field jp-AtriumJob-grow">
            <span>Size</span>
            <HTMLSelect
              name="size"
              value={s.size}
              options={sizes.map((z) => ({ value: z.name, label: sizeLabel(z), disabled: !z.available }))}
              onChange={(e) => model.setField({ size: e.currentTarget.value })}
            />
          </label>
        </div>
        <FieldError s={s} field="image" />
        <FieldError s={s} field="size" />
        <div className="jp-AtriumJob-row">
          <label className="jp-AtriumJob-field">
            <span>Time limit (minutes)</span>
            <input name="timeoutMinutes" type="number" min={1} className="jp-mod-styled" value={s.timeoutMinutes} onChange={(e) => model.setField({ timeoutMinutes: e.currentTarget.value })} />
          </label>
          <label className="jp-AtriumJob-field">
            <span>Retries if it fails</span>
            <input name="retries" type="number" min={0} className="jp-mod-styled" value={s.retries} onChange={(e) => model.setField({ retries: e.currentTarget.value })} />
          </label>
        </div>
        <FieldError s={s} field="timeoutMinutes" />
        <FieldError s={s} field="retries" />
      </fieldset>

      {s.error && !shownAtField(s) && (
        <div className="jp-AtriumJob-error" role="alert">
          {s.error}
        </div>
      )}
      <div className="jp-AtriumJob-buttons">
        <button type="button" className="jp-Dialog-button jp-mod-reject jp-mod-styled" onClick={close}>
          <div className="jp-Dialog-buttonLabel">Cancel</div>
        </button>
        <button type="submit" className="jp-Dialog-button jp-mod-accept jp-mod-styled jp-AtriumJob-create" disabled={sending || s.status === 'loading' || !s.team}>
          <div className="jp-Dialog-buttonLabel">{sending ? 'Saving and sending…' : runsNow ? 'Create job and run now' : 'Create scheduled job'}</div>
        </button>
      </div>
    </form>
  );
}
