#!/usr/bin/env node
// server.mjs - a Milvus REST v2 test server (collections in memory), written from
// ../shared/milvus/ (NOTES.md, rest-v2.6/*.mdx, openapi-rest-v2.4.json).
//
//   node tests/milvus/server.mjs [--port N] [--host H] [--version 2.4.0|2.5|2.6]
//        [--auth user:password] [--apikey KEY] [--int64-default true|false]
//        [--state FILE] [--portfile FILE]
//
// Prints "milvus-test listening on HOST:PORT (version V)" once it accepts.
// Behaviour kept from the real server (NOTES.md A1/A2/A8): every route is POST
// /v2/vectordb/<category>/<action> with a JSON body (Content-Type not enforced);
// business errors come back as HTTP 200 with a non-zero code: unknown collection
// 100, not loaded 101, index missing 700, database 800, invalid parameter 1100,
// bad JSON / empty body / bad search vector 1801, missing required parameter 1802,
// row decode errors 1804; auth failures HTTP 401 {"code":1800}; Request-Timeout
// exceeded HTTP 408 {"code":10001}; an unknown route HTTP 404 with the plain-text
// body "404 page not found". Profiles: 2.4.0 answers code 200 from
// describe/query/search/insert/upsert/get (0 elsewhere), has no alter_properties /
// drop_properties / databases / flush (404) and no exprParams; 2.5 answers 0 and
// deleteCount; 2.6 adds topks and flush. Int64 values are JSON numbers, or strings
// when the request says Accept-Type-Allow-Int64: false (missing header = the
// server default, --int64-default, true like proxy.http.acceptTypeAllowInt64).
//
// Test control (not Milvus; under /_test/, no auth):
//   POST /_test/faults {"mode":"delay|status|reset|garbage|truncate","delay_ms":N,
//        "status":500,"count":N (-1 = until cleared),"match":"entities/search"}
//   POST /_test/clear          drop all faults
//   GET  /_test/stats          {"requests":{route:n},"collections":{name:rows},"connections":n}
//        connections: the TCP connections that carried a /v2/ request (so the test's own
//        /_test/ requests do not count): how often a client opened one instead of reusing
// With --state FILE every change is written to FILE and read back at start, so a
// killed and restarted server keeps its collections (like a real Milvus volume).

import http from 'node:http';
import fs from 'node:fs';
import { parseFilter, evalFilter, checkFilter, FilterError } from './filter.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf('--' + name); return i >= 0 ? args[i + 1] : def; };
const VERSION = opt('version', '2.5');
const V24 = VERSION.startsWith('2.4');
const V26 = VERSION.startsWith('2.6');
const AUTH = opt('auth', null);
const APIKEY = opt('apikey', null);
const INT64_DEFAULT = opt('int64-default', 'true') === 'true';
const STATE = opt('state', null);

const DATA_TYPES = new Set(['Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'Float', 'Double', 'VarChar', 'JSON', 'Array',
    'BinaryVector', 'FloatVector', 'Float16Vector', 'BFloat16Vector', 'SparseFloatVector']);
const CONSISTENCY = ['Strong', 'Session', 'Bounded', 'Eventually', 'Customized'];
const METRICS = new Set(['L2', 'IP', 'COSINE']);
const INDEX_TYPES = new Set(['HNSW', 'FLAT', 'IVF_FLAT', 'IVF_SQ8', 'IVF_PQ', 'DISKANN', 'AUTOINDEX', 'SCANN']);

class ApiError extends Error { constructor(code, message) { super(message); this.code = code; } }
const fail = (code, message) => { throw new ApiError(code, message); };

// ---------------------------------------------------------------- state
const dbs = new Map([['default', new Map()]]);
let nextCollectionId = 448707763883002014n;
let faults = [];
const requestCounts = {};
const v2Sockets = new WeakSet();
let v2Connections = 0;

function saveState() {
    if (!STATE) return;
    const out = {};
    for (const [db, cols] of dbs) {
        out[db] = {};
        for (const [name, c] of cols) out[db][name] = { ...c, id: c.id.toString(), rows: [...c.rows.values()] };
    }
    fs.writeFileSync(STATE + '.tmp', JSON.stringify(out));
    fs.renameSync(STATE + '.tmp', STATE);
}
function loadState() {
    if (!STATE || !fs.existsSync(STATE)) return;
    const j = JSON.parse(fs.readFileSync(STATE, 'utf8'));
    for (const db of Object.keys(j)) {
        const cols = new Map();
        for (const name of Object.keys(j[db])) {
            const c = j[db][name];
            c.id = BigInt(c.id);
            const rows = new Map();
            for (const r of c.rows) rows.set(r[c.pk], r);
            c.rows = rows;
            cols.set(name, c);
        }
        dbs.set(db, cols);
    }
}
loadState();

