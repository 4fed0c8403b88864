/**
 * Resumable uploads over tus 1.0 (core, creation, checksum, termination) at `/v1/uploads`.
 *
 * The upload's state (its URL on the server, the offset reached, where the bytes come from) is
 * stored after every step, so `resumeUploads()` after an app restart asks the server for its
 * offset (`HEAD`) and sends only the rest. Every chunk carries `Upload-Checksum: sha1 <base64>`.
 */
import { base64Decode, base64Encode, utf8Encode } from "./encoding.js";
import { FieldlineError, LocalStateError } from "./errors.js";
import type { Http, HttpResponse } from "./http.js";
import { uuidv4 } from "./ids.js";
import type { UserKeys } from "./keys.js";
import { sha1 } from "./sha1.js";
import { resolveUrl } from "./urls.js";
import type { StorageAdapter } from "./storage.js";

export const TUS_VERSION = "1.0.0";
export const UPLOADS_PATH = "/v1/uploads";

export type UploadKind = "visit_photo" | "receipt";

/** Reads files by path or URI (Node: `nodeFiles` from `@fieldline/client/node`; React Native: an
 * adapter over your file-system module). Needed only to upload by path. */
export interface FileSource {
  size(uri: string): Promise<number>;
  read(uri: string, offset: number, length: number): Promise<Uint8Array>;
}

/** A path/URI (read through the `FileSource`), or the bytes themselves (kept in storage until
 * the upload completes, so that it can resume after a restart). */
export type UploadSource = string | Uint8Array | ArrayBuffer | Blob;

export interface UploadOptions {
  filename?: string;
  contentType?: string;
}

export interface UploadState {
  id: string;
  kind: UploadKind;
  entityId: string;
  filename?: string;
  contentType?: string;
  size: number;
  /** Bytes the server has confirmed. */
  offset: number;
  /** The upload's URL on the server, once created. */
  url?: string;
  source: { type: "file"; uri: string } | { type: "bytes" };
  createdAt: string;
}

export interface ResumeResult {
  id: string;
  mediaId?: string | null;
  error?: unknown;
}

const MEDIA_ID_HEADERS = ["upload-media-id", "fieldline-media-id", "x-media-id", "media-id"];
const CHECKSUM_MISMATCH = 460;
const MAX_CHECKSUM_RETRIES = 3;

/** The media id the server reports for a completed upload, from a header or a JSON body. */
export function mediaIdFrom(res: HttpResponse): string | null {
  for (const h of MEDIA_ID_HEADERS) {
    const v = res.headers.get(h);
    if (v) return v;
  }
  const body = res.data;
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.media_id === "string") return b.media_id;
    if (typeof b.id === "string") return b.id;
  }
  return null;
}

