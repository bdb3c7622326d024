// A page's visible text: what a reader sees, without script, style, noscript or template content
// (nor <head>, nor elements marked hidden, nor those an inline style hides), one line per block
// element, whitespace collapsed. Stylesheets are not applied: only the element's own style attribute
// is read, which is how most pages hide a cookie notice, a menu or a spam trap.
import type { AnyNode, Element } from 'domhandler';
import { loadHtml } from './html-parse.js';

const INVISIBLE = new Set(['head', 'script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'canvas']);

const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'caption', 'dd', 'details', 'dialog', 'div', 'dl', 'dt',
  'fieldset', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hgroup',
  'hr', 'html', 'legend', 'li', 'main', 'menu', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table',
  'tbody', 'tfoot', 'thead', 'tr', 'ul', 'br', 'option',
]);

/** Table cells sit side by side: a space between them, not a line. */
const CELLS = new Set(['td', 'th']);

const BREAK = '\n';

/** What an element's inline style says about its visibility: display:none hides it whole; visibility is inherited, and a descendant may set it back. */
interface InlineVisibility {
  displayNone: boolean;
  visibility: 'hidden' | 'visible' | undefined;
}

/** Reads `display` and `visibility` from a style attribute as CSS does: any case and spacing, comments skipped, the last declaration winning unless an earlier one is !important. */
export function inlineVisibility(style: string | undefined): InlineVisibility {
  const result: InlineVisibility = { displayNone: false, visibility: undefined };
  if (!style) return result;
  const important = new Set<string>();
  for (const declaration of style.replace(/\/\*[^]*?\*\//g, '').split(';')) {
    const colon = declaration.indexOf(':');
    if (colon < 0) continue;
    const property = declaration.slice(0, colon).trim().toLowerCase();
    if (property !== 'display' && property !== 'visibility') continue;
    let value = declaration.slice(colon + 1).trim().toLowerCase();
    const isImportant = /!\s*important$/.test(value);
    if (isImportant) value = value.replace(/!\s*important$/, '').trim();
    else if (important.has(property)) continue;
    if (isImportant) important.add(property);
    if (property === 'display') result.displayNone = value === 'none';
    else if (value === 'hidden' || value === 'collapse') result.visibility = 'hidden';
    else if (value === 'visible') result.visibility = 'visible';
  }
  return result;
}

export function extractVisibleText(html: string): string {
  const $ = loadHtml(html);
  const pieces: string[] = [];
  // An explicit stack rather than recursion: a page of 100 000 nested <div>s must not overflow it.
  // Each node carries whether an ancestor's visibility:hidden is in force for it.
  type Item = { node: AnyNode; invisible: boolean } | typeof BREAK | ' ';
  const stack: Item[] = [...$.root()[0].children].reverse().map((node) => ({ node, invisible: false }));
  while (stack.length) {
    const item = stack.pop()!;
    if (item === BREAK || item === ' ') {
      pieces.push(item);
      continue;
    }
    const { node } = item;
    if (node.type === 'text') {
      // Newlines in the source are plain whitespace; the only line breaks are the BREAK markers.
      if (!item.invisible) pieces.push((node as unknown as { data: string }).data.replace(/\s+/g, ' '));
      continue;
    }
    if (node.type !== 'tag' && node.type !== 'root') continue;
    const element = node as Element;
    const name = element.name.toLowerCase();
    if (INVISIBLE.has(name) || element.attribs?.hidden !== undefined) continue;
    const style = inlineVisibility(element.attribs?.style);
    if (style.displayNone) continue;
    const invisible = style.visibility === undefined ? item.invisible : style.visibility === 'hidden';
    const block = BLOCKS.has(name);
    if (block) pieces.push(BREAK);
    if (block) stack.push(BREAK);
    else if (CELLS.has(name)) stack.push(' ');
    for (let i = element.children.length - 1; i >= 0; i--) stack.push({ node: element.children[i], invisible });
  }
  return pieces
    .join('')
    .split(BREAK)
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}
