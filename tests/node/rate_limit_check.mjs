// The official `openai` npm client against the router's per-tenant limits and against an
// upstream 429 passed through. Usage: node rate_limit_check.mjs BASE_URL MODEL KEY_STRICT KEY_RETRY
//   KEY_STRICT: a tenant whose bucket is empty: the client sees a RateLimitError (429) with the
//               OpenAI error object and the Retry-After headers.
//   KEY_RETRY:  a tenant refilled at 4/s with burst 1: the client's own retries (it honours
//               retry-after-ms) get through.
// Prints PASS/FAIL lines.
import OpenAI from "openai";

const [baseURL, model, keyStrict, keyRetry] = process.argv.slice(2);
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const messages = [{ role: "user", content: "Rate me “politely” 🙂" }];

await check("openai_client_sees_rate_limit_error", async () => {
  const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: keyStrict, maxRetries: 0, timeout: 10000 });
  let err = null;
  try {
    await client.chat.completions.create({ model, messages });
  } catch (e) {
    err = e;
  }
  assert(err instanceof OpenAI.RateLimitError, `expected RateLimitError, got ${err && err.constructor.name}`);
  assert(err.status === 429, `status ${err.status}`);
  assert(err.code === "rate_limit_exceeded" && err.type === "rate_limit_error", `code ${err.code} type ${err.type}`);
  assert(/Rate limit reached for tenant 'strict'/.test(err.message), `message ${err.message}`);
  const ra = Number(err.headers.get("retry-after")), ms = Number(err.headers.get("retry-after-ms"));
  assert(Number.isInteger(ra) && ra >= 1 && ms >= 1 && ms <= ra * 1000, `retry-after ${ra} / ${ms} ms`);
});

await check("openai_client_retry_gets_through", async () => {
  const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: keyRetry, maxRetries: 4, timeout: 10000 });
  const first = await client.chat.completions.create({ model, messages });
  assert(first.object === "chat.completion", "first");
  // the bucket is empty now: this one is refused at least once, then admitted on a retry
  const { data, response } = await client.chat.completions.create({ model, messages: [{ role: "user", content: "again" }] }).withResponse();
  assert(data.object === "chat.completion" && response.status === 200, `second: ${response.status}`);
});

process.exit(failed ? 1 : 0);
