// sdk_check.mjs - the official Milvus Node SDK's REST client (HttpClient of
// @zilliz/milvus2-sdk-node) against tests/milvus/server.mjs: what the Milvus docs
// (../shared/milvus/rest-v2.6, NOTES.md) say a server answers, it must answer.
//
//   node tests/milvus/sdk_check.mjs            starts its own servers (2.4.0, 2.5, 2.6, auth)
//   node tests/milvus/sdk_check.mjs --readback URL COLLECTION DIM [TOKEN]
//        reads back a collection some other client (the router) created: schema,
//        rows, a vector search with a stored vector finds that row at distance ~1.
// Prints PASS/FAIL lines; exits non-zero on a failure.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../node/package.json'));
const { HttpClient } = require('@zilliz/milvus2-sdk-node');

let failed = 0;
function check(name, cond, detail) {
    if (cond) console.log(`PASS ${name}`);
    else { failed++; console.log(`FAIL ${name}${detail !== undefined ? ': ' + JSON.stringify(detail).slice(0, 600) : ''}`); }
}
async function expectHttpError(name, status, fn) {
    try { const r = await fn(); check(name, false, r); } catch (e) { check(name, e.status === status, { status: e.status, msg: e.message }); }
}

function startServer(extra) {
    return new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (d) => {
            out += d;
            const m = /listening on [^:]+:([0-9]+)/.exec(out);
            if (m) resolve({ proc: p, url: `http://127.0.0.1:${m[1]}` });
        });
        p.on('exit', (c) => reject(new Error(`server exited ${c}: ${out}`)));
    });
}

// Deterministic unit vectors.
function vec(seed, dim) {
    let x = seed * 2654435761 % 4294967296;
    const v = [];
    for (let i = 0; i < dim; i++) { x = (x * 1103515245 + 12345) % 2147483648; v.push(x / 2147483648 - 0.5); }
    const n = Math.hypot(...v);
    return v.map((a) => a / n);
}

const DIM = 8;
const schema = {
    autoID: false, enableDynamicField: false, fields: [
        { fieldName: 'id', dataType: 'VarChar', isPrimary: true, elementTypeParams: { max_length: '64' } },
        { fieldName: 'tenant', dataType: 'VarChar', elementTypeParams: { max_length: '256' } },
        { fieldName: 'response_body', dataType: 'VarChar', elementTypeParams: { max_length: '65535' } },
        { fieldName: 'embedding', dataType: 'FloatVector', elementTypeParams: { dim: String(DIM) } },
        { fieldName: 'created_at', dataType: 'Int64' },
        { fieldName: 'expires_at', dataType: 'Int64' },
    ],
};
const indexParams = [{ fieldName: 'embedding', indexName: 'embedding_hnsw', metricType: 'COSINE', params: { index_type: 'HNSW', M: '16', efConstruction: '200' } }];

