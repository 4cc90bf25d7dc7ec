// filter.mjs - Milvus boolean filter expressions for the test server (parse + evaluate).
//
// Written from ../shared/milvus/boolean-expressions.md and NOTES.md A6 (Plan.g4):
// comparisons (== != < <= > >=), chained `a < f < b`, `in [..]` / `not in [..]`,
// `like "pre%"`, and/&&, or/||, not/!, parentheses, integer/float/bool/string
// literals ("..." or '...', C-style escapes, raw CR/LF rejected), arithmetic on
// constants, and {name} templates bound from exprParams (2.5+). A syntax error or
// an unknown field throws FilterError (the server answers code 1100).

export class FilterError extends Error {}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'LIKE', 'true', 'false', 'True', 'False', 'TRUE', 'FALSE']);

function lex(src) {
    const toks = [];
    let i = 0;
    while (i < src.length) {
        const c = src[i];
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
        if (c === '"' || c === "'") {
            const q = c;
            let s = '';
            i++;
            for (;;) {
                if (i >= src.length) throw new FilterError('unterminated string literal');
                const d = src[i];
                if (d === '\r' || d === '\n') throw new FilterError('raw line break inside a string literal');
                if (d === q) { i++; break; }
                if (d === '\\') {
                    const e = src[i + 1];
                    if (e === undefined) throw new FilterError('dangling escape');
                    const map = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'", '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };
                    if (e in map) { s += map[e]; i += 2; continue; }
                    if (e === 'u') {
                        const h = src.slice(i + 2, i + 6);
                        if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new FilterError('bad \\u escape');
                        s += String.fromCharCode(parseInt(h, 16));
                        i += 6;
                        continue;
                    }
                    throw new FilterError(`unknown escape \\${e}`);
                }
                s += d;
                i++;
            }
            toks.push({ t: 'str', v: s });
            continue;
        }
        if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] || ''))) {
            const m = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i));
            toks.push({ t: 'num', v: Number(m[0]), int: /^[0-9]+$/.test(m[0]) });
            i += m[0].length;
            continue;
        }
        if (/[A-Za-z_$]/.test(c)) {
            const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
            const w = m[0];
            i += w.length;
            if (KEYWORDS.has(w)) toks.push({ t: w.toLowerCase() });
            else toks.push({ t: 'id', v: w });
            continue;
        }
        if (c === '{') {
            const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(src.slice(i));
            if (!m) throw new FilterError('bad template placeholder');
            toks.push({ t: 'tpl', v: m[1] });
            i += m[0].length;
            continue;
        }
        const two = src.slice(i, i + 2);
        if (['==', '!=', '<=', '>=', '&&', '||', '**'].includes(two)) { toks.push({ t: two }); i += 2; continue; }
        if ('<>()[],+-*/%!'.includes(c)) { toks.push({ t: c }); i++; continue; }
        throw new FilterError(`unexpected character '${c}' at ${i}`);
    }
    return toks;
}

