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
