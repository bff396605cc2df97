// Reading server-rendered pages in tests: a page as a signed-in operator's browser fetches it, its text
// without tags (entities decoded), the error shown beside a form field, and the rows a table marks with a
// data attribute. One place for the scraping, so that every console page test reads pages alike.

/** HTML entities React writes, decoded. */
export function unescapeHtml(html: string): string {
  return html.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** The visible text of `html`: tags become spaces, runs of whitespace one space. */
export function pageText(html: string): string {
  // React separates adjacent text with empty comments: they join text, they are not spaces.
  return unescapeHtml(html.replace(/<script[\s\S]*?<\/script>/g, " ").replace(/<!-- -->/g, "").replace(/<[^>]+>/g, " ")).replace(/\s+/g, " ").trim();
}

export async function getPage(baseUrl: string, path: string, who?: { cookie: string }) {
  const response = await fetch(`${baseUrl}${path}`, { headers: who ? { cookie: who.cookie } : {}, redirect: "manual" });
  const html = await response.text();
  return { status: response.status, html, text: pageText(html) };
}

/** The message beside form field `name` (Field's `field-<name>-error`), or null when it has none. */
export function fieldError(html: string, name: string): string | null {
  const id = `field-${name}-error`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html);
  return match ? unescapeHtml(match[1]!) : null;
}

/** The values of `data-<attribute>` on the page's elements, in document order. */
export function rowsMarked(html: string, attribute: string): string[] {
  return [...html.matchAll(new RegExp(`data-${attribute}="([^"]*)"`, "g"))].map((m) => unescapeHtml(m[1]!));
}
