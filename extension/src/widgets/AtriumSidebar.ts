import { SidePanel } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';
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
}
