// Who may do what with a resumable upload: the one place that decides, called before the tus
// server sees a request. It is given the blob key the upload lands as, so that a rule by key
// (scoped write tokens) plugs in here and covers creation, every PATCH and termination alike.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.js';
import type { BlobAccess } from './blob-access.js';

/** create: POST /uploads; resume: HEAD or PATCH of an upload; terminate: DELETE of an upload */
export type UploadAction = 'create' | 'resume' | 'terminate';

export interface UploadAccessRequest {
  action: UploadAction;
  /** the blob key the upload lands as (from its Upload-Metadata) */
  key: string;
}

/**
 * Throws an AppError (401/403) when the request may not do this. The blob routes' own rule:
 * creating and resuming an upload is writing the key (WORKYARD_BLOBS_WRITE_ACCESS, as PUT
 * /blobs/{key}); terminating one discards it, which like DELETE /blobs/{key} needs the API key
 * when one is set.
 */
export async function authorizeUpload(ctx: AppContext, blobAccess: BlobAccess, request: FastifyRequest, reply: FastifyReply, access: UploadAccessRequest): Promise<void> {
  if (access.action === 'terminate') await ctx.requireAdmin(request, reply);
  else await blobAccess.authorize(request, reply, 'write', access.key);
}