async function profile(version) {
    const { proc, url } = await startServer(['--version', version]);
    const tag = `sdk[${version}]`;
    const success = version.startsWith('2.4') ? 200 : 0; // insert/search/query/describe codes (NOTES A2)
    try {
        const c = new HttpClient({ endpoint: url, acceptInt64: true });
        let r = await c.hasCollection({ collectionName: 'semcache' });
        check(`${tag} has missing`, r.code === 0 && r.data.has === false, r);
        r = await c.createCollection({ collectionName: 'semcache', schema, indexParams, params: { consistencyLevel: 'Bounded', ttlSeconds: 86400 } });
        check(`${tag} create with schema+index`, r.code === 0, r);
        r = await c.describeCollection({ collectionName: 'semcache' });
        const emb = r.data && r.data.fields.find((f) => f.name === 'embedding');
        check(`${tag} describe`, r.code === success && r.data.load === 'LoadStateLoaded' && emb && emb.type === 'FloatVector' &&
            emb.params.some((p) => p.key === 'dim' && p.value === String(DIM)) && r.data.indexes[0].metricType === 'COSINE' &&
            r.data.fields.find((f) => f.primaryKey).name === 'id' &&
            r.data.properties.some((p) => p.key === 'collection.ttl.seconds' && p.value === '86400'), r);
        r = await c.describeIndex({ collectionName: 'semcache', indexName: 'embedding_hnsw' });
        check(`${tag} describe index`, r.code === 0 && r.data[0].indexType === 'HNSW' && r.data[0].metricType === 'COSINE', r);
        const now = 1767139200;
        const rows = [
            { id: 'a1', tenant: 'acme', response_body: '{"answer":"Paris — la “ville lumière” 🌍"}', embedding: vec(1, DIM), created_at: now, expires_at: now + 100 },
            { id: 'a2', tenant: 'acme', response_body: 'old', embedding: vec(2, DIM), created_at: now, expires_at: now - 1 },
            { id: 'b1', tenant: 'evil" or tenant != "', response_body: 'other', embedding: vec(1, DIM), created_at: now, expires_at: now + 100 },
        ];
        r = await c.insert({ collectionName: 'semcache', data: rows });
        check(`${tag} insert`, r.code === success && r.data.insertCount === 3 && JSON.stringify(r.data.insertIds) === '["a1","a2","b1"]', r);
        r = await c.upsert({ collectionName: 'semcache', data: [{ ...rows[0], response_body: rows[0].response_body }] });
        check(`${tag} upsert`, r.code === success && r.data.upsertCount === 1, r);
        r = await c.search({ collectionName: 'semcache', data: [vec(1, DIM)], annsField: 'embedding', limit: 3,
            filter: `tenant == "acme" and expires_at > ${now}`, outputFields: ['response_body', 'expires_at'],
            searchParams: { metricType: 'COSINE', params: { ef: 64 } } });
        check(`${tag} search filtered`, r.code === success && r.data.length === 1 && r.data[0].id === 'a1' &&
            Math.abs(r.data[0].distance - 1) < 1e-5 && r.data[0].expires_at === now + 100 && r.data[0].response_body === rows[0].response_body, r);
        check(`${tag} search topks`, version.startsWith('2.6') ? JSON.stringify(r.topks) === '[1]' : r.topks === undefined, r);
        const hostile = 'evil\\" or tenant != \\"';
        r = await c.search({ collectionName: 'semcache', data: [vec(1, DIM)], annsField: 'embedding', limit: 3,
            filter: `tenant == "${hostile}"`, outputFields: ['tenant'] });
        check(`${tag} escaped literal matches exactly one tenant`, r.code === success && r.data.length === 1 && r.data[0].id === 'b1', r);
        r = await c.query({ collectionName: 'semcache', filter: 'id in ["a1","a2"]', outputFields: ['created_at'], limit: 10 });
        check(`${tag} query`, r.code === success && r.data.length === 2 && r.data.every((x) => x.created_at === now && x.embedding === undefined), r);
        r = await c.get({ collectionName: 'semcache', id: ['b1'], outputFields: ['tenant'] });
        check(`${tag} get`, r.code === success && r.data.length === 1 && r.data[0].tenant === rows[2].tenant, r);
        r = await c.delete({ collectionName: 'semcache', filter: `expires_at > 0 and expires_at < ${now}` });
        check(`${tag} delete expired`, r.code === 0 && (version.startsWith('2.4') ? r.data.deleteCount === undefined : r.data.deleteCount === 1), r);
        r = await c.getCollectionStatistics({ collectionName: 'semcache' });
        check(`${tag} stats`, r.code === 0 && r.data.rowCount === 2, r);
        // errors, by code (never by message)
        r = await c.describeCollection({ collectionName: 'nope' });
        check(`${tag} unknown collection 100`, r.code === 100, r);
        r = await c.describeCollection({});
        check(`${tag} missing parameter 1802`, r.code === 1802, r);
        r = await c.insert({ collectionName: 'semcache', data: [{ ...rows[0], embedding: [1, 2] }] });
        check(`${tag} wrong dimension 1804`, r.code === 1804, r);
        r = await c.insert({ collectionName: 'semcache', data: [{ ...rows[0], created_at: 'soon' }] });
        check(`${tag} bad int64 1804`, r.code === 1804, r);
        r = await c.insert({ collectionName: 'semcache', data: [{ ...rows[0], response_body: 'x'.repeat(65536) }] });
        check(`${tag} varchar over max_length 1804`, r.code === 1804, r);
        r = await c.search({ collectionName: 'semcache', data: [[1, 2]], annsField: 'embedding' });
        check(`${tag} search bad vector 1801`, r.code === 1801, r);
        r = await c.search({ collectionName: 'semcache', data: [vec(1, DIM)], annsField: 'embedding', filter: 'tenant == "unterminated' });
        check(`${tag} bad filter 1100`, r.code === 1100, r);
        r = await c.search({ collectionName: 'semcache', data: [vec(1, DIM)], annsField: 'embedding', consistencyLevel: 'strong' });
        check(`${tag} bad consistency 1100`, r.code === 1100, r);
        await c.releaseCollection({ collectionName: 'semcache' });
        r = await c.search({ collectionName: 'semcache', data: [vec(1, DIM)], annsField: 'embedding' });
        check(`${tag} not loaded 101`, r.code === 101, r);
        r = await c.loadCollection({ collectionName: 'semcache' });
        r = await c.getCollectionLoadState({ collectionName: 'semcache' });
        check(`${tag} load state`, r.code === 0 && r.data.loadState === 'LoadStateLoaded', r);
        // int64 as strings when the client does not allow int64 (the SDK's default)
        const s = new HttpClient({ endpoint: url });
        r = await s.query({ collectionName: 'semcache', filter: 'id == "a1"', outputFields: ['created_at'], limit: 1 });
        check(`${tag} int64 as string`, r.data && r.data[0].created_at === String(now), r);
        // raw protocol cases the SDK cannot send
        let h = await fetch(`${url}/v2/vectordb/collections/describe`, { method: 'POST', body: '{"collectionName":' });
        let j = await h.json();
        check(`${tag} bad json 1801`, h.status === 200 && j.code === 1801, j);
        h = await fetch(`${url}/v2/vectordb/collections/describe`, { method: 'POST', body: '' });
        j = await h.json();
        check(`${tag} empty body 1801`, h.status === 200 && j.code === 1801, j);
        h = await fetch(`${url}/v2/vectordb/collections/nosuch`, { method: 'POST', body: '{}' });
        const t = await h.text();
        check(`${tag} unknown route 404 text`, h.status === 404 && t === '404 page not found' && /text\/plain/.test(h.headers.get('content-type')), t);
        if (version.startsWith('2.4')) {
            await expectHttpError(`${tag} alter_properties absent (404)`, 404, () =>
                c.alterCollectionProperties({ collectionName: 'semcache', properties: { 'collection.ttl.seconds': 60 } }));
        } else {
            r = await c.alterCollectionProperties({ collectionName: 'semcache', properties: { 'collection.ttl.seconds': 60 } });
            check(`${tag} alter_properties`, r.code === 0, r);
        }
        // faults
        const fault = (f) => fetch(`${url}/_test/faults`, { method: 'POST', body: JSON.stringify(f) });
        await fault({ mode: 'status', status: 500, count: 1 });
        await expectHttpError(`${tag} fault 500`, 500, () => c.hasCollection({ collectionName: 'semcache' }));
        await fault({ mode: 'garbage', count: 1 });
        try { await c.hasCollection({ collectionName: 'semcache' }); check(`${tag} fault garbage`, false); } catch (e) { check(`${tag} fault garbage`, e instanceof SyntaxError, e.message); }
        await fault({ mode: 'reset', count: 1 });
        try { await c.hasCollection({ collectionName: 'semcache' }); check(`${tag} fault reset`, false); } catch (e) { check(`${tag} fault reset`, /fetch failed|socket|ECONNRESET/i.test(e.message + (e.cause || '')), e.message); }
        await fault({ mode: 'delay', delay_ms: 1500, count: 1 });
        h = await fetch(`${url}/v2/vectordb/collections/has`, { method: 'POST', headers: { 'Request-Timeout': '1' }, body: '{"collectionName":"semcache"}' });
        j = await h.json();
        check(`${tag} Request-Timeout exceeded 408/10001`, h.status === 408 && j.code === 10001, j);
        r = await c.dropCollection({ collectionName: 'semcache' });
        check(`${tag} drop`, r.code === 0, r);
        r = await c.dropCollection({ collectionName: 'semcache' });
        check(`${tag} drop missing 100`, r.code === 100, r);
    } finally {
        proc.kill();
    }
}

