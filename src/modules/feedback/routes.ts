// The feedback module's HTTP surface: the home page, the feedback page (HTML, or JSON by Accept or
// at /feedback.json), and the two post routes, each answering a JSON client in JSON and a browser
// form with a redirect or the page again.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { apiKeyCheck } from '../../http/auth.js';
import { keptSecret } from '../../infra/db/kept-secret.js';
import { ErrorReply } from '../../errors.js';
import { isJsonMediaType, mediaTypeOf, prefersJson, wantsHtmlPage } from '../../http/client-kind.js';
import { errorHandler, toAppError } from '../../http/error-handler.js';
import { sendPage } from '../../http/page.js';
import { TaskOptionFields, splitTaskOptions } from '../../http/task-options.js';
import type { EnqueueOptions } from '../../infra/queue/contract.js';
import { formPostGuard, isCsrfError, readCookies, registerFormCsrf } from './csrf.js';
import { BODY_LIMIT, FORM_READ_LIMIT, FormTooLargeError, registerFeedbackBodyParsers } from './form-body.js';
import { IDEMPOTENCY_HEADER, KeyInProgressError, MAX_KEY_LENGTH, REPLAYED_HEADER, type RecordedAnswer, fingerprintOf, idempotencyKeyOf } from './idempotency.js';
import { feedbackExportRoutes } from './export-routes.js';
import { FormPostLimit } from './form-post-limit.js';
import type { FeedbackService, KeyedOutcome, KeyedPost } from './service.js';
import { type SpamRules, fillToken, newFormSecret, spamReason } from './spam-rules.js';
import { PAGE_SIZE } from './store.js';
import { type FeedbackJson, FeedbackFormBody, FeedbackJsonBody, type FeedbackInput, type FormValues, inputFromJson, validateFeedbackForm } from './validation.js';
import { type FeedbackPageModel, type FormKind, feedbackPage } from './views/feedback-page.js';
import { homePage } from './views/home-page.js';

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

// JSON clients may say when and how the save job runs; the form does not offer it.
const FeedbackAsyncJsonBody = Type.Object({ ...FeedbackJsonBody.properties, ...TaskOptionFields }, {
  additionalProperties: false,
  anyOf: (FeedbackJsonBody as { anyOf?: unknown[] }).anyOf,
});
const asyncPostBody = { content: { ...postBody.content, 'application/json': { schema: FeedbackAsyncJsonBody } } };

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
  400: ErrorReply,
  403: { description: 'form posts only: the page again (HTML), the CSRF token was missing or wrong', content: { 'text/html': { schema: Type.String() } } },
  409: { ...ErrorReply, description: 'conflict: a request with this Idempotency-Key is still being processed (Retry-After: 1)' },
  413: ErrorReply,
  415: ErrorReply,
  422: { ...ErrorReply, description: 'idempotency_key_reused: this Idempotency-Key came with a different submission' },
  429: { description: 'form posts: the page again (HTML, Retry-After), more than WORKYARD_FORM_RATE_LIMIT posts a minute came from this address', content: { 'text/html': { schema: Type.String() } } },
  503: ErrorReply,
};

type PageQueryValue = { page: number; saved?: string; queued?: string };
/** What a route says of the page; the list and the form tokens are added by renderFeedbackPage. */
type PageModel = Omit<FeedbackPageModel, 'entries' | 'hasNext' | 'csrfToken' | 'fillToken'>;

const ListQuery = Type.Object({
  ...PageQuery.properties,
  spam: Type.Boolean({ default: false, description: 'true: the posts the spam rules marked (needs the API key when one is set)' }),
});