// ---------------------------------------------------------------- helpers
function ok(req, data, extra = {}, code200 = false) {
    return { code: V24 && code200 ? 200 : 0, data, ...extra };
}
function dbOf(req, body) {
    let name = body.dbName;
    if (!name && !V24) name = req.headers['db-name'];
    name = name || 'default';
    const db = dbs.get(name);
    if (!db) fail(800, `database not found[database=${name}]`);
    return db;
}
function requireName(body, structName = 'CollectionNameReq') {
    if (typeof body.collectionName !== 'string' || body.collectionName === '')
        fail(1802, `missing required parameters, error: Key: '${structName}.CollectionName' Error:Field validation for 'CollectionName' failed on the 'required' tag`);
    return body.collectionName;
}
function getColl(req, body, structName) {
    const name = requireName(body, structName);
    const c = dbOf(req, body).get(name);
    if (!c) fail(100, `collection not found[database=${body.dbName || 'default'}][collection=${name}]`);
    return c;
}
function requireLoaded(c) { if (!c.loaded) fail(101, `collection not loaded[collection=${c.name}]`); }
function fieldMap(c) { return new Map(c.fields.map((f) => [f.name, f.type])); }
function parseF(c, filter, exprParams) {
    if (filter === undefined || filter === null || filter === '') return null;
    if (typeof filter !== 'string') fail(1801, 'can only accept json format request, error: filter must be a string');
    if (exprParams !== undefined && V24) exprParams = undefined; // 2.4 has no templates: {x} stays a syntax error
    try {
        const ast = parseFilter(filter, fieldMap(c), exprParams);
        checkFilter(ast, fieldMap(c));
        return ast;
    } catch (e) {
        if (e instanceof FilterError) fail(1100, `failed to create query plan: cannot parse expression: ${filter}, error: ${e.message}`);
        throw e;
    }
}
function isInt(v) { return typeof v === 'number' && Number.isInteger(v); }

// Int64 out: numbers, or strings when the client did not allow int64.
function renderRow(c, row, fields, allowInt64) {
    const out = {};
    for (const f of fields) {
        const fd = c.fields.find((x) => x.name === f);
        let v = row[f];
        if (fd && fd.type === 'Int64' && !allowInt64) v = String(v);
        out[f === c.pk ? (fields.idKey || f) : f] = v;
    }
    return out;
}

// ---------------------------------------------------------------- schema
function buildField(f, i) {
    if (typeof f !== 'object' || !f) fail(1100, 'invalid parameter, field must be an object');
    if (!f.fieldName) fail(1802, "missing required parameters, error: Key: 'FieldSchema.FieldName' Error:Field validation for 'FieldName' failed on the 'required' tag");
    if (!DATA_TYPES.has(f.dataType)) fail(1100, `invalid parameter, data type ${f.dataType} is invalid(case sensitive).`);
    const p = f.elementTypeParams || {};
    const fd = { name: f.fieldName, type: f.dataType, id: 100 + i, primary: !!f.isPrimary, partitionKey: !!f.isPartitionKey,
        description: f.description || '', params: {}, nullable: !!f.nullable };
    if (f.dataType === 'VarChar') {
        const ml = Number(p.max_length);
        if (!Number.isInteger(ml) || ml < 1 || ml > 65535)
            fail(1100, `invalid parameter, the maximum length specified for field(${f.fieldName}) should be in (0, 65535], but got ${p.max_length}`);
        fd.params.max_length = String(ml);
    }
    if (/Vector$/.test(f.dataType) && f.dataType !== 'SparseFloatVector') {
        const dim = Number(p.dim);
        if (!Number.isInteger(dim) || dim < 2 || dim > 32768) fail(1100, `invalid parameter, invalid dimension: ${p.dim}. should be in range 2 ~ 32768`);
        fd.params.dim = String(dim);
    }
    if (fd.primary && !['Int64', 'VarChar'].includes(fd.type)) fail(1100, 'invalid parameter, primary key type must be Int64 or VarChar');
    return fd;
}
function indexFrom(c, ip) {
    if (!ip || typeof ip !== 'object' || !ip.fieldName)
        fail(1802, "missing required parameters, error: Key: 'IndexParam.FieldName' Error:Field validation for 'FieldName' failed on the 'required' tag");
    const f = c.fields.find((x) => x.name === ip.fieldName);
    if (!f) fail(1100, `invalid parameter, field ${ip.fieldName} not found`);
    const params = ip.params || {};
    const type = ip.indexType || params.index_type || 'AUTOINDEX';
    if (!INDEX_TYPES.has(type)) fail(1100, `invalid parameter, invalid index type: ${type}`);
    const metric = ip.metricType || params.metric_type || 'COSINE';
    if (/Vector$/.test(f.type) && !METRICS.has(metric)) fail(1100, `invalid parameter, metric type ${metric} not found or not supported`);
    if (type === 'HNSW') {
        const m = Number(params.M ?? 30), efc = Number(params.efConstruction ?? 360);
        if (!Number.isInteger(m) || m < 2 || m > 2048) fail(1100, `invalid parameter, param 'M' (${params.M}) should be in range [2, 2048]`);
        if (!Number.isInteger(efc) || efc < 1) fail(1100, `invalid parameter, param 'efConstruction' (${params.efConstruction}) should be in range [1, 2147483647]`);
    }
    if (c.indexes.some((x) => x.fieldName === ip.fieldName))
        fail(65535, `CreateIndex failed: at most one distinct index is allowed per field`);
    return { fieldName: ip.fieldName, indexName: ip.indexName || ip.fieldName, metricType: metric, indexType: type,
        params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) };
}

