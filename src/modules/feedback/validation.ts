// The rules a submission must meet, once for JSON clients (a schema: Ajv checks it before the
// handler runs, and /docs shows it) and once for HTML forms (every field checked, with a message a
// person can act on beside each field). Both read the limits and patterns below, and
// validation.test.ts checks with random inputs that they accept exactly the same submissions.
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { type Static, Type } from 'typebox';

export const LIMITS = { name: 100, email: 254, message: 5000 } as const;

// No NUL anywhere (PostgreSQL cannot store U+0000 in text, and a submission that cannot be stored
// must be refused up front, not fail as a 500 later), and at least one character that is not a
// space. Written so that it runs in linear time: the obvious `^[^\0]*\S[^\0]*$` backtracks
// quadratically and took 300 ms on a 5,000-character message ending in NUL.
export const TEXT_PATTERN = '^(?=[^\\u0000]*$)\\s*\\S';
const textPattern = new RegExp(TEXT_PATTERN, 'u');
// The address rule Ajv's "email" format applies, reused so both paths agree on what is valid.
const emailPattern = fullFormats.email as RegExp;

export const FeedbackJsonBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: LIMITS.name, pattern: TEXT_PATTERN, description: '1–100 characters' }),
    email: Type.String({ format: 'email', maxLength: LIMITS.email, description: 'a valid address' }),
    message: Type.String({ minLength: 1, maxLength: LIMITS.message, pattern: TEXT_PATTERN, description: '1–5,000 characters' }),
    rating: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 5 }), Type.Null()], { description: 'optional whole number 1–5' })),
  },
  { additionalProperties: false },
);
export type FeedbackJson = Static<typeof FeedbackJsonBody>;

/** What the HTML forms send (documented in /docs; checked by validateFeedbackForm). */
export const FeedbackFormBody = Type.Object(
  {
    name: Type.String(),
    email: Type.String(),
    message: Type.String(),
    rating: Type.Optional(Type.String({ description: 'empty, or 1 to 5' })),
    _csrf: Type.String({ description: 'the token from the page the form was on' }),
  },
  { additionalProperties: false },
);

export interface FeedbackInput {
  name: string;
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

function textError(what: { ask: string; title: string }, value: string, max: number): string | undefined {
  if (value === '') return `${what.ask}.`;
  if (characters(value) > max) return `${what.title} must be at most ${max.toLocaleString('en')} characters.`;
  if (value.includes('\u0000')) return `${what.title} contains a character that cannot be stored (U+0000).`;
  if (!textPattern.test(value)) return `${what.ask}: it cannot be only spaces.`;
  return undefined;
}

export function emailIsValid(email: string): boolean {
  // Length first: the pattern's cost grows with the length of what it is given.
  return email.length > 0 && characters(email) <= LIMITS.email && emailPattern.test(email);
}

/**
 * Checks a urlencoded form body. Every field is checked (not just the first bad one), so the page
 * can show each error beside its field.
 */
export function validateFeedbackForm(body: unknown): FormCheck {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const errors: Partial<Record<FormField | 'form', string>> = {};
  const values = {} as FormValues;
  for (const field of FORM_FIELDS) {
    const value = fields[field];
    if (Array.isArray(value)) errors[field] = `Send ${field} once, not ${value.length} times.`;
    values[field] = typeof value === 'string' ? value : '';
  }
  const unknown = Object.keys(fields).filter((key) => key !== '_csrf' && !(FORM_FIELDS as readonly string[]).includes(key));
  if (unknown.length) errors.form = `Unexpected field${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 5).join(', ')}.`;

  errors.name ??= textError({ ask: 'Enter your name', title: 'Name' }, values.name, LIMITS.name);
  errors.email ??= emailIsValid(values.email) ? undefined : 'Enter a valid email address, like name@example.com.';
  errors.message ??= textError({ ask: 'Enter a message', title: 'Message' }, values.message, LIMITS.message);
  let rating: number | null = null;
  if (!errors.rating && values.rating !== '') {
    if (/^[1-5]$/.test(values.rating)) rating = Number(values.rating);
    else errors.rating = 'Rating must be a whole number from 1 to 5, or none.';
  }
  for (const key of Object.keys(errors) as (keyof typeof errors)[]) if (errors[key] === undefined) delete errors[key];
  if (Object.keys(errors).length) return { ok: false, values, errors };
  return { ok: true, input: { name: values.name, email: values.email, message: values.message, rating } };
}

export function inputFromJson(body: FeedbackJson): FeedbackInput {
  return { name: body.name, email: body.email, message: body.message, rating: body.rating ?? null };
}
