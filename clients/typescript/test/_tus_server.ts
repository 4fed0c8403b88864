/**
 * A small tus 1.0 server (core, creation, checksum with sha1, termination) written from the
 * protocol text, to test the client's protocol handling in isolation. It also answers sign-in,
 * since the SDK uploads as a signed-in user.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface TusUpload {
  id: string;
  length: number;
  offset: number;
  chunks: Buffer[];
  metadata: Record<string, string>;
  mediaId?: string;
}

export class TusServer {
  readonly uploads = new Map<string, TusUpload>();
  readonly log: string[] = [];
  /** Bytes accepted by PATCH, over all uploads (to prove nothing was sent twice). */
  received = 0;
  /** Answer the next N PATCHes with 460 as if their checksum did not match. */
  corruptNext = 0;
  private server: Server | undefined;
  baseUrl = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const addr = this.server.address();
    this.baseUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  body(id: string): Buffer {
    return Buffer.concat(this.uploads.get(id)?.chunks ?? []);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.baseUrl);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    this.log.push(`${req.method} ${url.pathname}`);
    if (url.pathname === "/v1/auth/token" && req.method === "POST") {
      const user = { id: "0f8fad5b-d9cb-469f-a165-70867728950e", tenant_id: randomUUID(), role: "rep", name: "Rep" };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "t", refresh_token: "r", token_type: "Bearer", expires_in: 900, user }));
      return;
    }
    if (req.headers.authorization !== "Bearer t") {
      res
        .writeHead(401, { "content-type": "application/problem+json" })
        .end(JSON.stringify({ code: "unauthenticated" }));
      return;
    }
    const tus = { "tus-resumable": "1.0.0" };
    if (req.method === "OPTIONS" && url.pathname === "/v1/uploads") {
      res.writeHead(204, {
        ...tus,
        "tus-version": "1.0.0",
        "tus-extension": "creation,checksum,termination",
        "tus-checksum-algorithm": "sha1",
      });
      res.end();
      return;
    }
    if (req.headers["tus-resumable"] !== "1.0.0") {
      res.writeHead(412, { ...tus, "tus-version": "1.0.0" }).end();
      return;
    }
    if (req.method === "POST" && url.pathname === "/v1/uploads") {
      const length = Number(req.headers["upload-length"]);
      if (!Number.isInteger(length) || length < 0) {
        res.writeHead(400, tus).end();
        return;
      }
      const metadata: Record<string, string> = {};
      for (const pair of String(req.headers["upload-metadata"] ?? "")
        .split(",")
        .filter(Boolean)) {
        const [k, v] = pair.trim().split(" ");
        metadata[k!] = Buffer.from(v ?? "", "base64").toString("utf8");
      }
      const id = randomUUID();
      this.uploads.set(id, { id, length, offset: 0, chunks: [], metadata });
      res.writeHead(201, { ...tus, location: `/v1/uploads/${id}` }).end();
      return;
    }
    const id = url.pathname.startsWith("/v1/uploads/") ? url.pathname.slice("/v1/uploads/".length) : "";
    const upload = this.uploads.get(id);
    if (!upload) {
      res.writeHead(404, tus).end();
      return;
    }
    const done = upload.mediaId ? { "upload-media-id": upload.mediaId } : {};
    if (req.method === "HEAD") {
      res.writeHead(200, {
        ...tus,
        ...done,
        "upload-offset": String(upload.offset),
        "upload-length": String(upload.length),
        "cache-control": "no-store",
      });
      res.end();
      return;
    }
    if (req.method === "DELETE") {
      this.uploads.delete(id);
      res.writeHead(204, tus).end();
      return;
    }
    if (req.method === "PATCH") {
      if (req.headers["content-type"] !== "application/offset+octet-stream") {
        res.writeHead(415, tus).end();
        return;
      }
      if (Number(req.headers["upload-offset"]) !== upload.offset) {
        res.writeHead(409, tus).end();
        return;
      }
      const [algorithm, digest] = String(req.headers["upload-checksum"] ?? "").split(" ");
      if (algorithm !== "sha1") {
        res.writeHead(400, tus).end();
        return;
      }
      if (this.corruptNext > 0 || createHash("sha1").update(body).digest("base64") !== digest) {
        this.corruptNext = Math.max(0, this.corruptNext - 1);
        res.writeHead(460, tus).end();
        return;
      }
      if (upload.offset + body.length > upload.length) {
        res.writeHead(413, tus).end();
        return;
      }
      upload.chunks.push(body);
      upload.offset += body.length;
      this.received += body.length;
      if (upload.offset === upload.length) upload.mediaId = randomUUID();
      res.writeHead(204, {
        ...tus,
        "upload-offset": String(upload.offset),
        ...(upload.mediaId ? { "upload-media-id": upload.mediaId } : {}),
      });
      res.end();
      return;
    }
    res.writeHead(405, tus).end();
  }
}
