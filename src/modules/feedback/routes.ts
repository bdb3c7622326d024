// The feedback module's HTTP surface: the home page, the feedback page (HTML, or JSON by Accept or
// at /feedback.json), and the two post routes, each answering a JSON client in JSON and a browser
// form with a redirect or the page again.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app-context.js';
import { errorHandler } from '../../http/error-handler.js';
import { formPostGuard, isCsrfError, readCookies, registerFormCsrf } from './csrf.js';
import { IDEMPOTENCY_HEADER, KeyInProgressError, MAX_KEY_LENGTH, REPLAYED_HEADER, type RecordedAnswer, fingerprintOf, idempotencyKeyOf } from './idempotency.js';
import { JSON_TYPE, mediaTypeOf, prefersJson } from './request-kind.js';
import type { FeedbackService, KeyedOutcome, KeyedPost } from './service.js';
import { PAGE_SIZE } from './store.js';
import { type FeedbackJson, FeedbackFormBody, FeedbackJsonBody, type FeedbackInput, type FormValues, inputFromJson, validateFeedbackForm } from './validation.js';
import { type FeedbackPageModel, type FormKind, feedbackPage } from './views/feedback-page.js';
import { homePage } from './views/home-page.js';
import { sendPage } from './views/layout.js';

/** 64 KiB: the largest valid submission (5,000 four-byte characters, percent-encoded) still fits. */
export const BODY_LIMIT = 64 * 1024;

const ErrorSchema = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) }, { additionalProperties: true }) });

const PageQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: `${PAGE_SIZE} entries a page, newest first` }),
  saved: Type.Optional(Type.String({ format: 'uuid', description: 'shows the notice that this entry was saved' })),
  queued: Type.Optional(Type.String({ format: 'uuid', description: 'shows the notice that this task was queued' })),
});

const FeedbackList = Type.Object({
  page: Type.Integer(),
  per_page: Type.Integer(),
  next_page: Type.Union([Type.Integer(), Type.Null()]),
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      rating: Type.Union([Type.Integer(), Type.Null()]),
      message: Type.String(),
      via: Type.Union([Type.Literal('sync'), Type.Literal('queued')]),
      created_at: Type.String({ format: 'date-time' }),
    }),
  ),
});

const postBody = {
  content: {
    'application/json': { schema: FeedbackJsonBody },
    'application/x-www-form-urlencoded': { schema: FeedbackFormBody },
  },
};

// Checked by idempotencyKeyOf before anything else (400 naming the header); the schema documents it.
const PostHeaders = Type.Object({
  [IDEMPOTENCY_HEADER]: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        `optional, 1–${MAX_KEY_LENGTH} printable ASCII characters (bare or as a quoted string): a retry with the same key and the same ` +
        'submission gets the first answer again (with `Idempotent-Replayed: true`) and saves or queues nothing; keys are kept a day (WORKYARD_FEEDBACK_IDEMPOTENCY_KEY_RETENTION_MS)',
    }),
  ),
});

const postErrors = {
  400: ErrorSchema,
  403: Type.String({ description: 'form posts only: the page again (HTML), the CSRF token was missing or wrong' }),
  409: Type.Object(ErrorSchema.properties, { description: 'conflict: a request with this Idempotency-Key is still being processed (Retry-After: 1)' }),
  413: ErrorSchema,
  415: ErrorSchema,
  422: Type.Object(ErrorSchema.properties, { description: 'idempotency_key_reused: this Idempotency-Key came with a different submission' }),
  503: ErrorSchema,
};

type PageQueryValue = { page: number; saved?: string; queued?: string };

