// Reads the data inlined in the page (see reports/payload.ts) and decodes it.

import { type BlobSource, decodePayload } from "./payload.ts";

/** Reads the payload from the page: #ql-payload and every script.ql-blob in document order. */
export async function readPagePayload(doc: Document): Promise<unknown> {
  const main = doc.getElementById("ql-payload");
  if (!main) return {};
  const blobs: BlobSource[] = [];
  for (const el of Array.from(doc.querySelectorAll<HTMLScriptElement>("script.ql-blob"))) {
    blobs.push({
      type: el.dataset["type"] ?? "",
      codec: el.dataset["codec"] ?? "none",
      length: Number(el.dataset["length"]),
      base64: (el.textContent ?? "").trim(),
    });
  }
  return decodePayload(main.textContent ?? "null", blobs);
}