function createCollection(req, body) {
    const name = requireName(body, 'CollectionReq');
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(name))
        fail(1100, `invalid parameter, the first character of a collection name must be an underscore or letter: invalid name ${name}`);
    const db = dbOf(req, body);
    const params = body.params || {};
    const cl = params.consistencyLevel ?? 'Bounded';
    if (!CONSISTENCY.includes(cl))
        fail(1100, `consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded, err:parameter:'${cl}' is incorrect`);
    let c;
    if (body.schema && Array.isArray(body.schema.fields) && body.schema.fields.length) {
        const fields = body.schema.fields.map(buildField);
        const pks = fields.filter((f) => f.primary);
        if (pks.length !== 1) fail(1100, 'invalid parameter, there should be exactly one primary key field');
        const names = new Set();
        for (const f of fields) { if (names.has(f.name)) fail(1100, `invalid parameter, duplicated field name ${f.name}`); names.add(f.name); }
        if (!fields.some((f) => /Vector$/.test(f.type))) fail(1100, 'invalid parameter, schema does not contain vector field');
        c = { name, fields, pk: pks[0].name, autoId: !!(body.schema.autoID ?? body.schema.autoId),
            dynamic: body.schema.enableDynamicField === true, description: body.description || '', consistencyLevel: cl,
            indexes: [], loaded: false, properties: {}, rows: new Map() };
    } else if (body.dimension !== undefined) {
        const dim = Number(body.dimension);
        if (!Number.isInteger(dim) || dim < 2) fail(1100, `invalid parameter, invalid dimension: ${body.dimension}`);
        const idType = body.idType || 'Int64';
        const pkName = body.primaryFieldName || 'id', vecName = body.vectorFieldName || 'vector';
        const fields = [buildField({ fieldName: pkName, dataType: idType, isPrimary: true, elementTypeParams: { max_length: body.params?.max_length || 65535 } }, 0),
            buildField({ fieldName: vecName, dataType: 'FloatVector', elementTypeParams: { dim } }, 1)];
        c = { name, fields, pk: pkName, autoId: body.autoID ?? idType === 'Int64', dynamic: true, description: body.description || '',
            consistencyLevel: cl, indexes: [], loaded: false, properties: {}, rows: new Map() };
        body.indexParams = body.indexParams || [{ fieldName: vecName, indexName: vecName, metricType: body.metricType || 'COSINE', params: { index_type: 'AUTOINDEX' } }];
    } else {
        fail(1802, "missing required parameters, error: Key: 'CollectionReq.Dimension' or 'Schema' must be given");
    }
    if (db.has(name)) {
        const old = db.get(name);
        if (JSON.stringify(old.fields) === JSON.stringify(c.fields)) return ok(req, {});
        fail(1100, `invalid parameter, create duplicate collection with different parameters, collection: ${name}`);
    }
    if (params.ttlSeconds !== undefined) c.properties['collection.ttl.seconds'] = String(params.ttlSeconds);
    c.shardsNum = Number(params.shardsNum ?? 1);
    c.id = nextCollectionId++;
    db.set(name, c);
    // indexParams: the handler creates each index and then loads (NOTES A4)
    const ips = Array.isArray(body.indexParams) ? body.indexParams : [];
    for (const ip of ips) c.indexes.push(indexFrom(c, ip));
    if (ips.length) c.loaded = true;
    saveState();
    return ok(req, {});
}