export async function feedbackRoutes(app: App, service: FeedbackService): Promise<void> {
  await registerFormCsrf(app);

  async function renderFeedbackPage(reply: FastifyReply, status: number, model: Omit<FeedbackPageModel, 'entries' | 'hasNext' | 'csrfToken'>) {
    const { entries, hasNext } = await service.store.page(model.page);
    // the token is derived from the secret in the visitor's cookie (a new secret when there is none)
    readCookies(app, reply.request);
    const csrfToken = reply.generateCsrf();
    return sendPage(reply, status, 'Feedback', feedbackPage({ ...model, entries, hasNext, csrfToken }));
  }

  async function listJson(page: number) {
    const { entries, hasNext } = await service.store.page(page);
    return {
      page,
      per_page: PAGE_SIZE,
      next_page: hasNext ? page + 1 : null,
      items: entries.map((e) => ({ id: e.id, name: e.name, rating: e.rating, message: e.message, via: e.via, created_at: new Date(e.createdAt).toISOString() })),
    };
  }

  // A form post with a missing or wrong token is shown the page again (a browser user sees why and
  // can press the button again, with what they typed kept); every other error keeps the JSON shape.
  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (!isCsrfError(error)) return errorHandler(error, request, reply);
    try {
      const form = formKindOf(request);
      const values = keptValues(request.body);
      return await renderFeedbackPage(reply, 403, {
        page: 1,
        alert: 'Your feedback was not saved: the form had expired or did not come from this site. Please send it again.',
        posted: { form, values, errors: {} },
      });
    } catch (renderError) {
      return errorHandler(renderError as FastifyError, request, reply);
    }
  });

  app.get('/', { schema: { tags: ['feedback'], summary: 'Home page: links to every part of Workyard (HTML)' } }, async (_request, reply) =>
    sendPage(reply, 200, 'Home', homePage()),
  );

  app.get('/feedback', {
    schema: {
      tags: ['feedback'],
      summary: 'The feedback page: both forms and the saved feedback (HTML; JSON with Accept: application/json)',
      querystring: PageQuery,
    },
  }, async (request, reply) => {
    const query = request.query as PageQueryValue;
    reply.header('vary', 'accept');
    if (prefersJson(request.headers.accept)) return reply.type('application/json; charset=utf-8').send(await listJson(query.page));
    const notice = query.saved ? { kind: 'saved' as const, id: query.saved } : query.queued ? { kind: 'queued' as const, id: query.queued } : undefined;
    return renderFeedbackPage(reply, 200, { page: query.page, notice });
  });

  app.get('/feedback.json', {
    schema: { tags: ['feedback'], summary: `Saved feedback, newest first, ${PAGE_SIZE} a page`, querystring: PageQuery, response: { 200: FeedbackList, 400: ErrorSchema, 503: ErrorSchema } },
  }, async (request) => listJson((request.query as PageQueryValue).page));

  const guard = formPostGuard(app);

  /**
   * Both post routes: JSON clients get JSON, a form gets a 303 to the page or the page again with
   * its errors. With an Idempotency-Key the answer is recorded, and a retry gets it again.
   */
  function postRoute(
    form: FormKind,
    save: (input: FeedbackInput) => Promise<string>,
    saveOnce: (input: FeedbackInput, post: KeyedPost, answerFor: (id: string) => RecordedAnswer) => Promise<KeyedOutcome>,
    jsonAnswer: (id: string) => RecordedAnswer,
    notice: 'saved' | 'queued',
  ) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const key = idempotencyKeyOf(request.headers);
      const json = mediaTypeOf(request) === JSON_TYPE;
      let input: FeedbackInput;
      if (json) {
        if (request.validationError) throw request.validationError;
        input = inputFromJson(request.body as FeedbackJson);
      } else {
        const check = validateFeedbackForm(request.body);
        if (!check.ok) return renderFeedbackPage(reply, 400, { page: 1, posted: { form, values: check.values, errors: check.errors } });
        input = check.input;
      }
      const answerFor = (id: string): RecordedAnswer => (json ? jsonAnswer(id) : { status: 303, location: `/feedback?${notice}=${id}` });
      if (key === undefined) return sendAnswer(reply, answerFor(await save(input)));
      try {
        const outcome = await saveOnce(input, { key, fingerprint: fingerprintOf(`POST /feedback/${form}`, input) }, answerFor);
        if (outcome.replayed) reply.header(REPLAYED_HEADER, 'true');
        return sendAnswer(reply, outcome.answer);
      } catch (error) {
        if (error instanceof KeyInProgressError) reply.header('retry-after', '1');
        throw error;
      }
    };
  }

  app.post('/feedback/sync', {
    bodyLimit: BODY_LIMIT,
    attachValidation: true,
    preHandler: guard,
    schema: {
      tags: ['feedback'],
      summary: 'Save feedback in the request: JSON → 201 {id}; form → 303 to /feedback (or the page with errors, 400)',
      headers: PostHeaders,
      body: postBody,
      response: { 201: Type.Object({ id: Type.String() }), 303: Type.Null({ description: 'form posts: saved, see /feedback' }), ...postErrors },
    },
  }, postRoute('sync', (input) => service.saveNow(input), (...args) => service.saveNowOnce(...args), (id) => ({ status: 201, body: { id } }), 'saved'));

  app.post('/feedback/async', {
    bodyLimit: BODY_LIMIT,
    attachValidation: true,
    preHandler: guard,
    schema: {
      tags: ['feedback'],
      summary: 'Queue a save job: JSON → 202 {task_id} (see /tasks/{id}); form → 303 to /feedback (or the page with errors, 400)',
      headers: PostHeaders,
      body: postBody,
      response: { 202: Type.Object({ task_id: Type.String() }), 303: Type.Null({ description: 'form posts: queued, see /feedback' }), ...postErrors },
    },
  }, postRoute('async', (input) => service.enqueueFeedbackSave(input), (...args) => service.enqueueOnce(...args), (id) => ({ status: 202, body: { task_id: id }, location: `/tasks/${id}` }), 'queued'));
}

/** An answer as recorded: a JSON body, or a form's redirect (no body). */
function sendAnswer(reply: FastifyReply, answer: RecordedAnswer): FastifyReply {
  if (answer.location) reply.header('location', answer.location);
  reply.status(answer.status);
  return 'body' in answer ? reply.send(answer.body) : reply.send();
}

function formKindOf(request: FastifyRequest): FormKind {
  return request.routeOptions.url === '/feedback/async' ? 'async' : 'sync';
}

/** What a refused form carried, to put back in its fields (only single text values). */
function keptValues(body: unknown): FormValues {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : '');
  return { name: text('name'), email: text('email'), message: text('message'), rating: text('rating') };
}
