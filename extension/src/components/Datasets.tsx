import * as React from 'react';
import { useModelState } from './useModelState';
import type { DatasetSummary } from '../apiTypes';
import { type DatasetsModel, type DatasetsState, loadSnippet } from '../datasetsModel';

export interface DatasetsProps {
  model: DatasetsModel;
  /** Show ~/datasets/<name>/ in the file browser after a mount. */
  onMounted?: (name: string) => void;
}

function accessLabel(d: DatasetSummary): string {
  if (d.access.via === 'owner') return 'your team’s';
  if (d.access.allowed) return d.access.piiCleared ? 'access' : 'access · PII masked';
  if (d.pendingRequest) return 'requested';
  return 'no access';
}

function RequestForm(props: { model: DatasetsModel; dataset: DatasetSummary; busy: boolean }): JSX.Element {
  const { model, dataset, busy } = props;
  const [purpose, setPurpose] = React.useState('');
  const [until, setUntil] = React.useState('');
  const hasPii = dataset.columns.some((c) => c.pii);
  const [pii, setPii] = React.useState(false);
  return (
    <form
      className="jp-AtriumDS-request"
      onSubmit={(e) => {
        e.preventDefault();
        void model.requestAccess({ purpose, pii, expiresAt: until ? `${until}T23:59:59Z` : null });
      }}
    >
      <label>
        <span>Purpose</span>
        <textarea
          className="jp-mod-styled jp-AtriumDS-purpose"
          rows={3}
          maxLength={1000}
          placeholder="What will you use this data for?"
          value={purpose}
          onChange={(e) => setPurpose(e.currentTarget.value)}
        />
      </label>
      <label>
        <span>Until {dataset.classification === 'restricted' ? '(required)' : '(optional)'}</span>
        <input className="jp-mod-styled jp-AtriumDS-until" type="date" value={until} onChange={(e) => setUntil(e.currentTarget.value)} />
      </label>
      {hasPii && (
        <label className="jp-AtriumDS-check">
          <input type="checkbox" checked={pii} onChange={(e) => setPii(e.currentTarget.checked)} /> Also unmask personal data
        </label>
      )}
      <button type="submit" className="jp-Button jp-mod-styled jp-mod-accept jp-AtriumDS-send" disabled={busy}>
        {busy ? 'Sending…' : 'Request access'}
      </button>
    </form>
  );
}

function Details(props: { model: DatasetsModel; state: DatasetsState; dataset: DatasetSummary; onMounted?: (name: string) => void }): JSX.Element {
  const { model, state, dataset: d } = props;
  const masked = new Set(state.preview?.maskedColumns ?? []);
  const canRequest = (!d.access.allowed || (!d.access.piiCleared && d.columns.some((c) => c.pii))) && !d.pendingRequest && d.access.via !== 'owner';
  return (
    <div className="jp-AtriumDS-details" data-dataset={d.name}>
      <button className="jp-AtriumDS-back" onClick={() => void model.select(null)}>
        ← All datasets
      </button>
      <h3 className="jp-AtriumDS-title">{d.title}</h3>
      <div className="jp-AtriumDS-meta">
        <span className={`jp-AtriumDS-badge jp-AtriumDS-${d.classification}`}>{d.classification}</span>
        <span>{d.ownerTeam}</span>
        <span>{d.format}</span>
      </div>
      <p className="jp-AtriumDS-description">{d.description}</p>
      <p className="jp-AtriumDS-reason">{d.access.reason}</p>
      {state.notice && <div className="jp-AtriumDS-notice" role="status">{state.notice}</div>}
      {state.detailError && <div className="jp-AtriumDS-error" role="alert">{state.detailError}</div>}
      {d.access.allowed && d.currentVersion > 0 && (
        <div className="jp-AtriumDS-actions">
          {d.mounted ? (
            <button className="jp-Button jp-mod-styled jp-AtriumDS-unmount" disabled={state.busy !== null} onClick={() => void model.unmount()}>
              Unmount
            </button>
          ) : (
            <button
              className="jp-Button jp-mod-styled jp-mod-accept jp-AtriumDS-mount"
              disabled={state.busy !== null}
              onClick={() => void model.mount().then((r) => r && props.onMounted?.(d.name))}
            >
              {state.busy === 'mount' ? 'Mounting…' : 'Mount'}
            </button>
          )}
          <code className="jp-AtriumDS-snippet">{loadSnippet(d.name).split('\n')[1]}</code>
        </div>
      )}
      {d.pendingRequest && <p className="jp-AtriumDS-pending">Your request is waiting for approval (“{d.pendingRequest.purpose}”).</p>}
      {canRequest && (
        <>
          <h4>{d.access.allowed ? 'Ask to unmask personal data' : 'Request access'}</h4>
          <RequestForm model={model} dataset={d} busy={state.busy === 'request'} />
        </>
      )}
      <h4>Columns</h4>
      <ul className="jp-AtriumDS-columns">
        {d.columns.map((c) => (
          <li key={c.name}>
            <code>{c.name}</code> <span className="jp-AtriumDS-type">{c.type}</span>
            {c.pii && <span className="jp-AtriumDS-pii">{c.pii}</span>}
          </li>
        ))}
      </ul>
      {state.previewStatus === 'loading' && <p className="jp-AtriumDS-status">Loading the preview…</p>}
      {state.preview && (
        <div className="jp-AtriumDS-preview">
          <h4>Preview{state.preview.maskedColumns.length ? ` (masked: ${state.preview.maskedColumns.join(', ')})` : ''}</h4>
          <table>
            <thead>
              <tr>
                {state.preview.columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {state.preview.rows.map((row, i) => (
                <tr key={i}>
                  {row.map((v, j) => (
                    <td key={j} className={masked.has(state.preview!.columns[j] ?? '') ? 'jp-AtriumDS-masked' : ''}>
                      {v === null ? '' : String(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function Datasets(props: DatasetsProps): JSX.Element {
  const { model } = props;
  const state = useModelState(model);
  const current = state.datasets.find((d) => d.name === state.selected);
  if (current) return <Details model={model} state={state} dataset={current} onMounted={props.onMounted} />;
  return (
    <div className="jp-AtriumDS">
      <input
        className="jp-mod-styled jp-AtriumDS-search"
        type="search"
        placeholder="Search datasets"
        aria-label="Search datasets"
        value={state.query}
        onChange={(e) => model.setQuery(e.currentTarget.value)}
      />
      {state.status === 'error' && (
        <div className="jp-AtriumDS-error" role="alert">
          {state.error} <button onClick={() => void model.refresh()}>Retry</button>
        </div>
      )}
      {state.status === 'loading' && state.datasets.length === 0 && <p className="jp-AtriumDS-status">Loading…</p>}
      {state.status === 'ready' && state.datasets.length === 0 && <p className="jp-AtriumDS-status">No dataset matches.</p>}
      <ul className="jp-AtriumDS-list">
        {state.datasets.map((d) => (
          <li key={d.name} className="jp-AtriumDS-item" data-dataset={d.name}>
            <button className="jp-AtriumDS-open" onClick={() => void model.select(d.name)}>
              {d.title}
            </button>
            <div className="jp-AtriumDS-meta">
              <span className={`jp-AtriumDS-badge jp-AtriumDS-${d.classification}`}>{d.classification}</span>
              <span>{d.ownerTeam}</span>
              <span className={d.access.allowed ? 'jp-AtriumDS-ok' : 'jp-AtriumDS-none'}>{accessLabel(d)}</span>
              {d.mounted && <span className="jp-AtriumDS-ok">mounted</span>}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
