/**
 * State of the budget notice at the top of the Atrium sidebar: the teams
 * whose monthly budget is at its warning share or used up. Refreshed when
 * the sidebar is shown and every 5 minutes while it stays shown (budgets
 * move by the hour, not the second). No call rejects: a failure keeps what
 * was last known, since a notice that flickers away on a network hiccup
 * would hide a hard limit that still holds.
 */
import { PolledStateModel } from './stateModel';
import { budgetLines, type BudgetLine } from './budget';
import { errorMessage, type HubClient } from './hubClient';

export const BUDGET_POLL_MS = 5 * 60_000;

type BudgetClient = Pick<HubClient, 'budgets' | 'user'>;

export interface BudgetState {
  /** The teams to tell the user about, most urgent first (empty: say nothing). */
  lines: BudgetLine[];
  /** Why the last refresh failed (not shown: the notice is not the place for it), null after a success. */
  error: string | null;
}

export interface BudgetModelOptions {
  client: BudgetClient;
  pollMs?: number;
  /** Whether the page is in view (hidden browser tabs are not refreshed). */
  pageVisible?: () => boolean;
}

export class BudgetModel extends PolledStateModel<BudgetState> {
  /** The user's own teams when the user is a platform admin (the hub sends them every team's budget); null: keep every team. */
  private ownTeams: Promise<string[] | null> | undefined;
  private sequence = 0;

  constructor(private readonly options: BudgetModelOptions) {
    super({ lines: [], error: null }, { pollMs: options.pollMs ?? BUDGET_POLL_MS, pageVisible: options.pageVisible });
  }

  /** Asked once: who the user is does not change while the page is open. */
  private teams(): Promise<string[] | null> {
    this.ownTeams ??= this.options.client.user().then(
      (u) => (u.platformAdmin ? u.teams.map((m) => m.team) : null),
      () => {
        this.ownTeams = undefined;
        return null;
      },
    );
    return this.ownTeams;
  }

  /** Load the budgets; answers older than a newer refresh are dropped. */
  async refresh(): Promise<void> {
    const seq = ++this.sequence;
    try {
      const [statuses, teams] = await Promise.all([this.options.client.budgets(), this.teams()]);
      if (this.isDisposed || seq !== this.sequence) return;
      this.set({ lines: budgetLines(statuses, teams ?? undefined), error: null });
    } catch (err) {
      if (this.isDisposed || seq !== this.sequence) return;
      this.set({ error: errorMessage(err) });
    }
  }
}
