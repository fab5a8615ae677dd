import * as React from 'react';
import type { GuardrailResult, ModelVersion, Promotion } from '../apiTypes';
import { guardrailCheckedLabel, guardrailsCheckedLabel, promotionReadiness } from '../guardrails';
import type { ModelsModel, ModelsState } from '../modelsModel';

const ICON: Record<string, string> = { passed: '✔', failed: '✖', warning: '!', skipped: '–', pending: '…' };

export function GuardrailList({ items }: { items: GuardrailResult[] }): JSX.Element {
  return (
    <ul className="jp-AtriumModels-guardrails">
      {items.map((g) => (
        <li key={g.id} className={`jp-AtriumModels-guardrail jp-mod-${g.status}`} data-guardrail={g.id} data-status={g.status} title={guardrailCheckedLabel(g)}>
          <span className="jp-AtriumModels-icon" aria-label={g.status}>
            {ICON[g.status] ?? '?'}
          </span>
          <span>
            <strong>{g.title}</strong>
            <br />
            <span className="jp-AtriumModels-reason">{g.reason}</span>
            {g.details.length > 0 && (
              <details>
                <summary>{g.details.length} detail{g.details.length === 1 ? '' : 's'}</summary>
                <ul>
                  {g.details.map((d) => (
                    <li key={d}>{d}</li>
                  ))}
                </ul>
              </details>
            )}
          </span>
        </li>
      ))}
    </ul>
  );
}

function PromotionBox({ p }: { p: Promotion }): JSX.Element {
  const live = p.status === 'checking' || p.status === 'deploying';
  return (
    <div className={`jp-AtriumModels-promotion jp-mod-${p.status}`} data-promotion={p.id} data-status={p.status}>
      <strong>
        {live ? 'Promoting' : 'Promotion of'} v{p.version} to {p.alias}: {p.status === 'checking' ? 'checking…' : p.status === 'deploying' ? 'deploying…' : p.status}
      </strong>
      <div className="jp-AtriumModels-promotionMessage">{p.message}</div>
      <GuardrailList items={p.guardrails} />
    </div>
  );
}

function Version(props: { v: ModelVersion; canProd: boolean; busy: boolean; model: ModelsModel }): JSX.Element {
  const { v, canProd, busy, model } = props;
  const { ready, reason } = promotionReadiness(v);
  const checked = guardrailsCheckedLabel(v);
  return (
    <div className="jp-AtriumModels-version" data-version={v.version}>
      <div className="jp-AtriumModels-versionHead">
        <strong>v{v.version}</strong>
        <span className={`jp-AtriumModels-badge jp-mod-${v.guardrailStatus}`} data-status={v.guardrailStatus}>
          guardrails {v.guardrailStatus}
        </span>
        {checked && <span className="jp-AtriumModels-checked">{checked}</span>}
        {v.aliases.map((a) => (
          <span key={a} className="jp-AtriumModels-badge jp-mod-alias">
            {a}
          </span>
        ))}
      </div>
      <div className="jp-AtriumModels-meta">
        {v.author} · {new Date(v.createdAt).toLocaleString()} · {v.image} {v.imageVersion}
        {Object.keys(v.metrics).length > 0 && ' · ' + Object.entries(v.metrics).map(([k, x]) => `${k} ${x.toFixed(3)}`).join(', ')}
      </div>
      <GuardrailList items={v.guardrails} />
      {v.needsApproval.length > 0 && (
        <p className="jp-AtriumModels-meta" data-needs-approval={v.needsApproval.join(',')}>
          {v.needsApproval.join(', ')}: restricted data needs a platform approval for production.{' '}
          <a href={`/hub/models/${encodeURIComponent(v.team)}/${encodeURIComponent(v.model)}`} target="_blank" rel="noreferrer">
            Ask for it on the hub’s model page
          </a>
          .
        </p>
      )}
      <div className="jp-AtriumModels-actions">
        <button className="jp-mod-styled" disabled={busy || !ready || v.aliases.includes('staging')} title={reason} onClick={() => void model.promote('staging', v.version)}>
          Promote to staging
        </button>
        <button
          className="jp-mod-styled jp-mod-accept"
          disabled={busy || !ready || !canProd || v.aliases.includes('production')}
          title={!canProd ? 'Only team admins can promote to production' : reason}
          onClick={() => void model.promote('production', v.version)}
        >
          Promote to production
        </button>
      </div>
    </div>
  );
}