export async function feedbackRoutes(app: App, service: FeedbackService, ctx: AppContext): Promise<void> {
  await registerFormCsrf(app);
  await registerFeedbackBodyParsers(app);
  const { forms } = ctx.config;
  const spamRules: SpamRules = { secret: forms.secret ?? (await keptSecret(ctx.database, 'feedback_form_secrets', newFormSecret)), minFillMs: forms.minFillMs, maxAgeMs: forms.maxAgeMs };
  const postLimit = new FormPostLimit(ctx.database, forms.postsPerMinute);
  const presentsApiKey = apiKeyCheck(ctx.config.apiKey);

  async function renderFeedbackPage(reply: FastifyReply, status: number, model: PageModel) {
    const { entries, hasNext } = await service.store.page(model.page);
    // the token is derived from the secret in the visitor's cookie (a new secret when there is none)
    readCookies(app, reply.request);
    const csrfToken = reply.generateCsrf();
    return sendPage(reply, status, 'Feedback', feedbackPage({ ...model, entries, hasNext, csrfToken, fillToken: fillToken(spamRules.secret) }));
  }

  async function listJson(page: number, spam = false) {
    const { entries, hasNext } = await service.store.page(page, PAGE_SIZE, spam);
    return {
      page,
      per_page: PAGE_SIZE,
      next_page: hasNext ? page + 1 : null,
      items: entries.map((e) => ({ id: e.id, name: e.name, rating: e.rating, message: e.message, via: e.via, created_at: new Date(e.createdAt).toISOString() })),
    };
  }

  // A browser is shown the feedback page again rather than an error page: a form post with a
  // missing or wrong token (the person sees why and can press the button again), one too large,
  // or a bad page number, each with what was typed kept. Everything else, and every JSON client,
  // goes to the one error handler (a generic error page, or the JSON shape).
  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const page = isCsrfError(error) || wantsHtmlPage(request) ? feedbackErrorPage(error, request) : undefined;
    if (!page) return errorHandler(error, request, reply);
    try {
      return await renderFeedbackPage(reply, page.status, page.model);
    } catch (renderError) {
      // the page itself cannot be shown (its database is down): the error page says why
      return errorHandler(renderError as FastifyError, request, reply);
    }
  });

  /** The feedback page that shows an error, or undefined when it is not an error this page explains. */
  function feedbackErrorPage(error: FastifyError, request: FastifyRequest): { status: number; model: PageModel } | undefined {
    const form = formKindOf(request);
    if (isCsrfError(error)) {
      return {
        status: 403,
        model: { page: 1, alert: 'Your feedback was not saved: the form had expired or did not come from this site. Please send it again.', posted: form && { form, values: keptValues(request.body), errors: {} } },
      };
    }
    const appError = toAppError(error);
    if (form && appError.code === 'payload_too_large') {
      const fields = error instanceof FormTooLargeError ? error.fields : undefined;
      const check = fields ? validateFeedbackForm(fields) : undefined;
      const kept = fields
        ? 'What you typed is below; please shorten it and send it again.'
        : isJsonMediaType(mediaTypeOf(request))
          ? 'Please send a shorter one.'
          : `It was over ${FORM_READ_LIMIT / 1024 / 1024} MiB, too large even to show again here; please send a shorter one.`;
      return {
        status: 413,
        model: {
          page: 1,
          alert: `Your feedback was not saved: it is larger than this form accepts (${BODY_LIMIT / 1024} KiB in all). ${kept}`,
          posted: { form, values: check && !check.ok ? check.values : keptValues(fields), errors: check && !check.ok ? check.errors : {} },
        },
      };
    }
    if (!form && appError.statusCode === 400 && request.routeOptions.url === '/feedback') {
      return { status: 400, model: { page: 1, alert: `This page address is not valid: ${appError.message}. Shown instead: the first page.` } };
    }
    return undefined;
  }

  app.get('/', { config: { htmlPage: true }, schema: { tags: ['feedback'], summary: 'Home page: links to every part of Workyard (HTML)' } }, async (_request, reply) =>
    sendPage(reply, 200, 'Home', homePage()),
  );

  app.get('/feedback', {
    config: { htmlPage: true },
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
    // the spam view is the admin's: the key is checked before the query is
    preValidation: async (request, reply) => {
      if (String((request.query as Record<string, unknown>).spam) === 'true') await ctx.requireAdmin(request, reply);
    },
    schema: {
      tags: ['feedback'],
      summary: `Saved feedback, newest first, ${PAGE_SIZE} a page (?spam=true: what the spam rules marked, admin)`,
      querystring: ListQuery,
      response: { 200: FeedbackList, 400: ErrorReply, 401: ErrorReply, 503: ErrorReply },
    },
  }, async (request) => {
    const query = request.query as PageQueryValue & { spam: boolean };
    return listJson(query.page, query.spam);
  });

  feedbackExportRoutes(app, service, ctx);

  const guard = formPostGuard(app);

  /**
   * Both post routes: JSON clients get JSON, a form gets a 303 to the page or the page again with
   * its errors. With an Idempotency-Key the answer is recorded, and a retry gets it again.
   */
  function postRoute(
    form: FormKind,
    save: (input: FeedbackInput, options: EnqueueOptions, spam: boolean) => Promise<string>,
    saveOnce: (input: FeedbackInput, post: KeyedPost, answerFor: (id: string) => RecordedAnswer, options: EnqueueOptions, spam: boolean) => Promise<KeyedOutcome>,
    jsonAnswer: (id: string) => RecordedAnswer,
    notice: 'saved' | 'queued',
  ) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const key = idempotencyKeyOf(request.headers);
      const json = isJsonMediaType(mediaTypeOf(request));
      let input: FeedbackInput;
      let options: EnqueueOptions = {};
      let spam = false;
      if (json) {
        if (request.validationError) throw request.validationError;
        // only /feedback/async's schema lets task options through
        const split = splitTaskOptions(request.body as FeedbackJson);
        options = split.options;
        input = inputFromJson(split.rest);
      } else {
        if (postLimit.enabled && !presentsApiKey(request)) {
          const verdict = await postLimit.hit(request.ip);
          if (!verdict.allowed) {
            reply.header('retry-after', String(verdict.retryAfterS));
            const alert = `Your feedback was not saved: this address sent more than ${postLimit.postsPerMinute} posts in a minute. Please send it again in ${verdict.retryAfterS} s.`;
            return renderFeedbackPage(reply, 429, { page: 1, alert, posted: { form, values: keptValues(request.body), errors: {} } });
          }
        }
        const check = validateFeedbackForm(request.body);
        if (!check.ok) return renderFeedbackPage(reply, 400, { page: 1, posted: { form, values: check.values, errors: check.errors } });
        input = check.input;
        const reason = spamReason(request.body as Record<string, unknown>, spamRules);
        // answered like any other post: only the log and the admin's view tell
        if (reason) request.log.info({ spam: reason, form }, 'feedback form post marked as spam');
        spam = reason !== null;
      }
      const answerFor = (id: string): RecordedAnswer => (json ? jsonAnswer(id) : { status: 303, location: `/feedback?${notice}=${id}` });
      if (key === undefined) return sendAnswer(reply, answerFor(await save(input, options, spam)));
      try {
        const outcome = await saveOnce(input, { key, fingerprint: fingerprintOf(`POST /feedback/${form}`, input, options) }, answerFor, options, spam);
        if (outcome.replayed) reply.header(REPLAYED_HEADER, 'true');
        return sendAnswer(reply, outcome.answer);
      } catch (error) {
        if (error instanceof KeyInProgressError) reply.header('retry-after', '1');
        throw error;
      }
    };
  }

  // Body limits: form-body.ts (64 KiB, read by type).
  app.post('/feedback/sync', {
    attachValidation: true,
    preHandler: guard,
    schema: {
      tags: ['feedback'],
      summary: 'Save feedback in the request: JSON → 201 {id}; form → 303 to /feedback (or the page with errors, 400)',
      headers: PostHeaders,
      body: postBody,
      response: { 201: Type.Object({ id: Type.String() }), 303: Type.Null({ description: 'form posts: saved, see /feedback' }), ...postErrors },
    },
  }, postRoute('sync', (input, _options, spam) => service.saveNow(input, spam), (input, post, answerFor, _options, spam) => service.saveNowOnce(input, post, answerFor, spam), (id) => ({ status: 201, body: { id } }), 'saved'));

  app.post('/feedback/async', {
    attachValidation: true,
    preHandler: guard,
    schema: {
      tags: ['feedback'],
      summary: 'Queue a save job: JSON → 202 {task_id} (see /tasks/{id}); form → 303 to /feedback (or the page with errors, 400)',
      description: 'JSON posts may add run_at or run_in_ms, priority, timeout_ms, key and key_mode: when and how the save job runs (see the Queue section of the README).',
      headers: PostHeaders,
      body: asyncPostBody,
      response: { 202: Type.Object({ task_id: Type.String() }), 303: Type.Null({ description: 'form posts: queued, see /feedback' }), ...postErrors },
    },
  }, postRoute('async', (input, options, spam) => service.enqueueFeedbackSave(input, options, spam), (...args) => service.enqueueOnce(...args), (id) => ({ status: 202, body: { task_id: id }, location: `/tasks/${id}` }), 'queued'));
}

/** An answer as recorded: a JSON body, or a form's redirect (no body). */
function sendAnswer(reply: FastifyReply, answer: RecordedAnswer): FastifyReply {
  if (answer.location) reply.header('location', answer.location);
  reply.status(answer.status);
  return 'body' in answer ? reply.send(answer.body) : reply.send();
}

/** Which form a post came from; undefined for the pages. */
function formKindOf(request: FastifyRequest): FormKind | undefined {
  if (request.routeOptions.url === '/feedback/async') return 'async';
  if (request.routeOptions.url === '/feedback/sync') return 'sync';
  return undefined;
}

/** What a refused form carried, to put back in its fields (only single text values). */
function keptValues(body: unknown): FormValues {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : '');
  // The seed's forms call the message `opinion`: refill it into the one message field.
  return { name: text('name'), email: text('email'), message: text('message') || text('opinion'), rating: text('rating') };
}
