import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validatorCompiler } from '../../http/validation.js';
import { AppError } from '../../errors.js';
import { type FeedbackJson, FeedbackJsonBody, LIMITS, emailIsValid, inputFromJson, validateFeedbackForm } from './validation.js';

const valid = { name: 'Ada', email: 'ada@example.com', message: 'Hello', rating: '' };
const errorsOf = (fields: Record<string, unknown>) => {
  const check = validateFeedbackForm(fields);
  return check.ok ? {} : check.errors;
};

describe('form validation (each rule, every field checked at once)', () => {
  it('accepts a valid form and turns an empty rating into no rating', () => {
    expect(validateFeedbackForm(valid)).toEqual({ ok: true, input: { name: 'Ada', email: 'ada@example.com', message: 'Hello', rating: null } });
    expect(validateFeedbackForm({ ...valid, rating: '4', _csrf: 'token' })).toEqual({ ok: true, input: { name: 'Ada', email: 'ada@example.com', message: 'Hello', rating: 4 } });
    const noRating = validateFeedbackForm({ name: 'Ada', email: 'ada@example.com', message: 'Hello' });
    expect(noRating.ok && noRating.input.rating).toBe(null);
  });

  it('reports every bad field, keeping what was typed', () => {
    const check = validateFeedbackForm({ name: ' ', email: 'nope', message: '', rating: '9' });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(Object.keys(check.errors).sort()).toEqual(['email', 'message', 'name', 'rating']);
    expect(check.values).toEqual({ name: ' ', email: 'nope', message: '', rating: '9' });
  });

  it('name: optional (empty or left out is anonymous), else up to 100 characters, counted as a person sees them, not only spaces', () => {
    expect(errorsOf({ ...valid, name: 'x'.repeat(100) }).name).toBeUndefined();
    expect(errorsOf({ ...valid, name: '😀'.repeat(100) }).name).toBeUndefined();
    expect(errorsOf({ ...valid, name: 'x'.repeat(101) }).name).toMatch(/at most 100/);
    expect(validateFeedbackForm({ ...valid, name: '' })).toEqual({ ok: true, input: { name: '', email: 'ada@example.com', message: 'Hello', rating: null } });
    expect(errorsOf({ ...valid, name: ' \t\u00a0' }).name).toBe('Name cannot be only spaces: leave it empty to stay anonymous.');
    expect(errorsOf({ ...valid, name: 'a\u0000b' }).name).toMatch(/cannot be stored/);
    const missing: Record<string, string> = { ...valid };
    delete missing.name;
    expect(validateFeedbackForm(missing)).toEqual({ ok: true, input: { name: '', email: 'ada@example.com', message: 'Hello', rating: null } });
  });

  it('message: also taken as opinion (the seed form\'s name), once or twice with the same text', () => {
    expect(validateFeedbackForm({ name: '', opinion: 'Seed form' })).toEqual({ ok: true, input: { name: '', email: '', message: 'Seed form', rating: null } });
    expect(validateFeedbackForm({ ...valid, message: 'Same', opinion: 'Same' })).toMatchObject({ ok: true, input: { message: 'Same' } });
    expect(errorsOf({ ...valid, message: 'One', opinion: 'Other' }).message).toMatch(/^Your opinion and message are two names for one field/);
    expect(errorsOf({ name: 'A', opinion: '' }).message).toBe('Enter your opinion.');
    expect(errorsOf({ name: 'A', opinion: ' ' }).message).toBe('Enter your opinion: it cannot be only spaces.');
    expect(errorsOf({ name: 'A', opinion: ['a', 'b'] }).message).toBe('Send opinion once, not 2 times.');
    expect(errorsOf({ name: 'A' }).message).toBe('Enter a message.');
    // shown again in the message field, the one the page has
    const refused = validateFeedbackForm({ name: 'A', email: 'bad', opinion: 'kept' });
    expect(!refused.ok && refused.values.message).toBe('kept');
  });

  it('message: 1 to 5,000 characters', () => {
    expect(errorsOf({ ...valid, message: 'x'.repeat(5000) }).message).toBeUndefined();
    expect(errorsOf({ ...valid, message: 'x'.repeat(5001) }).message).toMatch(/at most 5,000/);
    expect(errorsOf({ ...valid, message: '' }).message).toMatch(/Enter a message/);
    expect(errorsOf({ ...valid, message: '\n\n' }).message).toMatch(/only spaces/);
    expect(errorsOf({ ...valid, message: 'line one\nline two' }).message).toBeUndefined();
  });

  it('email: optional (never shown), else a valid address of at most 254 characters', () => {
    for (const good of ['', 'ada@example.com', 'a.b+tag@sub.example.co.uk', 'X_Y@EXAMPLE.ORG']) expect(errorsOf({ ...valid, email: good }).email, good).toBeUndefined();
    expect(validateFeedbackForm({ name: 'Ada', message: 'Hello' })).toMatchObject({ ok: true, input: { email: '' } });
    for (const bad of [' ', 'ada', 'ada@', '@example.com', 'ada@example', 'ada @example.com', 'ada@exa mple.com', 'a@b@c.com', 'ada@example.com\u0000']) {
      expect(errorsOf({ ...valid, email: bad }).email, bad).toMatch(/valid email/);
    }
    const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(longest).toHaveLength(254);
    expect(emailIsValid(longest)).toBe(true);
    expect(emailIsValid(longest.replace('@', 'a@'))).toBe(false);
  });

  it('rating: empty, or a whole number from 1 to 5', () => {
    for (const good of ['', '1', '5']) expect(errorsOf({ ...valid, rating: good }).rating, good).toBeUndefined();
    for (const bad of ['0', '6', '2.5', ' 3', 'three', '-1', '1e0']) expect(errorsOf({ ...valid, rating: bad }).rating, bad).toMatch(/whole number from 1 to 5/);
  });

  it('refuses a field sent twice and fields the form does not have', () => {
    expect(errorsOf({ ...valid, name: ['a', 'b'] }).name).toMatch(/once, not 2 times/);
    expect(errorsOf({ ...valid, admin: 'yes' }).form).toMatch(/Unexpected field: admin/);
  });

  it('checks a long email without a slow pattern match (no ReDoS)', () => {
    // The fastest of five tries: a backtracking pattern is slow every time, while a busy machine
    // (CI once measured 52 ms for a single try) slows only some of them.
    const tries = Array.from({ length: 5 }, () => {
      const started = performance.now();
      expect(emailIsValid('a'.repeat(60_000) + '@' + 'b'.repeat(3000))).toBe(false);
      expect(emailIsValid('a@' + 'b-'.repeat(30_000))).toBe(false);
      return performance.now() - started;
    });
    expect(Math.min(...tries)).toBeLessThan(50);
  });
});

