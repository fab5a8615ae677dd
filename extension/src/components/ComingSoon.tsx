import * as React from 'react';

export interface ComingSoonProps {
  /** What the panel will do, in one sentence. */
  summary: string;
  /** What is planned, one item per line. */
  planned: string[];
}

/** An honest placeholder: says what is coming and offers nothing that pretends to work. */
export function ComingSoon(props: ComingSoonProps): JSX.Element {
  return (
    <div className="jp-AtriumComingSoon">
      <p className="jp-AtriumComingSoon-title">
        <strong>Coming soon:</strong> {props.summary}
      </p>
      <ul>
        {props.planned.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
      <p className="jp-AtriumComingSoon-note">Nothing here works yet; this panel only tells what it will bring.</p>
    </div>
  );
}