function describe(req, body, allowInt64) {
    const c = getColl(req, body);
    const fields = c.fields.map((f) => {
        const o = { autoId: f.primary && c.autoId, description: f.description, id: f.id, name: f.name,
            params: Object.entries(f.params).map(([key, value]) => ({ key, value })), partitionKey: f.partitionKey,
            primaryKey: f.primary, type: f.type };
        if (!V24) { o.nullable = f.nullable; o.clusteringKey = false; }
        return o;
    });
    const data = { aliases: [], autoId: c.autoId, collectionID: '__CID__', collectionName: c.name,
        consistencyLevel: c.consistencyLevel, description: c.description, enableDynamicField: c.dynamic, fields,
        indexes: c.indexes.map((i) => ({ fieldName: i.fieldName, indexName: i.indexName, metricType: i.metricType })),
        load: c.loaded ? 'LoadStateLoaded' : 'LoadStateNotLoad', partitionsNum: 1,
        properties: Object.entries(c.properties).map(([key, value]) => ({ key, value })), shardsNum: c.shardsNum };
    if (!V24) data.functions = [];
    // collectionID is a raw int64 beyond 2^53 (NOTES E5): spliced in as digits
    return { raw: JSON.stringify(ok(req, data, { message: '' }, true)).replace('"__CID__"', allowInt64 ? c.id.toString() : `"${c.id}"`) };
}

// ---------------------------------------------------------------- rows
function decodeRows(c, body, upsert) {
    if (!Array.isArray(body.data) || body.data.length === 0)
        fail(1802, "missing required parameters, error: Key: 'CollectionDataReq.Data' Error:Field validation for 'Data' failed on the 'required' tag");
    if (upsert && c.autoId) fail(1100, 'invalid parameter, upsert can not assign primary field data when auto id enabled');
    const bad = (m) => fail(1804, `fail to deal the insert data, error: ${m}`);
    const rows = [];
    for (const r of body.data) {
        if (typeof r !== 'object' || r === null || Array.isArray(r)) bad('row is not an object');
        const row = {};
        for (const f of c.fields) {
            if (f.primary && c.autoId) continue;
            const v = r[f.name];
            switch (f.type) {
            case 'VarChar':
                if (v === undefined) { row[f.name] = ''; break; } // missing VarChar silently "" (NOTES A4)
                if (typeof v !== 'string') bad(`field ${f.name}: expected a string`);
                if (Buffer.byteLength(v, 'utf8') > Number(f.params.max_length))
                    bad(`the length (${Buffer.byteLength(v, 'utf8')}) of varchar field (${f.name}) exceeds max length (${f.params.max_length})`);
                row[f.name] = v;
                break;
            case 'Int64': case 'Int32': case 'Int16': case 'Int8': {
                if (v === undefined) bad(`field ${f.name} is missing`);
                let n;
                if (typeof v === 'number') n = v;
                else if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) n = Number(v);
                else bad(`field ${f.name}: ${JSON.stringify(v)} is not an integer`);
                if (!Number.isInteger(n)) bad(`field ${f.name}: ${v} is not an integer`);
                row[f.name] = n;
                break;
            }
            case 'Float': case 'Double':
                if (typeof v !== 'number') bad(`field ${f.name}: expected a number`);
                row[f.name] = f.type === 'Float' ? Math.fround(v) : v;
                break;
            case 'Bool':
                if (typeof v !== 'boolean') bad(`field ${f.name}: expected a bool`);
                row[f.name] = v;
                break;
            case 'FloatVector': {
                const dim = Number(f.params.dim);
                if (!Array.isArray(v)) bad(`field ${f.name}: vector is not an array`);
                if (v.length !== dim) bad(`the dim (${v.length}) of field data(${f.name}) is not equal to schema dim (${dim})`);
                if (!v.every((x) => typeof x === 'number' && Number.isFinite(x))) bad(`field ${f.name}: vector elements must be numbers`);
                row[f.name] = v.map(Math.fround);
                break;
            }
            case 'JSON':
                row[f.name] = v;
                break;
            default:
                bad(`field type ${f.type} not supported by the test server`);
            }
        }
        for (const k of Object.keys(r)) {
            if (!c.fields.some((f) => f.name === k)) {
                if (!c.dynamic) bad(`field ${k} not in the schema and the dynamic field is disabled`);
                row[k] = r[k];
            }
        }
        if (c.autoId) row[c.pk] = Number(BigInt.asIntN(64, BigInt(Date.now()) * 1000000n + BigInt(c.rows.size + rows.length)));
        rows.push(row);
    }
    return rows;
}
function idsOut(c, ids, allowInt64) {
    const pkType = c.fields.find((f) => f.name === c.pk).type;
    return ids.map((v) => (pkType === 'Int64' && !allowInt64 ? String(v) : v));
}
function insert(req, body, allowInt64, upsert) {
    const c = getColl(req, body, 'CollectionDataReq');
    const rows = decodeRows(c, body, upsert);
    if (!upsert) for (const r of rows) if (c.rows.has(r[c.pk]) && !c.autoId) { /* Milvus keeps duplicates; we keep one */ }
    for (const r of rows) c.rows.set(r[c.pk], r);
    saveState();
    const ids = idsOut(c, rows.map((r) => r[c.pk]), allowInt64);
    const data = upsert ? { upsertCount: rows.length, upsertIds: ids } : { insertCount: rows.length, insertIds: ids };
    return ok(req, data, V24 ? {} : { cost: 0 }, true);
}

