/** `@fieldline/client`: offline-first Fieldline SDK for React Native and the web (fetch only). */
export { FieldlineClient, type FieldlineClientOptions, type EntityFields, type StartOptions } from "./client.js";
export { MemoryStorage, type StorageAdapter } from "./storage.js";
export { FieldlineError, NetworkError, AuthExpired, NotLoggedIn, LocalStateError, type Problem } from "./errors.js";
export { HybridClock, formatStamp, parseStamp, type Stamp } from "./hlc.js";
export { uuidv7, uuidv4 } from "./ids.js";
export { DEFAULT_RETRY, backoffDelay, type RetryPolicy } from "./retry.js";
export type { FetchLike, RequestOptions, HttpResponse } from "./http.js";
export type { ConflictEvent, SyncReport, EntityRef } from "./sync.js";
export type { FileSource, UploadSource, UploadOptions, UploadKind, UploadState, ResumeResult } from "./tus.js";
export type { Mutation, MutationResult, FieldConflict, ResultError, Change } from "./wire.js";
export * from "./models.js";
