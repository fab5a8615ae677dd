import { ReactWidget } from '@jupyterlab/apputils';
import type { Message } from '@lumino/messaging';
import type { PolledStateModel } from '../stateModel';

/**
 * A sidebar widget whose model refreshes only while the widget is shown
 * (its section open, the sidebar showing), and goes with the widget.
 */
export abstract class PolledPanel<M extends PolledStateModel<object>> extends ReactWidget {
  constructor(readonly model: M) {
    super();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) this.model.setVisible(true);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(false);
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.setVisible(false);
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
