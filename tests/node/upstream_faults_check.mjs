// The official `openai` npm client against upstream faults behind the router.
// Usage: node upstream_faults_check.mjs BASE_URL MODE
//   429: the model server answers 429 (no Retry-After) to everything; the client (maxRetries 2)
//        sees a RateLimitError after its own three attempts (the router retries nothing itself).
//   cut: the model server cuts the stream after 3 chunks; the client's stream iteration throws
//        an APIError naming the interruption after the content that did arrive.
// Prints PASS/FAIL lines.
import OpenAI from "openai";

const [baseURL, mode] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: "sk-none", maxRetries: 2, timeout: 20000 });
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

if (mode === "429") {
  await check("openai_client_upstream_429_is_rate_limit_error", async () => {
    let err = null;
    try {
      await client.chat.completions.create({ model: "limited1", messages: [{ role: "user", content: "Too many “requests” 🐝" }] });
    } catch (e) {
      err = e;
    }
    assert(err instanceof OpenAI.RateLimitError, `expected RateLimitError, got ${err && err.constructor.name}: ${err && err.message}`);
    assert(err.status === 429 && err.code === "injected_fault", `status ${err.status} code ${err.code}`);
  });
}

if (mode === "cut") {
  await check("openai_client_cut_stream_throws_after_content", async () => {
    const stream = await client.chat.completions.create({
      model: "cut", stream: true, messages: [{ role: "user", content: "Cut me off, “politely” ✂️" }],
    });
    let text = "", err = null;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content || "";
    } catch (e) {
      err = e;
    }
    assert(text.length > 0, "no content before the cut");
    assert(err instanceof OpenAI.APIError, `expected APIError, got ${err && err.constructor.name}`);
    assert(/stream was interrupted/.test(err.message), `message ${err.message}`);
  });
}

process.exit(failed ? 1 : 0);
