/**
 * Content-addressed weights: the blob store, zip helpers, framework guessing and local copies
 * of remote weights.
 *
 * @module
 */

export { type BlobInfo, BlobStore, isSha256Hex, sha256File } from "./blobs.ts";
export { commonBase, extractZip, listFolderFiles, zipFiles } from "./zip.ts";
export { FRAMEWORKS, guessFramework } from "./framework.ts";
export { downloadToCache, fileUriToPath, pathToFileUri } from "./remote.ts";
