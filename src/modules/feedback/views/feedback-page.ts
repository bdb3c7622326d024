// GET /feedback: the two forms and the saved feedback, newest first. A form shown again after a
// refused post keeps what was typed and shows each error beside its field.
import type { FeedbackEntry } from '../store.js';
import type { FormField, FormValues } from '../validation.js';
import { LIMITS, displayName } from '../validation.js';
import { type SafeHtml, html } from '../../../http/html.js';
import { FILL_TOKEN_FIELD, HONEYPOT_FIELD } from '../spam-rules.js';

export type FormKind = 'sync' | 'async';

export interface FeedbackPageModel {
  page: number;
  entries: FeedbackEntry[];
  hasNext: boolean;
  csrfToken: string;
  /** the signed time the page was made (spam-rules.ts): a form posted too soon or too late is suspect */
  fillToken: string;
  notice?: { kind: 'saved' | 'queued'; id: string };
  /** a refused post: which form, what was typed, what is wrong */
  posted?: { form: FormKind; values: FormValues; errors: Partial<Record<FormField | 'form', string>> };
  /** a message above the forms, e.g. an expired form token */
  alert?: string;
}

const FORMS: Record<FormKind, { action: string; title: string; hint: string; button: string }> = {
  sync: { action: '/feedback/sync', title: 'Save now', hint: 'Saved in the request, before the page comes back.', button: 'Save now' },
  async: { action: '/feedback/async', title: 'Queue it', hint: 'Handed to a worker through the queue; the page does not wait for the database.', button: 'Queue it' },
};

const EMPTY: FormValues = { name: '', email: '', message: '', rating: '' };

export function feedbackPage(model: FeedbackPageModel): SafeHtml {
  return html`<h1>Feedback</h1>
${notice(model)}
${model.alert ? html`<div class="alert" role="alert">${model.alert}</div>` : ''}
${model.posted && Object.keys(model.posted.errors).length ? html`<div class="alert" role="alert" id="error-summary">Your feedback was not saved: please correct the fields marked below.${model.posted.errors.form ? html` ${model.posted.errors.form}` : ''}</div>` : ''}
<div class="forms">
${feedbackForm('sync', model)}
${feedbackForm('async', model)}
</div>
<h2 id="entries">Saved feedback</h2>
${model.entries.length ? html`<ol class="entries">${model.entries.map(entry)}</ol>` : html`<p class="empty">${model.page === 1 ? 'No feedback yet.' : 'No feedback on this page.'}</p>`}
${pager(model)}`;
}

function notice(model: FeedbackPageModel): SafeHtml | '' {
  if (!model.notice) return '';
  const { kind, id } = model.notice;
  if (kind === 'saved') return html`<div class="notice" role="status" id="notice">Thank you: your feedback was saved.</div>`;
  return html`<div class="notice" role="status" id="notice">Thank you: your feedback was queued as task <a href="/tasks/${id}"><code>${id}</code></a>. It is listed below once a worker has saved it.</div>`;
}

function feedbackForm(kind: FormKind, model: FeedbackPageModel): SafeHtml {
  const form = FORMS[kind];
  const mine = model.posted?.form === kind ? model.posted : undefined;
  const values = mine?.values ?? EMPTY;
  const errors = mine?.errors ?? {};
  const id = (field: FormField) => `${kind}-${field}`;
  const describedBy = (field: FormField) => (errors[field] ? html` aria-invalid="true" aria-describedby="${id(field)}-error"` : '');
  const error = (field: FormField) => (errors[field] ? html`<p class="error" id="${id(field)}-error">${errors[field]}</p>` : '');
  const fieldClass = (field: FormField) => (errors[field] ? 'field has-error' : 'field');
  // novalidate: the server's messages, beside each field, are the one set of rules a person sees,
  // the same in every browser (and the same rules API clients get). The parser drops one line break
  // right after <textarea>: the template puts one there so that a message starting with one keeps it.
  return html`<form method="post" action="${form.action}" id="form-${kind}" novalidate>
<h2>${form.title}</h2>
<p class="hint">${form.hint}</p>
<input type="hidden" name="_csrf" value="${model.csrfToken}">
<input type="hidden" name="${FILL_TOKEN_FIELD}" value="${model.fillToken}">
<div class="hp" aria-hidden="true"><label for="${kind}-${HONEYPOT_FIELD}">Leave this field empty</label><input id="${kind}-${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" type="text" tabindex="-1" autocomplete="off" value=""></div>
<div class="${fieldClass('name')}">
<label for="${id('name')}">Name (optional)</label>
<input id="${id('name')}" name="name" type="text" maxlength="${LIMITS.name}" autocomplete="name" placeholder="Anonymous" value="${values.name}"${describedBy('name')}>
${error('name')}
</div>
<div class="${fieldClass('email')}">
<label for="${id('email')}">Email (optional, never shown)</label>
<input id="${id('email')}" name="email" type="email" maxlength="${LIMITS.email}" autocomplete="email" value="${values.email}"${describedBy('email')}>
${error('email')}
</div>
<div class="${fieldClass('rating')}">
<label for="${id('rating')}">Rating (optional)</label>
<select id="${id('rating')}" name="rating"${describedBy('rating')}>
<option value=""${values.rating === '' ? html` selected` : ''}>no rating</option>
${['1', '2', '3', '4', '5'].map((n) => html`<option value="${n}"${values.rating === n ? html` selected` : ''}>${n}</option>`)}
</select>
${error('rating')}
</div>
<div class="${fieldClass('message')}">
<label for="${id('message')}">Message</label>
<textarea id="${id('message')}" name="message" maxlength="${LIMITS.message}" required${describedBy('message')}>
${values.message}</textarea>
${error('message')}
</div>
<button type="submit">${form.button}</button>
</form>`;
}

function entry(item: FeedbackEntry): SafeHtml {
  const when = new Date(item.createdAt).toISOString();
  const rating = item.rating === null ? html`<span class="rating none">no rating</span>` : html`<span class="rating" aria-label="rating ${item.rating} of 5">${'★'.repeat(item.rating)}${'☆'.repeat(5 - item.rating)} ${item.rating}/5</span>`;
  return html`<li class="entry" data-id="${item.id}">
<div class="entry-head"><strong class="${item.name === '' ? 'name anonymous' : 'name'}">${displayName(item.name)}</strong> ${rating} <time class="meta" datetime="${when}">${when.slice(0, 19).replace('T', ' ')} UTC</time> <span class="meta via">${item.via === 'sync' ? 'saved now' : 'queued'}</span></div>
<p class="message">${item.message}</p>
</li>
`;
}

function pager(model: FeedbackPageModel): SafeHtml {
  const newer = model.page > 1 ? html`<a rel="prev" href="/feedback?page=${model.page - 1}#entries">← Newer</a>` : '';
  const older = model.hasNext ? html`<a rel="next" href="/feedback?page=${model.page + 1}#entries">Older →</a>` : '';
  return html`<nav class="pager" aria-label="pages">${newer} <span>Page ${model.page}</span> ${older}</nav>`;
}