function outputList(c, requested, includeVectorDefault) {
    let out = requested;
    if (out === undefined || out === null) out = includeVectorDefault ? ['*'] : [];
    if (!Array.isArray(out)) fail(1801, 'can only accept json format request, error: outputFields must be an array');
    const names = [];
    for (const f of out) {
        if (f === '*') { for (const x of c.fields) if (!names.includes(x.name)) names.push(x.name); continue; }
        if (!c.fields.some((x) => x.name === f)) fail(1100, `invalid parameter, field ${f} not exist`);
        if (!names.includes(f)) names.push(f);
    }
    return names;
}

function distance(metric, a, b) {
    let dot = 0, na = 0, nb = 0, l2 = 0;
    for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; l2 += (a[i] - b[i]) ** 2; }
    if (metric === 'IP') return Math.fround(dot);
    if (metric === 'L2') return Math.fround(l2);
    return Math.fround(na && nb ? dot / Math.sqrt(na * nb) : 0);
}

function search(req, body, allowInt64) {
    const c = getColl(req, body, 'SearchReqV2');
    if (!Array.isArray(body.data) || body.data.length === 0)
        fail(1802, "missing required parameters, error: Key: 'SearchReqV2.Data' Error:Field validation for 'Data' failed on the 'required' tag");
    const vecFields = c.fields.filter((f) => f.type === 'FloatVector');
    let annsField = body.annsField;
    if (!annsField) {
        if (V24 || vecFields.length !== 1) fail(1802, "missing required parameters, error: Key: 'SearchReqV2.AnnsField' Error:Field validation for 'AnnsField' failed on the 'required' tag");
        annsField = vecFields[0].name;
    }
    const vf = vecFields.find((f) => f.name === annsField);
    if (!vf) fail(1100, `invalid parameter, annsField ${annsField} is not a float vector field`);
    const dim = Number(vf.params.dim);
    for (const q of body.data)
        if (!Array.isArray(q) || q.length !== dim || !q.every((x) => typeof x === 'number'))
            fail(1801, `can only accept json format request, error: dimension: ${dim}, but length of []float: ${Array.isArray(q) ? q.length : 0}`);
    if (body.consistencyLevel !== undefined && !CONSISTENCY.includes(body.consistencyLevel))
        fail(1100, `consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded, err:parameter:'${body.consistencyLevel}' is incorrect`);
    const limit = body.limit ?? 100, offset = body.offset ?? 0;
    if (!isInt(limit) || limit < 1 || !isInt(offset) || offset < 0 || limit + offset > 16384)
        fail(1100, `invalid parameter, limit+offset should be in range [1, 16384], but got ${limit}+${offset}`);
    requireLoaded(c);
    const idx = c.indexes.find((i) => i.fieldName === annsField);
    if (!idx) fail(700, `index not found[collection=${c.name}]`);
    const sp = body.searchParams || {};
    const params = { ...(sp.params || {}) };
    if (!V24 && VERSION !== '2.5' && VERSION !== '2.5.0' && VERSION !== '2.5.1') {
        for (const [k, v] of Object.entries(sp)) {
            if (k === 'params' || k === 'metricType') continue;
            if (k in params && params[k] !== v) fail(1100, `ambiguous parameter: ${k}`);
            params[k] = v;
        }
    }
    if (params.ef !== undefined && (!isInt(Number(params.ef)) || Number(params.ef) < 1)) fail(1100, `invalid parameter, ef ${params.ef} out of range`);
    const ast = parseF(c, body.filter, body.exprParams);
    const outs = outputList(c, body.outputFields, false).filter((f) => f !== c.pk);
    const metric = idx.metricType; // the index's metric is used (NOTES A4)
    const higher = metric !== 'L2';
    const result = [];
    const topks = [];
    for (const q of body.data) {
        let hits = [];
        for (const row of c.rows.values()) {
            if (!evalFilter(ast, row)) continue;
            const d = distance(metric, q, row[annsField]);
            if (params.radius !== undefined) {
                const rad = Number(params.radius), rf = params.range_filter !== undefined ? Number(params.range_filter) : undefined;
                if (higher ? !(d > rad && (rf === undefined || d <= rf)) : !(d < rad && (rf === undefined || d >= rf))) continue;
            }
            hits.push({ row, d });
        }
        hits.sort((a, b) => (higher ? b.d - a.d : a.d - b.d));
        hits = hits.slice(offset, offset + limit);
        topks.push(hits.length);
        for (const h of hits) {
            const o = renderRow(c, h.row, outs, allowInt64);
            const pkType = c.fields.find((f) => f.name === c.pk).type;
            o.id = pkType === 'Int64' && !allowInt64 ? String(h.row[c.pk]) : h.row[c.pk];
            o.distance = h.d;
            result.push(o);
        }
    }
    const extra = V24 ? {} : { cost: 0 };
    if (V26) extra.topks = topks;
    return ok(req, result, extra, true);
}

