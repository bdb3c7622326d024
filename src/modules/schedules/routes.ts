// Schedules over HTTP: admins create, replace and delete them; anyone may list them, as anyone may
// read a task. Only the jobs modules mark schedulable can be scheduled, with data their schema
// accepts: a schedule fires for months, so its mistakes must be refused when it is made.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext, SchedulableJob } from '../../app-context.js';
import { AppError, ErrorReply, notFound, validationError } from '../../errors.js';
import { fieldOfValidationError, validatorCompiler } from '../../http/validation.js';
import { InvalidScheduleError, type ScheduleSpec } from '../../infra/queue/contract.js';
import { ScheduleBody, ScheduleParams, ScheduleSchema, scheduleView } from './schedule-view.js';

const tags = ['schedules'];

type DataCheck = ((data: unknown) => boolean) & { errors?: { instancePath?: string; params?: Record<string, unknown>; message?: string }[] | null };

export function scheduleRoutes(app: App, ctx: AppContext): void {
  const jobs = [...ctx.schedulableJobs.values()];
  // Each job's data checked by the validator request bodies get (strict types, no unknown fields).
  const checks = new Map(jobs.map((job) => [job.name, validatorCompiler({ schema: job.data, method: 'POST', url: '/schedules', httpPart: 'body' }) as DataCheck]));
  const jobList = jobs.length ? jobs.map((job) => `\`${job.name}\` ${job.summary}`).join('; ') : 'none in this app';

  app.post('/schedules', {
    // the admin guard, before the body is checked: a caller without the key learns nothing of it
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Create or replace a schedule: a task made once per due time of a cron expression, however many workers run',
      description:
        `Schedulable jobs: ${jobList}. \`job.data\` is checked against the job's data (the fields of the route that makes such tasks). ` +
        'A bad expression, an unknown time zone, job name or data field answers 400 naming it (`cron`, `timezone`, `job.name`, `job.data.<field>`).',
      security: [{ apiKey: [] }],
      body: ScheduleBody,
      response: { 201: ScheduleSchema, 400: ErrorReply, 401: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const { id, cron, timezone, job } = request.body;
    const schedulable = ctx.schedulableJobs.get(job.name);
    if (!schedulable) throw validationError('job.name', `job.name: ${JSON.stringify(job.name)} cannot be scheduled; schedulable jobs: ${[...ctx.schedulableJobs.keys()].join(', ') || 'none'}`);
    const prepared = prepareJob(schedulable, checks.get(job.name)!, job.data ?? {}, request);
    const spec: ScheduleSpec = { cron, timezone: timezone ?? 'UTC', job: { name: job.name, data: prepared.data, ...(prepared.options ? { options: prepared.options } : {}) } };
    try {
      return reply.status(201).send(scheduleView(await ctx.queue.schedule(id, spec)));
    } catch (error) {
      if (error instanceof InvalidScheduleError) throw validationError(error.field, `${error.field}: ${error.message}`);
      throw error;
    }
  });

  app.get('/schedules', {
    schema: { tags, summary: 'Every schedule, with its next and last due times and how many tasks it has made', response: { 200: Type.Array(ScheduleSchema), 503: ErrorReply } },
  }, async () => (await ctx.queue.listSchedules()).map(scheduleView));

  app.delete('/schedules/:id', {
    preHandler: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Delete a schedule (the tasks it made are left alone)',
      security: [{ apiKey: [] }],
      params: ScheduleParams,
      response: { 204: Type.Null({ description: 'deleted' }), 401: ErrorReply, 404: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    if (!(await ctx.queue.unschedule(request.params.id))) throw notFound(`schedule ${request.params.id}`);
    return reply.status(204).send(null);
  });
}

/** The job's data checked against its schema and prepared by its module; 400 naming `job.data.<field>`. */
function prepareJob(job: SchedulableJob, check: DataCheck, data: unknown, request: FastifyRequest) {
  const dataField = (field: string | undefined) => (field ? `job.data.${field}` : 'job.data');
  if (!check(data)) {
    const first = check.errors?.[0] ?? {};
    const field = dataField(fieldOfValidationError(first, ''));
    throw validationError(field, `${field}: ${first.message ?? 'is invalid'}`);
  }
  try {
    return job.prepare ? job.prepare(data, request) : { data };
  } catch (error) {
    if (error instanceof AppError && error.code === 'validation_failed') {
      const field = dataField(typeof error.details.field === 'string' ? error.details.field : undefined);
      throw validationError(field, `${field}: ${error.message}`);
    }
    throw error;
  }
}
