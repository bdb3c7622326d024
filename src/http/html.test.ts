import { describe, expect, it } from 'vitest';
import { SafeHtml, escapeHtml, html } from './html.js';

describe('html template', () => {
  it('escapes every interpolated text, in content and in quoted attributes', () => {
    const text = `<script>alert(1)</script> & "quoted" 'single'`;
    expect(html`<p title="${text}">${text}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;single&#39;">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;single&#39;</p>',
    );
  });

  it('keeps nested templates as they are and escapes what they hold', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}</p>`.value).toBe('<p><b>&lt;i&gt;</b></p>');
  });

  it('joins arrays and leaves out null, undefined and false', () => {
    expect(html`<ul>${['<a>', html`<li>b</li>`]}</ul>${null}${undefined}${false}${0}`.value).toBe('<ul>&lt;a&gt;<li>b</li></ul>0');
  });

  it('does not trust strings that merely look like HTML, nor objects', () => {
    expect(html`${{ toString: () => '<b>' }}`.value).toBe('&lt;b&gt;');
    expect(html`${new SafeHtml('<b>')}`.value).toBe('<b>');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
  });
});