describe('the JSON schema and the form validator agree', () => {
  const validateJson = validatorCompiler({ schema: FeedbackJsonBody, method: 'POST', url: '/', httpPart: 'body' }) as unknown as (body: unknown) => boolean;

  it('refuses the longest hostile texts in linear time (a quadratic pattern took 300 ms here)', () => {
    for (const message of ['😀'.repeat(LIMITS.message - 1) + '\u0000', 'x'.repeat(LIMITS.message - 1) + '\u0000', ' '.repeat(LIMITS.message)]) {
      const started = performance.now();
      expect(validateJson({ name: 'Ada', email: 'ada@example.com', message })).toBe(false);
      expect(validateFeedbackForm({ name: 'Ada', email: 'ada@example.com', message }).ok).toBe(false);
      expect(performance.now() - started).toBeLessThan(20);
    }
  });

  /** The JSON path: the schema, then the one rule across fields it cannot say (message and opinion agree). */
  const jsonAccepts = (json: Record<string, unknown>) => {
    if (!validateJson(json)) return false;
    try {
      inputFromJson(json as FeedbackJson);
      return true;
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      return false;
    }
  };

  const text = fc.oneof(
    fc.constantFrom('', ' ', '\t\n', '\u00a0', 'a\u0000', '<script>', 'Ada', '😀', 'é'),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom(LIMITS.name - 1, LIMITS.name, LIMITS.name + 1, LIMITS.message, LIMITS.message + 1).map((n) => '😀'.repeat(n)),
  );
  const email = fc.oneof(fc.emailAddress(), fc.constantFrom('', ' ', 'ada', 'ada@example', 'a@b.co', 'A@B.CO', 'x@-a.com', `${'a'.repeat(245)}@b.com`, `${'a'.repeat(250)}@b.com`), fc.string({ maxLength: 20 }));
  const rating = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer({ min: -2, max: 8 }), fc.constantFrom(2.5, 1e10));
  // Left out (undefined), null (JSON only: a form sends "" for it), or a value.
  const optional = <T>(value: fc.Arbitrary<T>) => fc.oneof(fc.constant(undefined), fc.constant(null), value);
  const absent = <T>(value: fc.Arbitrary<T>) => fc.oneof(fc.constant(undefined), value);

  it('on random submissions, with optional name and email, and message, opinion, both or neither', () => {
    fc.assert(
      fc.property(optional(text), optional(email), absent(text), absent(fc.oneof(text, fc.constant('same'))), rating, (name, address, message, opinion, stars) => {
        const json: Record<string, unknown> = {};
        const form: Record<string, string> = { rating: stars === undefined || stars === null ? '' : String(stars) };
        const both = message !== undefined && opinion === 'same';
        for (const [field, value] of Object.entries({ name, email: address, message, opinion: both ? message : opinion })) {
          if (value === undefined) continue;
          json[field] = value;
          // A form sends text: a JSON null is a field left empty.
          if (field === 'name' || field === 'email' || value !== null) form[field] = value ?? '';
        }
        if (stars !== undefined) json.rating = stars;
        expect(validateFeedbackForm(form).ok).toBe(jsonAccepts(json));
      }),
      { numRuns: 4000 },
    );
  });
});
