/**
 * A strict little XML well-formedness checker for the benchmark's SVG (no XML parser is a dependency
 * of this project, and one is not worth adding for a test): balanced tags, quoted attributes, valid
 * entity references, one root element. Returns the root's name, every text node and every element
 * with its attributes (decoded), in document order.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
}

export interface ParsedXml {
  root: string;
  texts: string[];
  elements: XmlElement[];
}

const NAME = '[A-Za-z_][\\w:.-]*';
const ATTR = `\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*')`;
const TAG = new RegExp(`<(/?)(${NAME})((?:${ATTR})*)\\s*(/?)>`, 'y');
const ENTITY = /&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);/g;
const ATTRS = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');

const decode = (s: string) =>
  s.replace(ENTITY, (e) => ({ '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" })[e] ?? (e.startsWith('&#') ? String.fromCodePoint(Number(e.startsWith('&#x') ? `0x${e.slice(3, -1)}` : e.slice(2, -1))) : e));

function checkText(text: string, at: number): void {
  if (text.replace(ENTITY, '').includes('&')) throw new Error(`xml: bare '&' in text near offset ${at}`);
}

/** Throws with an offset on the first well-formedness error. */
export function parseXml(src: string): ParsedXml {
  let i = 0;
  const stack: string[] = [];
  const texts: string[] = [];
  let root = '';
  const elements: XmlElement[] = [];
  let closedRoot = false;
  src = src.replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, (m) => ' '.repeat(m.length)); // keep offsets
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (text.trim()) {
      if (stack.length === 0) throw new Error(`xml: text outside the root element at offset ${i}`);
      checkText(text, i);
      texts.push(decode(text));
    }
    if (lt < 0) break;
    if (src.startsWith('<!--', lt)) {
      const end = src.indexOf('-->', lt + 4);
      if (end < 0) throw new Error(`xml: unterminated comment at offset ${lt}`);
      i = end + 3;
      continue;
    }
    TAG.lastIndex = lt;
    const m = TAG.exec(src);
    if (!m) throw new Error(`xml: malformed tag at offset ${lt}: ${src.slice(lt, lt + 40)}`);
    const [, close, name, attrs, selfClose] = m;
    checkText(attrs!, lt);
    if (close) {
      if (selfClose || attrs) throw new Error(`xml: malformed closing tag </${name}> at offset ${lt}`);
      const open = stack.pop();
      if (open !== name) throw new Error(`xml: </${name}> at offset ${lt} closes <${open ?? 'nothing'}>`);
      if (stack.length === 0) closedRoot = true;
    } else {
      if (stack.length === 0) {
        if (root) throw new Error(`xml: second root element <${name}> at offset ${lt}`);
        root = name!;
      }
      const attrMap: Record<string, string> = {};
      for (const [, k, dq, sq] of attrs!.matchAll(ATTRS)) {
        if (k! in attrMap) throw new Error(`xml: duplicate attribute '${k}' on <${name}> at offset ${lt}`);
        attrMap[k!] = decode(dq ?? sq!);
      }
      elements.push({ name: name!, attrs: attrMap });
      if (!selfClose) stack.push(name!);
      else if (stack.length === 0) closedRoot = true;
    }
    i = TAG.lastIndex;
  }
  if (stack.length) throw new Error(`xml: unclosed <${stack[stack.length - 1]}>`);
  if (!root || !closedRoot) throw new Error('xml: no root element');
  return { root, texts, elements };
}
