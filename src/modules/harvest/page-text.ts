// A page's visible text: what a reader sees, without script, style, noscript or template content
// (nor <head>, nor elements marked hidden), one line per block element, whitespace collapsed.
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

export function extractVisibleText(html: string): string {
  const $ = loadHtml(html);
  const pieces: string[] = [];
  // An explicit stack rather than recursion: a page of 100 000 nested <div>s must not overflow it.
  const stack: (AnyNode | typeof BREAK | ' ')[] = [...$.root()[0].children].reverse();
  while (stack.length) {
    const item = stack.pop()!;
    if (item === BREAK || item === ' ') {
      pieces.push(item);
      continue;
    }
    if (item.type === 'text') {
      // Newlines in the source are plain whitespace; the only line breaks are the BREAK markers.
      pieces.push((item as unknown as { data: string }).data.replace(/\s+/g, ' '));
      continue;
    }
    if (item.type !== 'tag' && item.type !== 'root') continue;
    const element = item as Element;
    const name = element.name.toLowerCase();
    if (INVISIBLE.has(name) || element.attribs?.hidden !== undefined) continue;
    const block = BLOCKS.has(name);
    if (block) pieces.push(BREAK);
    if (block) stack.push(BREAK);
    else if (CELLS.has(name)) stack.push(' ');
    for (let i = element.children.length - 1; i >= 0; i--) stack.push(element.children[i]);
  }
  return pieces
    .join('')
    .split(BREAK)
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}
