import * as React from 'react';
import { useModelState } from './useModelState';
import type { ArticleSearchResult } from '../apiTypes';
import type { KnowledgeBaseModel, KnowledgeBaseState } from '../model';
import { MAX_QUERY_LENGTH } from '../model';
import { Snippet } from './Snippet';

export interface KnowledgeBaseProps {
  model: KnowledgeBaseModel;
  /** Open a result in a main-area tab. */
  onOpen: (result: ArticleSearchResult) => void;
  /** Copy a tutorial's notebook into the home folder and open it. */
  onOpenNotebook: (result: ArticleSearchResult) => void;
}

export function KnowledgeBase(props: KnowledgeBaseProps): JSX.Element {
  const { model } = props;
  const state = useModelState(model);

  return (
    <div className="jp-AtriumKB">
      <div className="jp-AtriumKB-search">
        <input
          className="jp-AtriumKB-input jp-mod-styled"
          type="search"
          placeholder="Search articles and tutorials"
          aria-label="Search the knowledge base"
          value={state.query}
          maxLength={MAX_QUERY_LENGTH * 4}
          onChange={(e) => model.setQuery(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') void model.refresh();
          }}
        />
      </div>
      <div className="jp-AtriumKB-filters">
        <label>
          <span>Tag</span>
          <select className="jp-mod-styled jp-AtriumKB-tag" aria-label="Filter by tag" value={state.tag} onChange={(e) => model.setTag(e.currentTarget.value)}>
            <option value="">All tags</option>
            {state.facets.tags.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name} ({t.count})
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Team</span>
          <select className="jp-mod-styled jp-AtriumKB-team" aria-label="Filter by team" value={state.team} onChange={(e) => model.setTeam(e.currentTarget.value)}>
            <option value="">All teams</option>
            {state.facets.teams.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name} ({t.count})
              </option>
            ))}
          </select>
        </label>
      </div>
      {state.facetsError && <div className="jp-AtriumKB-facetsError">Filters unavailable: {state.facetsError.message}</div>}
      <Status state={state} onRetry={() => void model.refresh()} />
      {state.results.length > 0 && (
        <ul className="jp-AtriumKB-results" aria-label="Search results">
          {state.results.map((r) => (
            <li key={r.id} className="jp-AtriumKB-result" data-id={r.id}>
              <button className="jp-AtriumKB-resultTitle" title={r.summary} onClick={() => props.onOpen(r)}>
                {r.title}
              </button>
              <div className="jp-AtriumKB-meta">
                <span className="jp-AtriumKB-team">{r.team}</span>
                {r.kind === 'tutorial' && <span className="jp-AtriumKB-badge">tutorial</span>}
                {r.level && <span className="jp-AtriumKB-level">{r.level}</span>}
              </div>
              <Snippet html={r.snippet ?? ''} />
              {r.kind === 'tutorial' && r.notebook && (
                <button className="jp-AtriumKB-openNotebook" onClick={() => props.onOpenNotebook(r)}>
                  Open as notebook
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Status(props: { state: KnowledgeBaseState; onRetry: () => void }): JSX.Element | null {
  const { state } = props;
  if (state.status === 'idle') {
    return <div className="jp-AtriumKB-status">Type a few words to search the knowledge base; pick a tag or team to narrow the results.</div>;
  }
  if (state.status === 'loading' && state.results.length === 0) {
    return <div className="jp-AtriumKB-status">Searching…</div>;
  }
  if (state.status === 'error' && state.error) {
    return (
      <div className={`jp-AtriumKB-message jp-AtriumKB-message-${state.error.kind}`} role="alert">
        <span>{state.error.message}</span>
        {state.error.kind !== 'invalid' && (
          <button className="jp-AtriumKB-retry" onClick={props.onRetry}>
            Retry
          </button>
        )}
      </div>
    );
  }
  if (state.status === 'ready' && state.results.length === 0) {
    const filtered = state.tag || state.team ? ' with these filters' : '';
    return (
      <div className="jp-AtriumKB-message jp-AtriumKB-message-empty" role="status">
        {state.query.trim() ? `No articles match “${state.query.trim()}”${filtered}. Try other words.` : 'No articles with these filters.'}
      </div>
    );
  }
  if (state.status === 'ready') {
    return (
      <div className="jp-AtriumKB-status">
        {state.total} result{state.total === 1 ? '' : 's'}
        {state.total > state.results.length ? ` (showing ${state.results.length})` : ''}
      </div>
    );
  }
  return null;
}
