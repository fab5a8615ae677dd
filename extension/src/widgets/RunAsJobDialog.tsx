import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';
import { RunAsJob } from '../components/RunAsJob';
import type { RunAsJobModel } from '../runAsJobModel';

/**
 * The "Run as job" dialog: JupyterLab's modal Dialog holding the form, with
 * its own buttons (the dialog stays open to show the hub's answer: an error
 * naming the field, or the created job with its link).
 */
export async function showRunAsJobDialog(model: RunAsJobModel): Promise<void> {
  let dialog: Dialog<unknown> | undefined;
  const body = ReactWidget.create(<RunAsJob model={model} close={() => dialog?.reject()} />);
  body.addClass('jp-AtriumJob-body');
  dialog = new Dialog({
    title: `Run ${model.state.notebookPath.split('/').pop()} as a job`,
    body,
    // The form has its own Cancel and Create buttons; Escape and the × close it too.
    buttons: [],
    hasClose: true,
    focusNodeSelector: 'input[name="name"]',
  });
  dialog.addClass('jp-AtriumJob-dialog');
  void model.load();
  try {
    await dialog.launch();
  } finally {
    model.dispose();
  }
}
