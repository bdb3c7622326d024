// Webhooks over HTTP, for admins only: a webhook's URL and secret are ways into other systems.
import net from 'node:net';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, notFound, validationError } from '../../errors.js';
import { decideAddress } from '../../infra/net/address-policy.js';
import {
  CreateEndpointBody,
  CreatedEndpointSchema,
  DeliveriesQuery,
  DeliveryParams,
  DeliverySchema,
  EndpointParams,
  EndpointSchema,
  PingSchema,
  deliveryView,
  endpointView,
} from './schemas.js';
import { type WebhooksService, newEndpointId, newSecret } from './service.js';

const tags = ['webhooks'];
const security = [{ apiKey: [] }];

export function webhooksRoutes(app: App, ctx: AppContext, service: WebhooksService): void {
  const { store } = service;
  const endpointOr404 = async (id: string) => (await store.endpoint(id)) ?? throwNotFound(`webhook ${id}`);

  app.post('/webhooks', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Register a webhook: events are POSTed to the URL, signed per Standard Webhooks',
      description: 'Answers with the signing secret, generated when none is given; it is not shown again.',
      security,
      body: CreateEndpointBody,
      response: { 201: CreatedEndpointSchema, 400: ErrorReply, 401: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const url = checkedUrl(request.body.url, ctx.config.webhooks.allowPrivate);
    const secret = request.body.secret ?? newSecret();
    checkSecret(secret);
    const endpoint = { id: newEndpointId(), url: url.href, events: request.body.events, secret, enabled: true, disabledReason: null, createdAt: Date.now() };
    await store.createEndpoint(endpoint);
    await service.refreshInterest();
    return reply.status(201).send({ ...endpointView(endpoint), secret });
  });

  app.get('/webhooks', {
    preValidation: ctx.requireAdmin,
    schema: { tags, summary: 'Every webhook (without secrets)', security, response: { 200: Type.Array(EndpointSchema), 401: ErrorReply, 503: ErrorReply } },
  }, async () => (await store.endpoints()).map(endpointView));

  app.get('/webhooks/:id', {
    preValidation: ctx.requireAdmin,
    schema: { tags, summary: 'One webhook (without its secret)', security, params: EndpointParams, response: { 200: EndpointSchema, 401: ErrorReply, 404: ErrorReply, 503: ErrorReply } },
  }, async (request) => endpointView(await endpointOr404(request.params.id)));

  app.delete('/webhooks/:id', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Delete a webhook with its deliveries: nothing more is sent to it',
      security,
      params: EndpointParams,
      response: { 204: Type.Null({ description: 'deleted' }), 401: ErrorReply, 404: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    if (!(await store.deleteEndpoint(request.params.id))) throw notFound(`webhook ${request.params.id}`);
    await service.refreshInterest();
    return reply.status(204).send(null);
  });

  app.post('/webhooks/:id/test', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Send a `ping` event to this webhook (a delivery like any other: retried, listed)',
      security,
      params: EndpointParams,
      response: { 202: PingSchema, 401: ErrorReply, 404: ErrorReply, 409: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const endpoint = await endpointOr404(request.params.id);
    if (!endpoint.enabled) throw disabled(endpoint.disabledReason);
    const delivery = await service.ping(endpoint);
    return reply.status(202).send({ delivery_id: delivery.id, event_id: delivery.event_id });
  });

  app.get('/webhooks/:id/deliveries', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: "A webhook's deliveries, newest first, each with its attempts (status code, duration, first 1 KiB of the answer)",
      security,
      params: EndpointParams,
      querystring: DeliveriesQuery,
      response: { 200: Type.Array(DeliverySchema), 400: ErrorReply, 401: ErrorReply, 404: ErrorReply, 503: ErrorReply },
    },
  }, async (request) => {
    await endpointOr404(request.params.id);
    return (await store.deliveries(request.params.id, request.query.limit ?? 50, request.query.state)).map(deliveryView);
  });

  app.post('/webhooks/:id/deliveries/:delivery/retry', {
    preValidation: ctx.requireAdmin,
    schema: {
      tags,
      summary: 'Send a delivery again now (a dead one too); it goes on with the retry schedule if it fails',
      security,
      params: DeliveryParams,
      response: { 202: Type.Object({ delivery_id: Type.String() }), 401: ErrorReply, 404: ErrorReply, 409: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const endpoint = await endpointOr404(request.params.id);
    const delivery = await store.delivery(request.params.delivery);
    if (!delivery || delivery.endpoint_id !== endpoint.id) throw notFound(`delivery ${request.params.delivery} of webhook ${endpoint.id}`);
    if (!endpoint.enabled) throw disabled(endpoint.disabledReason);
    await service.retryNow(delivery);
    return reply.status(202).send({ delivery_id: delivery.id });
  });
}

function throwNotFound(what: string): never {
  throw notFound(what);
}

const disabled = (reason: string | null) => new AppError('conflict', `the webhook is disabled (${reason ?? 'no reason recorded'}): register it again to send to it`);

/** http or https, and an address literal must pass the SSRF policy now (names are checked at connect time). */
function checkedUrl(text: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw validationError('url', 'url: is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw validationError('url', 'url: only http and https URLs are allowed');
  if (url.username || url.password) throw validationError('url', 'url: must not carry a user name or password');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) {
    const decision = decideAddress(host, { allowPrivate });
    if (!decision.allowed) throw validationError('url', `url: ${decision.reason} (set WORKYARD_WEBHOOKS_ALLOW_PRIVATE=true to allow it)`);
  }
  return url;
}

/** Standard Webhooks: `whsec_` and base64 of 24 to 64 bytes. */
function checkSecret(secret: string): void {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  const bytes = match ? Buffer.from(match[1], 'base64').length : 0;
  if (bytes < 24 || bytes > 64) throw validationError('secret', 'secret: expected `whsec_` followed by base64 of 24 to 64 bytes (leave it out to have one generated)');
}
