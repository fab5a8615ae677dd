import * as React from 'react';
import { parseSnippet } from '../hubClient';

/**
 * A search snippet with the matched words highlighted. The hub's snippet is
 * escaped HTML whose only markup is `<mark>`; it is parsed into text nodes
 * rather than injected as HTML, so nothing in it can run.
 */
export function Snippet(props: { html: string }): JSX.Element {
  return (
    <span className="jp-AtriumKB-snippet">
      {parseSnippet(props.html).map((part, i) => (part.mark ? <mark key={i}>{part.text}</mark> : <React.Fragment key={i}>{part.text}</React.Fragment>))}
    </span>
  );
}
