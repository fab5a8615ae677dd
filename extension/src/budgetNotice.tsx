/**
 * The budget notice at the top of the Atrium sidebar (above its collapsible
 * panels): one line per team of the user's whose monthly budget is at its
 * warning share (amber) or used up with a hard limit, so new workspaces and
 * job runs are refused (red); each with the share used and a link to the
 * team's Usage page in the hub. Nothing shows while every budget is fine.
 */
import { PolledPanel } from './widgets/PolledPanel';
import type { SidePanel } from '@jupyterlab/ui-components';
import * as React from 'react';
import { type BudgetLine, usageUrl } from './budget';
import { BudgetModel } from './budgetModel';
import { useModelState } from './components/useModelState';
import type { HubClient } from './hubClient';

function Line({ line, usagePage }: { line: BudgetLine; usagePage: string }): JSX.Element {
  return (
    <li className={`jp-AtriumBudget-line jp-mod-${line.level}`} data-team={line.team} data-level={line.level}>
      <div className="jp-AtriumBudget-text">
        {line.text}{' '}
        <a className="jp-AtriumBudget-link" href={usageUrl(usagePage, line.team)} target="_blank" rel="noreferrer" aria-label={`See usage of team ${line.team} (opens the hub in a new tab)`}>
          See usage ↗
        </a>
      </div>
      {line.consequence && <div className="jp-AtriumBudget-consequence">{line.consequence}</div>}
      <div className="jp-AtriumBudget-figures">
        {/* The figures beside it say the same in words. */}
        <span className="jp-AtriumBudget-bar" aria-hidden="true">
          <span className="jp-AtriumBudget-fill" style={{ width: `${line.percent}%` }} />
        </span>
        <span className="jp-AtriumBudget-amounts">{line.figures}</span>
      </div>
    </li>
  );
}

/** The lines of the notice; nothing at all while no team needs the user's attention. */
export function BudgetLines(props: { model: BudgetModel; usagePage: string }): JSX.Element | null {
  const s = useModelState(props.model);
  if (s.lines.length === 0) return null;
  return (
    <ul className="jp-AtriumBudget-lines">
      {s.lines.map((line) => (
        <Line key={line.team} line={line} usagePage={props.usagePage} />
      ))}
    </ul>
  );
}

/**
 * The notice's widget. Its node is the live region and stays in the page
 * while empty, so a warning that appears later is announced. It refreshes
 * only while it is shown (the sidebar showing).
 */
export class BudgetNotice extends PolledPanel<BudgetModel> {
  constructor(
    model: BudgetModel,
    /** The hub's Usage page (`/hub/usage`). */
    private readonly usagePage: string,
  ) {
    super(model);
    this.id = 'atrium-budget';
    this.addClass('jp-AtriumBudget');
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
    this.node.setAttribute('aria-label', 'Team budgets');
  }

  render(): JSX.Element {
    return <BudgetLines model={this.model} usagePage={this.usagePage} />;
  }
}

export interface BudgetWiring {
  client: HubClient;
  /** The Atrium sidebar: the notice goes into its header, above the panels. */
  sidebar: Pick<SidePanel, 'header'>;
  /** A hub page's URL from its path below the hub prefix (`usage`). */
  hubPage: (path: string) => string;
}

/** Puts the budget notice at the top of the Atrium sidebar; returns it. */
export function addBudgetNotice(w: BudgetWiring): BudgetNotice {
  const model = new BudgetModel({ client: w.client, pageVisible: () => document.visibilityState !== 'hidden' });
  const notice = new BudgetNotice(model, w.hubPage('usage'));
  w.sidebar.header.addWidget(notice);
  return notice;
}
