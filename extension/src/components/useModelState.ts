import type { ISignal } from '@lumino/signaling';
import * as React from 'react';

/** A panel model that publishes its whole state through one signal. */
export interface StatefulModel<S> {
  readonly state: S;
  readonly stateChanged: ISignal<any, S>;
}

/** The model's current state, re-rendering the component whenever it changes. */
export function useModelState<S>(model: StatefulModel<S>): S {
  const [state, setState] = React.useState(model.state);
  React.useEffect(() => {
    const listener = (_: unknown, next: S) => setState(next);
    model.stateChanged.connect(listener);
    setState(model.state);
    return () => {
      model.stateChanged.disconnect(listener);
    };
  }, [model]);
  return state;
}