export function Models({ model }: { model: ModelsModel }): JSX.Element {
  const [s, setState] = React.useState<ModelsState>(model.state);
  React.useEffect(() => {
    const update = (_: ModelsModel, next: ModelsState) => setState(next);
    model.stateChanged.connect(update);
    return () => {
      model.stateChanged.disconnect(update);
    };
  }, [model]);
  const field = (label: string, value: string, onChange: (v: string) => void, options: { area?: boolean; name: string }) => (
    <label className="jp-AtriumModels-field">
      {label}
      {options.area ? (
        <textarea name={options.name} value={value} rows={2} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input name={options.name} type="text" value={value} onChange={(e) => onChange(e.target.value)} />
      )}
    </label>
  );
  const d = s.detail;
  return (
    <div className="jp-AtriumModels">
      <section className="jp-AtriumModels-publish">
        <h3>Publish this notebook</h3>
        {s.notebookPath ? (
          <p className="jp-AtriumModels-meta">
            <code>{s.notebookPath}</code>
            {s.workspace ? ` · ${s.workspace.image} ${s.workspace.imageVersion}` : ''}
          </p>
        ) : (
          <p className="jp-AtriumModels-meta">Open a notebook that defines predict(inputs) to publish it.</p>
        )}
        <label className="jp-AtriumModels-field">
          Team
          <select name="team" value={s.team} onChange={(e) => model.setField({ team: e.target.value })}>
            {s.teams.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        {field('Model name', s.name, (v) => model.setField({ name: v }), { name: 'model' })}
        {field('Datasets used (name@version, …)', s.datasets, (v) => model.setField({ datasets: v }), { name: 'datasets' })}
        {field('Description', s.card.description, (v) => model.setField({ card: { description: v } }), { area: true, name: 'description' })}
        {field('Intended use', s.card.intendedUse, (v) => model.setField({ card: { intendedUse: v } }), { area: true, name: 'intendedUse' })}
        {field('Limitations', s.card.limitations, (v) => model.setField({ card: { limitations: v } }), { area: true, name: 'limitations' })}
        {field('Owner', s.card.owner, (v) => model.setField({ card: { owner: v } }), { name: 'owner' })}
        <button className="jp-mod-styled jp-mod-accept jp-AtriumModels-publishButton" disabled={s.busy || !s.notebookPath} onClick={() => void model.publish()}>
          Publish this notebook
        </button>
        {s.notice && (
          <p className="jp-AtriumModels-notice" role="status">
            {s.notice}
          </p>
        )}
        {s.error && (
          <p className="jp-AtriumModels-error" role="alert">
            {s.error}
          </p>
        )}
      </section>
      {d && (
        <section className="jp-AtriumModels-detail" data-model={`${d.team}/${d.name}`}>
          <h3>
            {d.displayName} <span className="jp-AtriumModels-meta">({d.team}/{d.name})</span>
          </h3>
          {(['staging', 'production'] as const).map((alias) => {
            const a = d.aliases.find((x) => x.alias === alias);
            return (
              <div key={alias} className="jp-AtriumModels-alias" data-alias={alias}>
                <strong>{alias}:</strong> {a ? `v${a.version}` : 'nothing yet'}
                {a && (alias === 'staging' || d.canPromoteProduction) && (
                  <button className="jp-mod-styled jp-mod-warn" disabled={s.busy} onClick={() => void model.rollback(alias)}>
                    Roll back
                  </button>
                )}
              </div>
            );
          })}
          {(() => {
            // The promotion this panel follows, else one running that someone started elsewhere (the hub page, another panel).
            const mine = s.promotion && s.promotion.team === d.team && s.promotion.model === d.name ? s.promotion : undefined;
            const running = d.promotions.find((p) => p.status === 'checking' || p.status === 'deploying');
            const shown = mine && !(running && running.id !== mine.id) ? mine : running;
            return shown ? <PromotionBox p={shown} /> : null;
          })()}
          {d.versions.map((v) => (
            <Version key={v.version} v={v} canProd={d.canPromoteProduction} busy={s.busy} model={model} />
          ))}
        </section>
      )}
    </div>
  );
}