async function authProfile() {
    const { proc, url } = await startServer(['--auth', 'root:Milvus', '--apikey', 'zk-123']);
    try {
        await expectHttpError('sdk[auth] no credentials 401', 401, () => new HttpClient({ endpoint: url }).hasCollection({ collectionName: 'x' }));
        await expectHttpError('sdk[auth] wrong password 401', 401, () => new HttpClient({ endpoint: url, username: 'root', password: 'nope' }).hasCollection({ collectionName: 'x' }));
        let r = await new HttpClient({ endpoint: url, username: 'root', password: 'Milvus' }).hasCollection({ collectionName: 'x' });
        check('sdk[auth] user:password', r.code === 0 && r.data.has === false, r);
        r = await new HttpClient({ endpoint: url, token: 'zk-123' }).hasCollection({ collectionName: 'x' });
        check('sdk[auth] api key token', r.code === 0, r);
        const h = await fetch(`${url}/v2/vectordb/collections/has`, { method: 'POST', body: '{"collectionName":"x"}' });
        const j = await h.json();
        check('sdk[auth] 401 body code 1800', h.status === 401 && j.code === 1800, j);
    } finally {
        proc.kill();
    }
}

async function readback(url, collection, dim, token) {
    const c = new HttpClient({ endpoint: url, token: token || undefined, acceptInt64: true });
    let r = await c.describeCollection({ collectionName: collection });
    const f = r.data ? Object.fromEntries(r.data.fields.map((x) => [x.name, x])) : {};
    const vf = r.data && r.data.fields.find((x) => x.type === 'FloatVector');
    check('readback schema', (r.code === 0 || r.code === 200) && f.id && f.id.primaryKey && f.id.type === 'VarChar' && vf &&
        vf.params.some((p) => p.key === 'dim' && p.value === String(dim)) && f.expires_at && f.expires_at.type === 'Int64' &&
        f.tenant && f.partition_hash && r.data.load === 'LoadStateLoaded' && r.data.enableDynamicField === false, r);
    r = await c.query({ collectionName: collection, filter: 'expires_at >= 0', outputFields: ['id', 'tenant', 'query_text', 'n_context', 'conversation', vf ? vf.name : 'embedding'], limit: 100 });
    check('readback rows', (r.code === 0 || r.code === 200) && Array.isArray(r.data) && r.data.length > 0, r);
    if (!r.data || !r.data.length) return;
    // schema 2: every row's conversation is "" (no earlier turns) or the roles and texts of its n_context turns
    const badConv = r.data.filter((x) => {
        if (Number(x.n_context) === 0) return x.conversation !== '';
        try {
            const j = JSON.parse(x.conversation);
            return !(typeof j.roles === 'string' && j.roles.length === Number(x.n_context) && Array.isArray(j.texts) &&
                j.texts.length === j.roles.length && [...j.roles].every((ch, i) => (ch === 'a') === (j.texts[i] === null)));
        } catch { return true; }
    });
    check('readback conversation', f.conversation && f.conversation.type === 'VarChar' && badConv.length === 0, badConv.slice(0, 2));
    const row = r.data[0];
    const s = await c.search({ collectionName: collection, data: [row[vf.name]], annsField: vf.name, limit: 1, outputFields: ['tenant'],
        filter: `tenant == ${JSON.stringify(row.tenant)}` });
    check('readback vector searchable', (s.code === 0 || s.code === 200) && s.data.length === 1 && s.data[0].id === row.id && s.data[0].distance > 0.999, s);
    console.log(`readback: ${r.data.length} rows; first query_text ${JSON.stringify(row.query_text)}`);
}

const a = process.argv.slice(2);
try {
    if (a[0] === '--readback') await readback(a[1], a[2], Number(a[3]), a[4]);
    else {
        for (const v of ['2.4.0', '2.5', '2.6']) await profile(v);
        await authProfile();
    }
} catch (e) {
    failed++;
    console.log(`FAIL sdk_check: ${e.stack || e}`);
}
process.exit(failed ? 1 : 0);