function queryRows(req, body, allowInt64, structName) {
    const c = getColl(req, body, structName);
    requireLoaded(c);
    const limit = body.limit ?? 100, offset = body.offset ?? 0;
    if (!isInt(limit) || limit < 1 || limit + offset > 16384) fail(1100, `invalid parameter, limit ${limit} out of range`);
    const countOnly = Array.isArray(body.outputFields) && body.outputFields.length === 1 && body.outputFields[0] === 'count(*)';
    const ast = parseF(c, body.filter, body.exprParams);
    if (countOnly) {
        let n = 0;
        for (const row of c.rows.values()) if (evalFilter(ast, row)) n++;
        return ok(req, [{ 'count(*)': n }], V24 ? {} : { cost: 0 }, true);
    }
    const outs = outputList(c, body.outputFields, true);
    if (!outs.includes(c.pk)) outs.push(c.pk); // the PK is always returned
    const res = [];
    let skipped = 0;
    for (const row of c.rows.values()) {
        if (!evalFilter(ast, row)) continue;
        if (skipped++ < offset) continue;
        res.push(renderRow(c, row, outs, allowInt64));
        if (res.length >= limit) break;
    }
    return ok(req, res, V24 ? {} : { cost: 0 }, true);
}
function query(req, body, allowInt64) {
    if (!V24 && (body.filter === undefined || body.filter === '') && body.limit === undefined && !(Array.isArray(body.outputFields) && body.outputFields[0] === 'count(*)'))
        fail(1100, 'invalid parameter, empty expression should be used with limit');
    return queryRows(req, body, allowInt64, 'QueryReqV2');
}
function pkLiteral(c, ids) {
    const pkType = c.fields.find((f) => f.name === c.pk).type;
    const list = Array.isArray(ids) ? ids : [ids];
    for (const v of list) {
        if (pkType === 'VarChar' && typeof v !== 'string') fail(1806, 'primary key check failed: expected strings');
        if (pkType === 'Int64' && !(isInt(v) || (typeof v === 'string' && /^-?[0-9]+$/.test(v)))) fail(1806, 'primary key check failed: expected integers');
    }
    return list.map((v) => (pkType === 'Int64' ? Number(v) : v));
}
function get(req, body, allowInt64) {
    const c = getColl(req, body, 'QueryReqV2');
    if (body.id === undefined) fail(1802, "missing required parameters, error: Key: 'CollectionIDReq.ID' Error:Field validation for 'ID' failed on the 'required' tag");
    requireLoaded(c);
    const ids = pkLiteral(c, body.id);
    const outs = outputList(c, body.outputFields, true);
    if (!outs.includes(c.pk)) outs.push(c.pk);
    const res = ids.filter((id) => c.rows.has(id)).map((id) => renderRow(c, c.rows.get(id), outs, allowInt64));
    return ok(req, res, V24 ? {} : { cost: 0 }, true);
}
function del(req, body) {
    const c = getColl(req, body, 'CollectionFilterReq');
    let victims = [];
    if (body.filter !== undefined && body.filter !== '') {
        const ast = parseF(c, body.filter, body.exprParams);
        for (const [k, row] of c.rows) if (evalFilter(ast, row)) victims.push(k);
    } else if (V24 && body.id !== undefined) {
        victims = pkLiteral(c, body.id).filter((id) => c.rows.has(id));
    } else {
        fail(1802, "missing required parameters, error: Key: 'CollectionFilterReq.Filter' Error:Field validation for 'Filter' failed on the 'required' tag");
    }
    for (const k of victims) c.rows.delete(k);
    saveState();
    if (V24) return ok(req, {});
    return ok(req, { deleteCount: victims.length }, { cost: 0 });
}

