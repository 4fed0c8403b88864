/**
 * A `FileSource` for React Native apps on Expo (`expo-file-system`), so `client.upload(uri, …)`
 * can read a photo in chunks straight from the camera roll or the app's files.
 *
 *   const client = new FieldlineClient({ baseUrl, storage, files: expoFiles });
 *   await client.upload(photo.uri, "visit_photo", visitId, { contentType: "image/jpeg" });
 */
import * as FileSystem from "expo-file-system";
import type { FileSource } from "../src/index.js"; // in an app: from "@fieldline/client"

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let j = 0;
  for (const c of clean) {
    buffer = (buffer << 6) | ALPHABET.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (buffer >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

export const expoFiles: FileSource = {
  async size(uri: string): Promise<number> {
    const info = await FileSystem.getInfoAsync(uri);
    if (!info.exists || info.size === undefined) throw new Error(`${uri} does not exist`);
    return info.size;
  },
  async read(uri: string, offset: number, length: number): Promise<Uint8Array> {
    const text = await FileSystem.readAsStringAsync(uri, {
      encoding: FileSystem.EncodingType.Base64,
      position: offset,
      length,
    });
    return fromBase64(text);
  },
};
