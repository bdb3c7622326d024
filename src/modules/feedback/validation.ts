// The rules a submission must meet, once for JSON clients (a schema: Ajv checks it before the
// handler runs, and /docs shows it) and once for HTML forms (every field checked, with a message a
// person can act on beside each field). Both read the limits and patterns below, and
// validation.test.ts checks with random inputs that they accept exactly the same submissions.
//
// The fields are the seed's (000): a name, optional and shown as "Anonymous" when left empty, and
// the feedback itself, which the seed's forms called `opinion` and ours call `message` (either is
// taken; both, only when they say the same). An email address is optional too: nothing sends mail
// and it is never shown; it is kept for the operator, who may want to answer. A left-out name or
// email is stored as "" (the columns stay NOT NULL, so a worker of the previous version can still
// save a job queued by this one).
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { type Static, Type } from 'typebox';
import { validationError } from '../../errors.js';

export const LIMITS = { name: 100, email: 254, message: 5000 } as const;

// No NUL anywhere (PostgreSQL cannot store U+0000 in text, and a submission that cannot be stored
// must be refused up front, not fail as a 500 later), and at least one character that is not a
// space. Written so that it runs in linear time: the obvious `^[^\0]*\S[^\0]*$` backtracks
// quadratically and took 300 ms on a 5,000-character message ending in NUL.
export const TEXT_PATTERN = '^(?=[^\\u0000]*$)\\s*\\S';
/** The same, or nothing at all: an optional text is empty, or text as above (not only spaces). */
export const OPTIONAL_TEXT_PATTERN = '^(?=[^\\u0000]*$)(?:\\s*\\S|$)';
const textPattern = new RegExp(TEXT_PATTERN, 'u');
// The address rule Ajv's "email" format applies, reused so both paths agree on what is valid.
const emailPattern = fullFormats.email as RegExp;

const messageText = (description: string) => Type.String({ minLength: 1, maxLength: LIMITS.message, pattern: TEXT_PATTERN, description });

export const FeedbackJsonBody = Type.Object(
  {
    name: Type.Optional(
      Type.Union([Type.String({ maxLength: LIMITS.name, pattern: OPTIONAL_TEXT_PATTERN }), Type.Null()], {
        description: 'optional, up to 100 characters; left out, null or "" is listed as Anonymous',
      }),
    ),
    email: Type.Optional(
      Type.Union([Type.String({ format: 'email', maxLength: LIMITS.email }), Type.Literal(''), Type.Null()], {
        description: 'optional: a valid address, kept for the operator and never shown',
      }),
    ),
    message: Type.Optional(messageText('1–5,000 characters (required, as message or as opinion)')),
    opinion: Type.Optional(messageText('the seed form\'s name for message: send either (both only with the same text)')),
    rating: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 5 }), Type.Null()], { description: 'optional whole number 1–5' })),
  },
  // The one rule across fields a schema can say: message or opinion (that the two agree when both
  // are sent is checked by inputFromJson).
  { additionalProperties: false, anyOf: [{ required: ['message'] }, { required: ['opinion'] }] },
);
export type FeedbackJson = Static<typeof FeedbackJsonBody>;

/** What the HTML forms send (documented in /docs; checked by validateFeedbackForm). */
export const FeedbackFormBody = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'optional: empty is listed as Anonymous' })),
    email: Type.Optional(Type.String({ description: 'optional: empty, or a valid address (never shown)' })),
    message: Type.Optional(Type.String({ description: 'required, as message or as opinion' })),
    opinion: Type.Optional(Type.String({ description: 'the seed form\'s name for message' })),
    rating: Type.Optional(Type.String({ description: 'empty, or 1 to 5' })),
    _csrf: Type.String({ description: 'the token from the page the form was on' }),
    _started: Type.Optional(Type.String({ description: 'the signed time the page was made (spam rules: a post under 2 s or a day after is marked spam)' })),
    website: Type.Optional(Type.String({ description: 'the honeypot: people leave it empty (spam rules)' })),
  },
  { additionalProperties: false },
);

export interface FeedbackInput {
  /** "" when left empty: listed as Anonymous */
  name: string;
  /** "" when not given */
  email: string;
  message: string;
  rating: number | null;
}

export type FormField = 'name' | 'email' | 'message' | 'rating';
export const FORM_FIELDS: readonly FormField[] = ['name', 'email', 'message', 'rating'];

/** The values as typed, to put back in the form when it is shown again with errors. */
export type FormValues = Record<FormField, string>;