// ---------------------------------------------------------------- routes
const routes = {
    'collections/has': (req, b) => { const n = requireName(b); return ok(req, { has: dbOf(req, b).has(n) }); },
    'collections/list': (req, b) => ok(req, [...dbOf(req, b).keys()]),
    'collections/create': createCollection,
    'collections/describe': describe,
    'collections/drop': (req, b) => { const c = getColl(req, b); dbOf(req, b).delete(c.name); saveState(); return ok(req, {}); },
    'collections/load': (req, b) => {
        const c = getColl(req, b);
        if (!c.indexes.some((i) => c.fields.find((f) => f.name === i.fieldName && /Vector$/.test(f.type))))
            fail(700, `index not found[collection=${c.name}]`);
        c.loaded = true; saveState(); return ok(req, {});
    },
    'collections/release': (req, b) => { const c = getColl(req, b); c.loaded = false; saveState(); return ok(req, {}); },
    'collections/get_load_state': (req, b) => {
        const c = getColl(req, b);
        return ok(req, c.loaded ? { loadProgress: 100, loadState: 'LoadStateLoaded' } : { loadState: 'LoadStateNotLoad' });
    },
    'collections/get_stats': (req, b) => ok(req, { rowCount: getColl(req, b).rows.size }),
    'indexes/create': (req, b) => {
        const c = getColl(req, b, 'IndexParamReq');
        if (!Array.isArray(b.indexParams) || !b.indexParams.length)
            fail(1802, "missing required parameters, error: Key: 'IndexParamReq.IndexParams' Error:Field validation for 'IndexParams' failed on the 'required' tag");
        for (const ip of b.indexParams) c.indexes.push(indexFrom(c, ip));
        saveState();
        return ok(req, {});
    },
    'indexes/list': (req, b) => ok(req, getColl(req, b).indexes.map((i) => i.indexName)),
    'indexes/describe': (req, b) => {
        const c = getColl(req, b, 'IndexReq');
        if (!b.indexName) fail(1802, "missing required parameters, error: Key: 'IndexReq.IndexName' Error:Field validation for 'IndexName' failed on the 'required' tag");
        const i = c.indexes.find((x) => x.indexName === b.indexName);
        if (!i) fail(700, `index not found[indexName=${b.indexName}]`);
        return ok(req, [{ failReason: '', fieldName: i.fieldName, indexName: i.indexName, indexState: 'Finished', indexType: i.indexType,
            indexedRows: c.rows.size, metricType: i.metricType, pendingRows: 0, totalRows: c.rows.size }]);
    },
    'indexes/drop': (req, b) => {
        const c = getColl(req, b, 'IndexReq');
        if (c.loaded) fail(65535, 'index cannot be dropped, collection is loaded, please release it first');
        c.indexes = c.indexes.filter((x) => x.indexName !== b.indexName); saveState(); return ok(req, {});
    },
    'entities/insert': (req, b, i64) => insert(req, b, i64, false),
    'entities/upsert': (req, b, i64) => insert(req, b, i64, true),
    'entities/search': search,
    'entities/query': query,
    'entities/get': get,
    'entities/delete': del,
};
if (!V24) {
    routes['collections/alter_properties'] = (req, b) => {
        const c = getColl(req, b);
        if (!b.properties || typeof b.properties !== 'object') fail(1802, "missing required parameters, error: Key: 'CollectionPropertiesReq.Properties'");
        for (const [k, v] of Object.entries(b.properties)) c.properties[k] = String(v);
        saveState();
        return ok(req, {});
    };
    routes['collections/drop_properties'] = (req, b) => {
        const c = getColl(req, b);
        for (const k of b.propertyKeys || []) delete c.properties[k];
        saveState();
        return ok(req, {});
    };
    routes['databases/list'] = (req) => ok(req, [...dbs.keys()]);
    routes['databases/create'] = (req, b) => {
        if (!b.dbName) fail(1802, "missing required parameters, error: Key: 'DatabaseReq.DbName'");
        if (dbs.has(b.dbName)) fail(65535, `database already exist: ${b.dbName}`);
        dbs.set(b.dbName, new Map()); saveState(); return ok(req, {});
    };
}
if (V26) routes['collections/flush'] = (req, b) => { getColl(req, b); return ok(req, {}); };

// ---------------------------------------------------------------- http
function authorized(req) {
    if (!AUTH && !APIKEY) return true;
    const h = req.headers.authorization || '';
    let user = null, token = null;
    if (/^Basic /i.test(h)) user = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    else if (/^Bearer /i.test(h)) token = h.slice(7).trim();
    if (token !== null && token.includes(':')) user = token;
    if (user !== null) return AUTH !== null && user === AUTH;
    return token !== null && APIKEY !== null && token === APIKEY;
}

