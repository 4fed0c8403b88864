/**
 * URL building without `URL`/`URLSearchParams`, which React Native implements only in part
 * (`searchParams.set` throws there).
 */

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

export function withQuery(url: string, query: Record<string, string | number | undefined> = {}): string {
  const parts = Object.entries(query)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  if (parts.length === 0) return url;
  return `${url}${url.includes("?") ? "&" : "?"}${parts.join("&")}`;
}

/** `ref` (absolute, host-relative `/…`, or relative) resolved against `base`, as browsers do for links. */
export function resolveUrl(base: string, ref: string): string {
  if (ABSOLUTE.test(ref)) return ref;
  const origin = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(base)?.[1];
  if (origin === undefined) throw new Error(`not an absolute URL: ${base}`);
  if (ref.startsWith("//")) return `${base.slice(0, base.indexOf("//"))}${ref}`;
  if (ref.startsWith("/")) return `${origin}${ref}`;
  const path = base.slice(origin.length).split(/[?#]/)[0] ?? "";
  const dir = path.slice(0, path.lastIndexOf("/") + 1) || "/";
  return `${origin}${removeDotSegments(`${dir}${ref}`)}`;
}

/** RFC 3986 section 5.2.4, for the path part (a query or fragment is kept as is). */
function removeDotSegments(pathAndRest: string): string {
  const cut = pathAndRest.search(/[?#]/);
  const path = cut < 0 ? pathAndRest : pathAndRest.slice(0, cut);
  const rest = cut < 0 ? "" : pathAndRest.slice(cut);
  const out: string[] = [];
  const segments = path.split("/");
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === "..") {
      if (out.length > 1) out.pop();
      if (last) out.push("");
    } else if (seg === ".") {
      if (last) out.push("");
    } else {
      out.push(seg);
    }
  });
  return `${out.join("/")}${rest}`;
}
