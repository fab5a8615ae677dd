/** One stylesheet for every hub page: calm, legible, accessible contrast. */
export const STYLES = `
:root { --blue:#1f4e8c; --blue-2:#2d6cc0; --ink:#1d2430; --muted:#5b6678; --line:#dfe4ec; --bg:#f5f7fa; --ok:#1b7f4b; --warn:#9a5b00; --bad:#b42318; --radius:10px; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif; color:var(--ink); background:var(--bg); }
a { color: var(--blue-2); }
.platform-notice { margin:0; padding:10px 24px; background:#fdecea; color:var(--bad); border-bottom:1px solid #f3c5bf; font-size:14px; }
.topbar { display:flex; align-items:center; gap:24px; padding:10px 24px; background:#fff; border-bottom:1px solid var(--line); }
.brand { display:flex; align-items:center; gap:8px; font-weight:700; font-size:18px; color:var(--ink); text-decoration:none; }
.logo { width:28px; height:28px; }
.topnav { display:flex; gap:4px; flex:1; }
.topnav a { padding:6px 12px; border-radius:8px; color:var(--muted); text-decoration:none; font-weight:500; }
.topnav a.active, .topnav a:hover { background:#eaf1fb; color:var(--blue); }
.whoami { display:flex; align-items:center; gap:12px; color:var(--muted); font-size:14px; }
.user-name { color:var(--ink); font-weight:600; }
.user-teams { padding:2px 8px; background:#eef1f5; border-radius:999px; }
main { max-width:1100px; margin:24px auto; padding:0 24px; }
h1 { font-size:24px; margin:0 0 8px; }
h2 { font-size:18px; margin:0 0 12px; }
.lead { color:var(--muted); margin:0 0 20px; }
.card { background:#fff; border:1px solid var(--line); border-radius:var(--radius); padding:20px 24px; margin-bottom:20px; }
.narrow { max-width:420px; margin:60px auto; }
.message-page h1 { margin-bottom:12px; }
label { display:block; font-weight:600; margin:12px 0 4px; }
input[type=text], input[type=password], input[type=email], input[type=number], select { width:100%; padding:9px 11px; border:1px solid #c5cdd9; border-radius:8px; font:inherit; background:#fff; }
input:focus, select:focus, button:focus-visible, a:focus-visible { outline:3px solid #9cc2f2; outline-offset:1px; }
.hint { color:var(--muted); font-size:13px; margin:4px 0 0; }
button, .button { display:inline-flex; align-items:center; gap:6px; padding:8px 16px; border-radius:8px; border:1px solid #c5cdd9; background:#fff; color:var(--ink); font:inherit; font-weight:600; cursor:pointer; text-decoration:none; }
button:hover, .button:hover { border-color:var(--blue-2); }
button.primary, .button.primary { background:var(--blue); border-color:var(--blue); color:#fff; }
button.primary:hover, .button.primary:hover { background:var(--blue-2); }
button.danger { color:var(--bad); border-color:#f0c2bd; }
button.link { border:none; background:none; color:var(--blue-2); padding:0; font-weight:500; }
button:disabled { opacity:.55; cursor:not-allowed; }
form.inline { display:inline; margin:0; }
.error-box { background:#fdecea; color:var(--bad); border:1px solid #f5c2bd; border-radius:8px; padding:10px 12px; margin:12px 0; }
.notice.rerun-note { background:#fff3dc; color:var(--warn); border:1px solid #f1d9a8; border-radius:8px; padding:8px 12px; }
.notice-box { background:#eef5ff; border:1px solid #c7dbf6; border-radius:8px; padding:10px 12px; margin:12px 0; }
.row { display:flex; gap:16px; flex-wrap:wrap; }
.grow { flex:1; min-width:220px; }
.choice-grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(240px,1fr)); gap:12px; }
.choice { position:relative; font-weight:400; margin:0; border:2px solid var(--line); border-radius:var(--radius); padding:12px 14px; cursor:pointer; background:#fff; }
.choice:hover { border-color:#a9c4ea; }
.choice.selected { border-color:var(--blue-2); background:#f4f8fe; }
.choice input { position:absolute; opacity:0; }
.choice.unavailable { opacity:.55; cursor:not-allowed; }
.choice .title { font-weight:700; }
.choice .meta { color:var(--muted); font-size:13px; }
.badge { display:inline-block; font-size:12px; font-weight:600; padding:1px 8px; border-radius:999px; background:#eef1f5; color:var(--muted); margin-left:6px; vertical-align:middle; }
.badge.ok { background:#e3f4ea; color:var(--ok); }
.badge.warn { background:#fff3dc; color:var(--warn); }
.badge.bad { background:#fdecea; color:var(--bad); }
.badge.info { background:#e6effb; color:var(--blue); }
.workspaces { display:grid; gap:12px; }
.workspace { display:flex; align-items:center; gap:16px; padding:14px 16px; border:1px solid var(--line); border-radius:var(--radius); background:#fff; }
.workspace .name { font-weight:700; font-size:16px; }
.workspace .details { color:var(--muted); font-size:13px; }
.workspace .actions { margin-left:auto; display:flex; gap:8px; }
.progress { margin-top:10px; }
.progress-bar { height:10px; background:#e8edf4; border-radius:999px; overflow:hidden; }
.progress-bar > div { height:100%; width:0; background:linear-gradient(90deg,var(--blue),var(--blue-2)); transition:width .3s ease; }
.progress-bar.failed > div { background:var(--bad); }
.progress-message { font-size:13px; color:var(--muted); margin-top:6px; }
.progress-log { font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; color:var(--muted); max-height:120px; overflow:auto; margin:6px 0 0; padding:0; list-style:none; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); font-size:14px; vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:13px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
.token-value { display:block; padding:10px; background:#0f172a; color:#e2e8f0; border-radius:8px; word-break:break-all; }
.empty { color:var(--muted); padding:16px; text-align:center; border:1px dashed var(--line); border-radius:var(--radius); }
.sr-only { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
`;
