import { describe, expect, it } from 'vitest';
import { decodeHtml } from './charset.js';
import { extractVisibleText } from './page-text.js';

describe('visible text', () => {
  it('drops script, style, noscript, template and head, and separates blocks by lines', () => {
    const html = `<!doctype html><html><head><title>Title</title><style>p { color: red }</style><script>var x = "<p>no</p>";</script></head>
      <body>
        <h1>Heading   one</h1>
        <script>alert('hidden')</script>
        <noscript>enable JS</noscript>
        <template><p>template text</p></template>
        <div>Outer <span>inline <b>bold</b></span> text
          <div>Nested <em>block</em></div>
          <p>Para-
          graph</p>
          tail
        </div>
        <ul><li>one</li><li>two</li></ul>
        <p>a<br>b</p>
        <table><tr><td>c1</td><td>c2</td></tr><tr><th>c3</th></tr></table>
        <p hidden>not shown</p>
        <style>.x{}</style>
      </body></html>`;
    expect(extractVisibleText(html)).toBe(['Heading one', 'Outer inline bold text', 'Nested block', 'Para- graph', 'tail', 'one', 'two', 'a', 'b', 'c1 c2', 'c3'].join('\n'));
  });

  it('drops what an inline style hides, written in any case and spacing, with !important', () => {
    const html = `<body>
      <p>shown</p>
      <div style="display:none">display none <p>and its children</p></div>
      <div style="DISPLAY : NONE ;">upper case, spaced</div>
      <div style="color: red; display: none !important">important</div>
      <div style="display:none!IMPORTANT">important, no space</div>
      <div style="display: /* a comment */ none">commented</div>
      <span style="visibility:hidden">visibility hidden</span>
      <span style="Visibility: Collapse">collapsed</span>
      <div style="visibility: hidden">hidden parent <span style="visibility: visible">visible child</span></div>
      <div style="display:none"><span style="visibility: visible">not back: display none is whole</span></div>
      <div style="display:none; display:block">the last one wins</div>
      <div style="display:none !important; display:block">but not over an important one</div>
      <div style="display: inline-none">not a value that hides</div>
      <div style="background: url(a;b.png); display: flex">a semicolon in a value</div>
      <p>end</p></body>`;
    expect(extractVisibleText(html)).toBe(['shown', 'visible child', 'the last one wins', 'not a value that hides', 'a semicolon in a value', 'end'].join('\n'));
  });

  it('decodes entities and collapses every kind of whitespace', () => {
    expect(extractVisibleText('<p>Fish &amp; chips&nbsp;&nbsp;today\t\n  &lt;3</p>')).toBe('Fish & chips today <3');
    expect(extractVisibleText('')).toBe('');
    expect(extractVisibleText('plain text, no tags')).toBe('plain text, no tags');
  });

  it('survives deep nesting without recursion', () => {
    const depth = 20_000;
    const html = '<div>'.repeat(depth) + 'deep' + '</div>'.repeat(depth);
    expect(extractVisibleText(html)).toBe('deep');
  });
});

describe('charset', () => {
  it('takes the charset from the Content-Type header first', () => {
    const bytes = Buffer.from([0x3c, 0x70, 0x3e, 0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]); // "<p>Привет" in windows-1251
    expect(decodeHtml(bytes, 'text/html; charset=windows-1251')).toEqual({ text: '<p>Привет', charset: 'windows-1251' });
    expect(decodeHtml(bytes, 'text/html; charset="windows-1251"').text).toBe('<p>Привет');
  });

  it('falls back to <meta charset> and <meta http-equiv>, then UTF-8', () => {
    const latin1 = Buffer.concat([Buffer.from('<meta charset="iso-8859-1"><p>'), Buffer.from([0xe9, 0x74, 0xe9])]);
    expect(decodeHtml(latin1, 'text/html').text).toBe('<meta charset="iso-8859-1"><p>été');
    const equiv = Buffer.concat([Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>'), Buffer.from([0xf0, 0xd2, 0xc9])]);
    expect(decodeHtml(equiv, undefined).text.endsWith('При')).toBe(true);
    expect(decodeHtml(Buffer.from('<p>été'), undefined)).toEqual({ text: '<p>été', charset: 'utf-8' });
  });

  it('lets a byte-order mark win and ignores labels it does not know', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<p>ü')]);
    expect(decodeHtml(bom, 'text/html; charset=windows-1252').text).toBe('<p>ü');
    expect(decodeHtml(Buffer.from('<p>ü'), 'text/html; charset=no-such-charset').charset).toBe('utf-8');
    // A <meta> claiming UTF-16 in a document read as ASCII cannot be true.
    expect(decodeHtml(Buffer.from('<meta charset="utf-16"><p>ü'), undefined).charset).toBe('utf-8');
  });
});
