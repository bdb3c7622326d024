// The HTTP shapes of webhooks: what /docs shows and what requests are checked against.
import { Type } from 'typebox';
import type { AttemptRow, DeliveryRow, Endpoint } from './store.js';

/** Every event a webhook can subscribe to (`ping` is sent by POST /webhooks/{id}/test alone). */
export const EVENT_TYPES = ['feedback.saved', 'task.completed', 'task.failed', 'harvest.done', 'blob.stored'] as const;

export const EndpointParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'the webhook id (`ep_…`)' }) });
export const DeliveryParams = Type.Object({ id: EndpointParams.properties.id, delivery: Type.String({ minLength: 1, maxLength: 64, description: 'the delivery id (`dlv_…`)' }) });

export const CreateEndpointBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'where events are POSTed (http or https); its addresses must be public unless WORKYARD_WEBHOOKS_ALLOW_PRIVATE=true' }),
    events: Type.Array(Type.Union(EVENT_TYPES.map((type) => Type.Literal(type))), { minItems: 1, uniqueItems: true, description: 'the event types to send' }),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a Standard Webhooks secret (`whsec_` + base64 of 24 to 64 bytes); generated when not given' })),
  },
  { additionalProperties: false },
);

const EndpointFields = {
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean({ description: 'false once the endpoint answered 410 Gone: nothing more is sent to it' }),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.Integer({ description: 'epoch ms' }),
};
export const EndpointSchema = Type.Object(EndpointFields);
export const CreatedEndpointSchema = Type.Object({ ...EndpointFields, secret: Type.String({ description: 'the signing secret: shown this once' }) });

export const DeliveriesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('dead')])),
  },
  { additionalProperties: false },
);

const AttemptSchema = Type.Object({
  attempt: Type.Integer(),
  started_at: Type.Integer({ description: 'epoch ms' }),
  duration_ms: Type.Integer(),
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no HTTP answer (see error)' }),
  response: Type.Union([Type.String(), Type.Null()], { description: 'the first 1 KiB of the answer' }),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const DeliverySchema = Type.Object({
  id: Type.String(),
  event_id: Type.String({ description: 'the webhook-id header: the same on every attempt' }),
  event_type: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('dead')], { description: 'dead: every attempt failed (or the endpoint answered 410)' }),
  attempts: Type.Integer(),
  next_attempt_at: Type.Union([Type.Integer(), Type.Null()], { description: 'epoch ms, while pending' }),
  last_status: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.Integer(),
  history: Type.Array(AttemptSchema, { description: 'every attempt, oldest first' }),
});

export const PingSchema = Type.Object({ delivery_id: Type.String(), event_id: Type.String() });

export function endpointView(endpoint: Endpoint) {
  return { id: endpoint.id, url: endpoint.url, events: endpoint.events, enabled: endpoint.enabled, disabled_reason: endpoint.disabledReason, created_at: endpoint.createdAt };
}

export function deliveryView(row: DeliveryRow & { attemptRows: AttemptRow[] }) {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    state: row.state,
    attempts: Number(row.attempts),
    next_attempt_at: row.state === 'pending' && row.next_attempt_at !== null ? Number(row.next_attempt_at) : null,
    last_status: row.last_status,
    created_at: Number(row.created_at),
    history: row.attemptRows.map((a) => ({ attempt: a.attempt, started_at: Number(a.started_at), duration_ms: a.duration_ms, status_code: a.status_code, response: a.response, error: a.error })),
  };
}
