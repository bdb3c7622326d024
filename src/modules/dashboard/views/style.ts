// The dashboard's stylesheet, served by the app at /dashboard/assets/dashboard.css.
export const dashboardCss = `
:root {
  --bg: #f3f4f7; --card: #fff; --ink: #1c2230; --muted: #6b7280; --line: #e5e7eb;
  --accent: #4f46e5; --accent-soft: #e0e7ff; --ok: #15803d; --ok-soft: #dcfce7;
  --warn: #b45309; --warn-soft: #fef3c7; --bad: #b91c1c; --bad-soft: #fee2e2; --idle-soft: #eef2f7;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; font-size: 14px; line-height: 1.45; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.top { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; justify-content: space-between;
  padding: 12px 24px; background: #161b2e; color: #e5e7eb; }
.brand { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.brand h1 { font-size: 18px; margin: 0 8px 0 0; font-weight: 650; letter-spacing: .2px; }
.logo { width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, #818cf8, #4f46e5 60%, #22d3ee); }
.top .chip { background: #262d45; color: #e5e7eb; }
.top .chip .muted { color: #9ca3af; }
.chip { display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 12px; background: var(--idle-soft); }
.chip.shape { background: #4f46e5; color: #fff; font-weight: 600; }
nav { display: flex; gap: 16px; align-items: center; }
nav a { color: #c7d2fe; }
.live { font-size: 12px; padding: 2px 10px; border-radius: 999px; background: #262d45; color: #9ca3af; }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: #9ca3af; vertical-align: 0; }
.live[data-live="live"] { color: #bbf7d0; }
.live[data-live="live"]::before { background: #22c55e; box-shadow: 0 0 0 3px rgba(34, 197, 94, .25); }
.live[data-live="down"] { color: #fecaca; }
.live[data-live="down"]::before { background: #ef4444; }
.board { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 20px 24px 32px; max-width: 1400px; margin: 0 auto; }
.column { display: flex; flex-direction: column; gap: 16px; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 16px; box-shadow: 0 1px 2px rgba(16, 24, 40, .04); min-width: 0; }
.panel.wide { grid-column: 1 / -1; }
.panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 10px; font-weight: 650; }
.range-select { display: block; font-size: 12px; color: var(--muted); margin: -4px 0 8px; }
.range-select select { font: inherit; }
.grid { width: 100%; border-collapse: collapse; }
.grid th, .grid td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; white-space: nowrap; }
.grid thead th { font-size: 12px; color: var(--muted); font-weight: 600; }
.grid tbody tr:last-child th, .grid tbody tr:last-child td { border-bottom: 0; }
.grid tbody th { font-weight: 600; }
.grid .num { text-align: right; font-variant-numeric: tabular-nums; }
.grid td.bad { color: var(--bad); font-weight: 600; }
.meter { display: inline-block; width: 56px; height: 6px; margin-left: 8px; vertical-align: middle; }
.meter-track { fill: var(--idle-soft); }
.meter-fill { fill: var(--ok); }
.status { display: inline-block; min-width: 78px; text-align: center; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.status-queued, .status-delayed { background: var(--idle-soft); color: #475569; }
.status-active { background: var(--warn-soft); color: var(--warn); animation: pulse 1.2s ease-in-out infinite; }
.status-completed { background: var(--ok-soft); color: var(--ok); }
.status-failed { background: var(--bad-soft); color: var(--bad); }
.status-cancelled { background: #f1f5f9; color: #64748b; text-decoration: line-through; }
@keyframes pulse { 50% { opacity: .55; } }
.error-text { color: var(--bad); font-size: 12px; white-space: normal; max-width: 420px; }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; margin: 6px 0; }
.unavailable { margin: 6px 0; padding: 10px 12px; border-radius: 8px; background: var(--idle-soft); color: #475569; }
.unavailable strong { color: var(--ink); }
.bar-chart { display: block; max-width: 100%; height: auto; }
.bar-chart rect { fill: var(--accent); }
.bar-chart .bar:hover rect { fill: #4338ca; }
.bar-chart text { font-size: 12px; fill: var(--ink); }
.bar-chart .bar-label { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 11.5px; }
.bar-chart .bar-count { fill: var(--muted); font-variant-numeric: tabular-nums; }
.figures { display: flex; gap: 32px; margin: 4px 0 8px; }
.figure { display: flex; flex-direction: column; }
.figure-value { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
.figure-label { color: var(--muted); font-size: 12px; }
.harvest { display: flex; flex-direction: column; gap: 12px; }
.harvest-task { border-top: 1px solid var(--line); padding-top: 10px; }
.harvest-task:first-child { border-top: 0; padding-top: 0; }
.harvest-head { display: flex; gap: 8px; align-items: center; justify-content: space-between; }
.harvest-url { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.thumbs { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.thumbs img { width: 64px; height: 64px; object-fit: cover; border-radius: 6px; border: 1px solid var(--line); background: var(--idle-soft); }
.key-form { max-width: 380px; margin: 12vh auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
.key-form h1 { margin-top: 0; font-size: 20px; }
.key-form label { display: block; font-weight: 600; margin-bottom: 6px; }
.key-form input { width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; font-size: 14px; }
.key-form button { margin-top: 12px; padding: 8px 14px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; font-weight: 600; cursor: pointer; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.grid td.actions { text-align: right; }
.action { margin-left: 6px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--accent); font-size: 12px; font-weight: 600; cursor: pointer; }
.action:hover { background: var(--accent-soft); }
.action.danger { color: var(--bad); }
.action.danger:hover { background: var(--bad-soft); }
.action:disabled { opacity: .5; cursor: progress; }
.chip.paused { background: var(--warn-soft); color: var(--warn); font-weight: 600; }
.progress { display: inline-flex; align-items: center; gap: 8px; }
.progress .meter { width: 96px; margin-left: 0; }
.progress-label, .progress-text { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.action-status { margin: 12px 24px 0; padding: 8px 12px; border-radius: 8px; background: var(--ok-soft); color: var(--ok); }
.action-status[data-failed] { background: var(--bad-soft); color: var(--bad); }
@media (max-width: 900px) { .board { grid-template-columns: 1fr; } .top { padding: 12px 16px; } }
`;