export function encodeMetadata(meta: Record<string, string | undefined>): string {
  return Object.entries(meta)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k} ${base64Encode(utf8Encode(v))}`)
    .join(",");
}

export interface UploaderDeps {
  http: Http;
  storage: StorageAdapter;
  keys: () => UserKeys;
  files: FileSource | undefined;
  chunkSize: number;
  retry: <T>(fn: () => Promise<T>) => Promise<T>;
  now: () => number;
}

export class Uploader {
  private readonly active = new Set<string>();

  constructor(private readonly deps: UploaderDeps) {}

  /** Starts an upload and runs it to the end; returns the media id the server reported. */
  async upload(
    source: UploadSource,
    kind: UploadKind,
    entityId: string,
    opts: UploadOptions = {},
  ): Promise<string | null> {
    const { storage } = this.deps;
    const keys = this.deps.keys();
    const id = uuidv4();
    const base = {
      id,
      kind,
      entityId,
      offset: 0,
      createdAt: new Date(this.deps.now()).toISOString(),
      ...(opts.filename === undefined ? {} : { filename: opts.filename }),
      ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
    };
    let state: UploadState;
    if (typeof source === "string") {
      const files = this.requireFiles();
      state = { ...base, size: await files.size(source), source: { type: "file", uri: source } };
      await storage.set(keys.upload(id), JSON.stringify(state));
    } else {
      const bytes = await toBytes(source);
      state = { ...base, size: bytes.length, source: { type: "bytes" } };
      await storage.setMany({
        [keys.uploadBytes(id)]: base64Encode(bytes),
        [keys.upload(id)]: JSON.stringify(state),
      });
    }
    return this.run(state);
  }

  /** Uploads started and not finished (for example before the app was closed). */
  async pending(): Promise<UploadState[]> {
    const { storage } = this.deps;
    const keys = this.deps.keys();
    const out: UploadState[] = [];
    for (const key of await storage.keys(keys.uploadPrefix)) {
      const text = await storage.get(key);
      if (text !== null) out.push(JSON.parse(text) as UploadState);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Continues every unfinished upload from the server's offset. */
  async resume(): Promise<ResumeResult[]> {
    const results: ResumeResult[] = [];
    for (const state of await this.pending()) {
      if (this.active.has(state.id)) continue;
      try {
        results.push({ id: state.id, mediaId: await this.run(state) });
      } catch (error) {
        results.push({ id: state.id, error });
      }
    }
    return results;
  }

  /** Terminates an upload on the server (tus termination) and forgets it here. */
  async cancel(id: string): Promise<void> {
    const { storage, http } = this.deps;
    const keys = this.deps.keys();
    const text = await storage.get(keys.upload(id));
    if (text === null) return;
    const state = JSON.parse(text) as UploadState;
    if (state.url) {
      const url = state.url;
      await this.deps.retry(() =>
        http.request({ method: "DELETE", path: url, headers: { "tus-resumable": TUS_VERSION }, accept: [404, 410] }),
      );
    }
    await storage.deleteMany([keys.upload(id), keys.uploadBytes(id)]);
  }

  private requireFiles(): FileSource {
    if (!this.deps.files) {
      throw new LocalStateError("no_file_source", "uploading by path needs the `files` option (a FileSource)");
    }
    return this.deps.files;
  }

  private async run(state: UploadState): Promise<string | null> {
    if (this.active.has(state.id)) throw new LocalStateError("upload_running", `upload ${state.id} is already running`);
    this.active.add(state.id);
    try {
      return await this.transfer(state);
    } finally {
      this.active.delete(state.id);
    }
  }

  private async transfer(state: UploadState): Promise<string | null> {
    const read = await this.reader(state);
    if (state.url) await this.syncOffset(state);
    if (!state.url) await this.create(state);
    let mediaId: string | null = null;
    let checksumFailures = 0;
    while (state.offset < state.size) {
      const chunk = await read(state.offset, Math.min(this.deps.chunkSize, state.size - state.offset));
      const checksum = base64Encode(await sha1(chunk));
      const url = state.url!;
      const offset = state.offset;
      const res = await this.deps.retry(() =>
        this.deps.http.request({
          method: "PATCH",
          path: url,
          body: chunk,
          headers: {
            "tus-resumable": TUS_VERSION,
            "upload-offset": String(offset),
            "content-type": "application/offset+octet-stream",
            "upload-checksum": `sha1 ${checksum}`,
          },
          accept: [404, 409, 410, CHECKSUM_MISMATCH],
        }),
      );
      if (res.status === 404 || res.status === 410) {
        await this.create(state);
        continue;
      }
      if (res.status === 409) {
        await this.syncOffset(state);
        continue;
      }
      if (res.status === CHECKSUM_MISMATCH) {
        if (++checksumFailures >= MAX_CHECKSUM_RETRIES) {
          throw new FieldlineError(460, "checksum_mismatch", "the server kept refusing the chunk's checksum");
        }
        continue;
      }
      const next = Number(res.headers.get("upload-offset"));
      if (!Number.isInteger(next) || next <= offset || next > state.size) {
        throw new FieldlineError(res.status, "bad_upload_offset", `the server answered Upload-Offset ${String(next)}`);
      }
      mediaId = mediaIdFrom(res);
      await this.save({ ...state, offset: next });
      state.offset = next;
    }
    if (mediaId === null) mediaId = await this.completedMediaId(state);
    const keys = this.deps.keys();
    await this.deps.storage.deleteMany([keys.upload(state.id), keys.uploadBytes(state.id)]);
    return mediaId;
  }

  private async reader(state: UploadState): Promise<(offset: number, length: number) => Promise<Uint8Array>> {
    if (state.source.type === "file") {
      const files = this.requireFiles();
      const uri = state.source.uri;
      return (offset, length) => files.read(uri, offset, length);
    }
    const text = await this.deps.storage.get(this.deps.keys().uploadBytes(state.id));
    if (text === null) throw new LocalStateError("upload_bytes_missing", `the bytes of upload ${state.id} are gone`);
    const bytes = base64Decode(text);
    return async (offset, length) => bytes.subarray(offset, offset + length);
  }

  private async create(state: UploadState): Promise<void> {
    const res = await this.deps.retry(() =>
      this.deps.http.request({
        method: "POST",
        path: UPLOADS_PATH,
        headers: {
          "tus-resumable": TUS_VERSION,
          "upload-length": String(state.size),
          "upload-metadata": encodeMetadata({
            kind: state.kind,
            entity_id: state.entityId,
            filename: state.filename,
            content_type: state.contentType,
          }),
        },
      }),
    );
    const location = res.headers.get("location");
    if (!location) throw new FieldlineError(res.status, "bad_upload_location", "the server sent no Location");
    state.url = resolveUrl(this.deps.http.url(UPLOADS_PATH), location);
    state.offset = 0;
    await this.save(state);
  }

  /** Asks the server how far it got (`HEAD`); an upload the server no longer has starts over. */
  private async syncOffset(state: UploadState): Promise<void> {
    const url = state.url!;
    const res = await this.deps.retry(() =>
      this.deps.http.request({
        method: "HEAD",
        path: url,
        headers: { "tus-resumable": TUS_VERSION },
        accept: [404, 410],
      }),
    );
    if (res.status === 404 || res.status === 410) {
      delete state.url;
      state.offset = 0;
      await this.save(state);
      return;
    }
    const offset = Number(res.headers.get("upload-offset"));
    if (!Number.isInteger(offset) || offset < 0 || offset > state.size) {
      throw new FieldlineError(res.status, "bad_upload_offset", "HEAD answered no valid Upload-Offset");
    }
    state.offset = offset;
    await this.save(state);
  }

  private async completedMediaId(state: UploadState): Promise<string | null> {
    const url = state.url!;
    const res = await this.deps.retry(() =>
      this.deps.http.request({
        method: "HEAD",
        path: url,
        headers: { "tus-resumable": TUS_VERSION },
        accept: [404, 410],
      }),
    );
    return res.status < 300 ? mediaIdFrom(res) : null;
  }

  private async save(state: UploadState): Promise<void> {
    await this.deps.storage.set(this.deps.keys().upload(state.id), JSON.stringify(state));
  }
}

async function toBytes(source: Uint8Array | ArrayBuffer | Blob): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  return new Uint8Array(await source.arrayBuffer());
}
