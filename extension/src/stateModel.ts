/**
 * The state a sidebar panel renders, with a signal when it changes: the
 * base of the panels' models (Jobs, Models, Run as Job, the budget notice).
 * A disposed model changes no more, so an answer that arrives after its
 * panel closed is dropped.
 */
import { ISignal, Signal } from '@lumino/signaling';

export abstract class StateModel<S extends object> {
  private _state: S;
  private readonly _changed = new Signal<this, S>(this);
  private _disposed = false;

  protected constructor(initial: S) {
    this._state = initial;
  }

  get state(): S {
    return this._state;
  }

  get stateChanged(): ISignal<this, S> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Change part of the state and tell the panel (nothing once disposed). */
  protected set(patch: Partial<S>): void {
    if (this._disposed) return;
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    Signal.clearData(this);
  }
}

/**
 * A model whose panel refreshes it only while shown: at once when it is
 * shown, then every `pollMs` (skipping rounds while the browser tab is
 * hidden, or while `mayPoll` says no), and not at all while hidden.
 */
export abstract class PolledStateModel<S extends object> extends StateModel<S> {
  private poller: ReturnType<typeof setInterval> | undefined;

  protected constructor(
    initial: S,
    private readonly polling: { pollMs: number; pageVisible?: (() => boolean) | undefined },
  ) {
    super(initial);
  }

  abstract refresh(): Promise<void>;

  /** Whether a polling round may refresh now (a model busy with an action says no). */
  protected mayPoll(): boolean {
    return true;
  }

  /** Refresh now and every `pollMs` while the panel is shown; `false` stops. */
  setVisible(visible: boolean): void {
    if (this.isDisposed) return;
    if (!visible) {
      clearInterval(this.poller);
      this.poller = undefined;
      return;
    }
    if (this.poller) return;
    void this.refresh();
    this.poller = setInterval(() => {
      if (this.mayPoll() && (this.polling.pageVisible?.() ?? true)) void this.refresh();
    }, this.polling.pollMs);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    clearInterval(this.poller);
    super.dispose();
  }
}
