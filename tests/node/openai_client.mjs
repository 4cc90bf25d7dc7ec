// End-to-end checks with the official `openai` npm client (v6) against a running router.
// Usage: node openai_client.mjs BASE_URL MODEL
// Prints PASS/FAIL lines like the C tests.
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: "sk-test", maxRetries: 0, timeout: 10000 });
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

await check("openai_models_list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert(ids.includes("MoM") && ids.includes(model), `models: ${ids.join(",")}`);
});

await check("openai_nonstream", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "What is 2+2?" }],
  });
  assert(r.object === "chat.completion", `object ${r.object}`);
  assert(r.choices[0].message.content.startsWith(`[${model}]`), `content ${r.choices[0].message.content}`);
  assert(r.usage && r.usage.completion_tokens > 0, "usage missing");
});

await check("openai_with_raw_response_headers", async () => {
  const { response } = await client.chat.completions
    .create({ model, messages: [{ role: "user", content: "headers?" }] })
    .withResponse();
  assert(response.headers.get("x-vsr-selected-model") === model, "x-vsr-selected-model");
  assert(response.headers.get("x-request-id"), "x-request-id");
});

await check("openai_stream", async () => {
  const stream = await client.chat.completions.create({
    model, stream: true, stream_options: { include_usage: true },
    messages: [{ role: "user", content: "Tell me a story" }],
  });
  let text = "", finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta && c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert(chunks > 3, `chunks ${chunks}`);
  assert(text.startsWith(`[${model}]`), `text ${text}`);
  assert(finish === "stop", `finish ${finish}`);
  assert(usage && usage.completion_tokens > 0, "usage chunk missing");
});

await check("openai_stream_helper_final_message", async () => {
  const runner = client.chat.completions.stream({
    model, messages: [{ role: "user", content: "Final message please" }],
  });
  const final = await runner.finalChatCompletion();
  assert(final.choices[0].message.content.startsWith(`[${model}]`), "final content");
});

await check("openai_error_unknown_model", async () => {
  try {
    await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    throw new Error("no error raised");
  } catch (e) {
    assert(e instanceof OpenAI.NotFoundError, `error class ${e && e.constructor && e.constructor.name}`);
    assert(e.code === "model_not_found", `code ${e.code}`);
  }
});

await check("openai_error_bad_request", async () => {
  try {
    await client.chat.completions.create({ model, messages: "not an array" });
    throw new Error("no error raised");
  } catch (e) {
    assert(e instanceof OpenAI.BadRequestError, `error class ${e && e.constructor && e.constructor.name}`);
    assert(e.param === "messages", `param ${e.param}`);
  }
});

process.exit(failed ? 1 : 0);
