import { SidePanel } from '@jupyterlab/ui-components';
import { AccordionPanel, type Widget } from '@lumino/widgets';
import type { IAtriumSidebar } from '../tokens';
import { atriumIcon } from '../icons';

/** The left-sidebar "Atrium" area: collapsible panels, one per feature. */
export class AtriumSidebar extends SidePanel implements IAtriumSidebar {
  constructor() {
    super();
    this.id = 'atrium-sidebar';
    this.addClass('jp-AtriumSidebar');
    this.title.icon = atriumIcon;
    this.title.caption = 'Atrium';
    this.title.label = '';
  }

  addPanel(widget: Widget): void {
    this.addWidget(widget);
  }

  /** Share the height between the panels, e.g. `[4, 1, 1]`. */
  setRelativeSizes(sizes: number[]): void {
    if (this.content instanceof AccordionPanel) this.content.setRelativeSizes(sizes);
  }
}