// Returns an AST; fields = Map(name -> dataType) of the collection; params = exprParams.
export function parseFilter(src, fields, params) {
    const toks = lex(src);
    let p = 0;
    const peek = () => toks[p] || { t: 'eof' };
    const next = () => toks[p++] || { t: 'eof' };
    const expect = (t) => { const k = next(); if (k.t !== t) throw new FilterError(`expected '${t}'`); return k; };

    function primaryValue() {
        const k = next();
        if (k.t === 'num') return { k: 'const', v: k.v };
        if (k.t === 'str') return { k: 'const', v: k.v };
        if (k.t === 'true' || k.t === 'false') return { k: 'const', v: k.t === 'true' };
        if (k.t === 'tpl') {
            if (!params || !(k.v in params)) throw new FilterError(`template {${k.v}} has no value in exprParams`);
            return { k: 'const', v: params[k.v] };
        }
        if (k.t === '-' || k.t === '+') {
            const v = primaryValue();
            if (v.k !== 'const' || typeof v.v !== 'number') throw new FilterError('unary arithmetic on a non-number');
            return { k: 'const', v: k.t === '-' ? -v.v : v.v };
        }
        if (k.t === '[') {
            const arr = [];
            if (peek().t !== ']') {
                for (;;) {
                    const e = arith();
                    if (e.k !== 'const') throw new FilterError('array elements must be constants');
                    arr.push(e.v);
                    if (peek().t === ',') { next(); continue; }
                    break;
                }
            }
            expect(']');
            return { k: 'const', v: arr };
        }
        if (k.t === 'id') {
            if (!fields.has(k.v)) throw new FilterError(`field ${k.v} not exist`);
            return { k: 'field', v: k.v };
        }
        if (k.t === '(') { const e = orExpr(); expect(')'); return e; }
        throw new FilterError(`unexpected token '${k.t}'`);
    }
    function arith() {
        let l = primaryValue();
        while (['+', '-', '*', '/', '%', '**'].includes(peek().t) && l.k === 'const') {
            const op = next().t;
            const r = primaryValue();
            if (r.k !== 'const' || typeof l.v !== 'number' || typeof r.v !== 'number') throw new FilterError('arithmetic needs numbers');
            const a = l.v, b = r.v;
            l = { k: 'const', v: op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : op === '%' ? a % b : a ** b };
        }
        return l;
    }
    function cmp() {
        const l = arith();
        const t = peek().t;
        if (['==', '!=', '<', '<=', '>', '>='].includes(t)) {
            next();
            const r = arith();
            // chained a < f < b
            if ((t === '<' || t === '<=') && (peek().t === '<' || peek().t === '<=')) {
                const t2 = next().t;
                const r2 = arith();
                return { k: 'and', a: { k: 'cmp', op: t, l, r }, b: { k: 'cmp', op: t2, l: r, r: r2 } };
            }
            if (l.k === 'const' && r.k === 'const') throw new FilterError('comparison of two constants');
            return { k: 'cmp', op: t, l, r };
        }
        if (t === 'in' || (t === 'not' && toks[p + 1] && toks[p + 1].t === 'in')) {
            const neg = t === 'not';
            if (neg) next();
            next();
            const r = arith();
            if (l.k !== 'field' || r.k !== 'const' || !Array.isArray(r.v)) throw new FilterError('in needs a field and an array');
            return { k: 'in', neg, f: l.v, arr: r.v };
        }
        if (t === 'like') {
            next();
            const r = arith();
            if (l.k !== 'field' || r.k !== 'const' || typeof r.v !== 'string') throw new FilterError('like needs a field and a string');
            return { k: 'like', f: l.v, pat: r.v };
        }
        if (l.k === 'field' && fields.get(l.v) === 'Bool') return { k: 'cmp', op: '==', l, r: { k: 'const', v: true } };
        if (l.k === 'and' || l.k === 'or' || l.k === 'not' || l.k === 'cmp' || l.k === 'in' || l.k === 'like') return l;
        throw new FilterError('expression is not a predicate');
    }
    function notExpr() {
        if (peek().t === 'not' || peek().t === '!') { next(); return { k: 'not', a: notExpr() }; }
        return cmp();
    }
    function andExpr() {
        let l = notExpr();
        while (peek().t === 'and' || peek().t === '&&') { next(); l = { k: 'and', a: l, b: notExpr() }; }
        return l;
    }
    function orExpr() {
        let l = andExpr();
        while (peek().t === 'or' || peek().t === '||') { next(); l = { k: 'or', a: l, b: andExpr() }; }
        return l;
    }
    if (toks.length === 0) return null;
    const ast = orExpr();
    if (p !== toks.length) throw new FilterError(`unexpected '${peek().t}' after the expression`);
    return ast;
}

function val(n, row) { return n.k === 'const' ? n.v : row[n.v]; }

export function evalFilter(ast, row) {
    if (!ast) return true;
    switch (ast.k) {
    case 'and': return evalFilter(ast.a, row) && evalFilter(ast.b, row);
    case 'or': return evalFilter(ast.a, row) || evalFilter(ast.b, row);
    case 'not': return !evalFilter(ast.a, row);
    case 'in': { const v = row[ast.f]; const has = ast.arr.some((x) => x === v); return ast.neg ? !has : has; }
    case 'like': {
        const re = new RegExp('^' + ast.pat.split('%').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
        return re.test(String(row[ast.f]));
    }
    case 'cmp': {
        const a = val(ast.l, row), b = val(ast.r, row);
        if (typeof a !== typeof b && !(typeof a === 'number' && typeof b === 'number')) {
            if (ast.op === '==') return false;
            if (ast.op === '!=') return true;
            throw new FilterError('comparison between different types');
        }
        switch (ast.op) {
        case '==': return a === b;
        case '!=': return a !== b;
        case '<': return a < b;
        case '<=': return a <= b;
        case '>': return a > b;
        case '>=': return a >= b;
        }
    }
    }
    throw new FilterError('bad expression node');
}

// Type check of a parsed filter against the schema (string field vs number literal...).
export function checkFilter(ast, fields) {
    if (!ast) return;
    const typeOf = (n) => n.k === 'const' ? (typeof n.v === 'string' ? 'str' : typeof n.v === 'number' ? 'num' : typeof n.v === 'boolean' ? 'bool' : 'arr')
        : (['VarChar', 'String'].includes(fields.get(n.v)) ? 'str' : fields.get(n.v) === 'Bool' ? 'bool'
            : /Vector$/.test(fields.get(n.v)) ? 'vec' : fields.get(n.v) === 'JSON' ? 'json' : 'num');
    switch (ast.k) {
    case 'and': case 'or': checkFilter(ast.a, fields); checkFilter(ast.b, fields); return;
    case 'not': checkFilter(ast.a, fields); return;
    case 'like': if (typeOf({ k: 'field', v: ast.f }) !== 'str') throw new FilterError(`like on non-string field ${ast.f}`); return;
    case 'in': return;
    case 'cmp': {
        const a = typeOf(ast.l), b = typeOf(ast.r);
        if (a === 'vec' || b === 'vec') throw new FilterError('vector fields cannot be filtered');
        if (a !== b && a !== 'json' && b !== 'json') throw new FilterError(`cannot compare ${a} with ${b}`);
        return;
    }
    }
}
