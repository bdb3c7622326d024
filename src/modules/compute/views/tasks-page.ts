// GET /async/tasks: the newest sum tasks, for a person to find a result without knowing its id.
// Each row links to the task's JSON (/async/get_task_result/{id}), the answer a client polls.
import { type SafeHtml, html } from '../../../http/html.js';
import type { TaskStatus } from '../sum-tasks.js';

export interface TaskRow {
  id: string;
  status: TaskStatus;
  result: number | null;
  error: string | null;
  createdAt: number;
  finishedAt: number | null;
}

const time = (ms: number) => {
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
};

function row(task: TaskRow): SafeHtml {
  const outcome =
    task.status === 'done' ? html`<td class="result">${String(task.result)}</td>` : task.status === 'failed' ? html`<td class="error">${task.error ?? 'failed'}</td>` : html`<td class="meta">not finished</td>`;
  return html`<tr data-id="${task.id}" class="state-${task.status}">
<td><a href="/async/get_task_result/${task.id}"><code>${task.id}</code></a></td>
<td class="state">${task.status}</td>
${outcome}
<td>${time(task.createdAt)}</td>
<td>${task.finishedAt === null ? '' : time(task.finishedAt)}</td>
</tr>
`;
}

export function tasksPage(tasks: TaskRow[], limit: number): SafeHtml {
  return html`<h1>Compute tasks</h1>
<p>The ${limit} newest sum tasks, newest first. Start one with <code>POST /async/post_task</code>
and <code>{"numbers": [1, 2.5]}</code> (or wait for the sum with <code>POST /sync/sum</code>); see the
<a href="/docs">API docs</a>. Each id links to the task's JSON, <code>/async/get_task_result/{id}</code>.</p>
${tasks.length
  ? html`<table class="tasks">
<thead><tr><th>task</th><th>state</th><th>result or error</th><th>queued</th><th>finished</th></tr></thead>
<tbody>
${tasks.map(row)}</tbody>
</table>`
  : html`<p class="empty">No sum tasks yet.</p>`}`;
}