export type FormCheck =
  | { ok: true; input: FeedbackInput }
  | { ok: false; values: FormValues; errors: Partial<Record<FormField | 'form', string>> };

/** Characters as JSON Schema counts them: code points, so an emoji is one, as a person sees it. */
const characters = (text: string) => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};

function textError(what: { ask: string; title: string; onlySpaces?: string }, value: string, max: number): string | undefined {
  if (value === '') return `${what.ask}.`;
  if (characters(value) > max) return `${what.title} must be at most ${max.toLocaleString('en')} characters.`;
  if (value.includes('\u0000')) return `${what.title} contains a character that cannot be stored (U+0000).`;
  if (!textPattern.test(value)) return what.onlySpaces ?? `${what.ask}: it cannot be only spaces.`;
  return undefined;
}

export function emailIsValid(email: string): boolean {
  // Length first: the pattern's cost grows with the length of what it is given.
  return email.length > 0 && characters(email) <= LIMITS.email && emailPattern.test(email);
}

/** The name the listing shows for an entry: its name, or Anonymous when it was left empty. */
export const displayName = (name: string) => (name === '' ? 'Anonymous' : name);

const MESSAGE_NAMES = ['message', 'opinion'] as const;
const DIFFERING = 'opinion and message are two names for one field: send one of them, or the same text in both';

/**
 * Checks a urlencoded form body. Every field is checked (not just the first bad one), so the page
 * can show each error beside its field. An `opinion` (the seed form's field) is the message: its
 * value and errors are shown in the message field.
 */
export function validateFeedbackForm(body: unknown): FormCheck {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const errors: Partial<Record<FormField | 'form', string>> = {};
  const values = {} as FormValues;
  const sentTwice = (field: string, value: unknown) => (Array.isArray(value) ? `Send ${field} once, not ${value.length} times.` : undefined);
  for (const field of FORM_FIELDS) {
    if (field === 'message') continue;
    errors[field] = sentTwice(field, fields[field]);
    values[field] = typeof fields[field] === 'string' ? (fields[field] as string) : '';
  }
  const given = MESSAGE_NAMES.filter((field) => fields[field] !== undefined);
  // The name the sender used, so that the message about it says that name.
  const messageName = given.length === 1 ? given[0] : 'message';
  for (const field of given) errors.message ??= sentTwice(field, fields[field]);
  const texts = given.map((field) => (typeof fields[field] === 'string' ? (fields[field] as string) : ''));
  values.message = texts[0] ?? '';
  if (texts.length === 2 && texts[0] !== texts[1]) errors.message ??= `Your ${DIFFERING}.`;
  // _started and website are the spam rules' (spam-rules.ts): read there, never an error here
  const accepted: readonly string[] = [...FORM_FIELDS, ...MESSAGE_NAMES, '_csrf', '_started', 'website'];
  const unknown = Object.keys(fields).filter((key) => !accepted.includes(key));
  if (unknown.length) errors.form = `Unexpected field${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 5).join(', ')}.`;

  const onlySpaces = 'Name cannot be only spaces: leave it empty to stay anonymous.';
  if (values.name !== '') errors.name ??= textError({ ask: 'Enter your name', title: 'Name', onlySpaces }, values.name, LIMITS.name);
  if (values.email !== '') errors.email ??= emailIsValid(values.email) ? undefined : 'Enter a valid email address, like name@example.com, or leave it empty.';
  const ask = messageName === 'opinion' ? { ask: 'Enter your opinion', title: 'Opinion' } : { ask: 'Enter a message', title: 'Message' };
  errors.message ??= textError(ask, values.message, LIMITS.message);
  let rating: number | null = null;
  if (!errors.rating && values.rating !== '') {
    if (/^[1-5]$/.test(values.rating)) rating = Number(values.rating);
    else errors.rating = 'Rating must be a whole number from 1 to 5, or none.';
  }
  for (const key of Object.keys(errors) as (keyof typeof errors)[]) if (errors[key] === undefined) delete errors[key];
  if (Object.keys(errors).length) return { ok: false, values, errors };
  return { ok: true, input: { name: values.name, email: values.email, message: values.message, rating } };
}

/** A submission that passed FeedbackJsonBody, as stored; a message and an opinion that differ are a 400 naming opinion. */
export function inputFromJson(body: FeedbackJson): FeedbackInput {
  if (body.message !== undefined && body.opinion !== undefined && body.message !== body.opinion) throw validationError('opinion', DIFFERING);
  return { name: body.name ?? '', email: body.email ?? '', message: (body.message ?? body.opinion)!, rating: body.rating ?? null };
}