function send(res, status, body, type = 'application/json; charset=utf-8') {
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
}

function takeFault(route) {
    for (const f of faults) {
        if (f.match && !route.includes(f.match)) continue;
        if (f.count === 0) continue;
        if (f.count > 0) f.count--;
        return f;
    }
    return null;
}

function handleTest(req, res, raw) {
    const path = req.url.replace(/^\/_test\//, '');
    if (path === 'faults') {
        const f = JSON.parse(raw || '{}');
        f.count = f.count ?? -1;
        faults.push(f);
        return send(res, 200, JSON.stringify({ ok: true, faults }));
    }
    if (path === 'clear') { faults = []; return send(res, 200, '{"ok":true}'); }
    if (path === 'stats') {
        const cols = {};
        for (const [db, m] of dbs) for (const [n, c] of m) cols[db === 'default' ? n : `${db}.${n}`] = c.rows.size;
        return send(res, 200, JSON.stringify({ requests: requestCounts, collections: cols, faults, connections: v2Connections }));
    }
    send(res, 404, '404 page not found', 'text/plain');
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (req.url.startsWith('/_test/')) return handleTest(req, res, raw);
        if (!v2Sockets.has(req.socket)) { v2Sockets.add(req.socket); v2Connections++; }
        const m = /^\/v2\/vectordb\/([a-z_]+\/[a-z_]+)$/.exec(req.url.split('?')[0]);
        const route = m && m[1];
        if (req.method !== 'POST' || !route || !routes[route]) return send(res, 404, '404 page not found', 'text/plain');
        requestCounts[route] = (requestCounts[route] || 0) + 1;
        const fault = takeFault(route);
        const timeoutHdr = req.headers['request-timeout'];
        const timeoutMs = timeoutHdr && /^[0-9]+$/.test(timeoutHdr) ? Number(timeoutHdr) * 1000 : 30000;
        const run = () => {
            if (fault && fault.mode === 'reset') { req.socket.destroy(); return; }
            if (fault && fault.mode === 'status') return send(res, fault.status || 500, JSON.stringify({ code: fault.status || 500, message: 'injected failure' }));
            if (fault && fault.mode === 'garbage') return send(res, 200, fault.body ?? '<html>\x00\x01 not json {{{');
            if (fault && fault.mode === 'code') return send(res, 200, JSON.stringify({ code: fault.code, message: 'injected error code' }));
            if (!authorized(req)) return send(res, 401, JSON.stringify({ code: 1800, message: "user hasn't authenticated" }));
            let body;
            if (raw.length === 0) return send(res, 200, JSON.stringify({ code: 1801, message: 'can only accept json format request, the request body should be nil, however {} is valid' }));
            try { body = JSON.parse(raw); } catch (e) {
                return send(res, 200, JSON.stringify({ code: 1801, message: `can only accept json format request, error: ${e.message}` }));
            }
            if (typeof body !== 'object' || body === null || Array.isArray(body))
                return send(res, 200, JSON.stringify({ code: 1801, message: 'can only accept json format request, error: body is not an object' }));
            const v = req.headers['accept-type-allow-int64'];
            const allowInt64 = v === 'true' ? true : v === 'false' ? false : INT64_DEFAULT;
            let out;
            try { out = routes[route](req, body, allowInt64); } catch (e) {
                if (e instanceof ApiError) return send(res, 200, JSON.stringify({ code: e.code, message: e.message }));
                return send(res, 500, JSON.stringify({ code: 500, message: String(e && e.stack || e) }));
            }
            let text = out.raw ?? JSON.stringify(out);
            if (fault && fault.mode === 'truncate') text = text.slice(0, Math.max(1, text.length >> 1));
            send(res, 200, text);
        };
        const delay = fault && fault.delay_ms ? fault.delay_ms : 0;
        if (delay >= timeoutMs) {
            setTimeout(() => send(res, 408, JSON.stringify({ code: 10001, message: 'request timeout' })), timeoutMs);
        } else if (delay > 0) {
            setTimeout(run, delay);
        } else {
            run();
        }
    });
});
server.keepAliveTimeout = 60000;
const port = Number(opt('port', '0'));
server.listen(port, opt('host', '127.0.0.1'), () => {
    const a = server.address();
    if (opt('portfile', null)) fs.writeFileSync(opt('portfile'), String(a.port));
    console.log(`milvus-test listening on ${a.address}:${a.port} (version ${VERSION})`);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { server.close(); process.exit(0); });
