import { LabIcon } from '@jupyterlab/ui-components';

// An atrium: a hall under an open roof.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2 2 8v2h20V8L12 2zm0 2.3L18.5 8h-13L12 4.3z"/>
    <rect x="4" y="11" width="2" height="8"/>
    <rect x="9" y="11" width="2" height="8"/>
    <rect x="13" y="11" width="2" height="8"/>
    <rect x="18" y="11" width="2" height="8"/>
    <rect x="2" y="20" width="20" height="2"/>
  </g>
</svg>`;

export const atriumIcon = new LabIcon({ name: 'atrium:logo', svgstr: svg });
