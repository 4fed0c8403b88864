/** Node-only helpers: `@fieldline/client/node` (a JSON-file storage and a file reader for uploads). */
import { open, stat } from "node:fs/promises";
import type { FileSource } from "./tus.js";

export { JsonFileStorage } from "./json-file-storage.js";

/** Reads upload sources from the local file system. */
export const nodeFiles: FileSource = {
  async size(uri: string): Promise<number> {
    return (await stat(uri)).size;
  },
  async read(uri: string, offset: number, length: number): Promise<Uint8Array> {
    const handle = await open(uri, "r");
    try {
      const buffer = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    } finally {
      await handle.close();
    }
  },
};
