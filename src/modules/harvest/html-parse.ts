// One way to parse HTML for both the image and the text extraction: cheerio over htmlparser2
// rather than parse5. It is forgiving enough for finding tags and text, about twice as fast on
// large pages, and linear on deep nesting where parse5 takes seconds for 20 000 levels.
import * as cheerio from 'cheerio';

export const loadHtml = (html: string) => cheerio.load(html, { xml: { xmlMode: false, decodeEntities: true } });
