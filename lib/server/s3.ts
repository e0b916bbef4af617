/**
 * `serve --blobs s3://bucket/prefix`: the server's blobs in an S3-compatible service, with the
 * state of uploads in progress in the server's database (so any instance continues them).
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { DbUploadStateStore } from "../store/upload_states.ts";
import { S3BlobStore } from "../weights/s3_blobs.ts";
import { S3OffsetUploads } from "../weights/s3_uploads.ts";

/** Whether a `--blobs` value names an S3 location. */
export function isS3Url(blobs: string | undefined): blobs is string {
  return typeof blobs === "string" && /^s3:\/\//i.test(blobs);
}

/** The blob routes' store over S3 for a server's options (endpoint, region, AWS variables). */
export function s3Blobs(
  store: Store,
  options: { blobs?: string; s3Endpoint?: string; s3Region?: string },
): S3OffsetUploads {
  const states = new DbUploadStateStore(store);
  const s3 = new S3BlobStore({
    url: options.blobs!,
    ...(options.s3Endpoint !== undefined ? { endpoint: options.s3Endpoint } : {}),
    ...(options.s3Region !== undefined ? { region: options.s3Region } : {}),
    uploadStates: states,
  });
  return new S3OffsetUploads(s3, states);
}
