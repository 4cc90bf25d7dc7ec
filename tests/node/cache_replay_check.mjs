// cache_replay_check.mjs SSE_FILE EXPECTED_JSON_FILE
// Serves a replayed cache hit (SSE_FILE) to the official `openai` npm client and
// checks that the client's own stream accumulator rebuilds the stored completion:
// content, tool calls, finish_reason per choice, usage. Prints "ok" or the differences.
import http from 'node:http';
import fs from 'node:fs';
import OpenAI from 'openai';

const sse = fs.readFileSync(process.argv[2]);
const want = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(sse);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const client = new OpenAI({ baseURL: `http://127.0.0.1:${server.address().port}/v1`, apiKey: 'x', maxRetries: 0 });
const problems = [];
try {
  const stream = client.chat.completions.stream({
    model: want.model, messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true },
  });
  const got = await stream.finalChatCompletion();
  if (got.id !== want.id) problems.push(`id ${got.id} != ${want.id}`);
  if (got.model !== want.model) problems.push(`model ${got.model} != ${want.model}`);
  if (got.created !== want.created) problems.push(`created ${got.created} != ${want.created}`);
  if (got.choices.length !== want.choices.length) problems.push(`choices ${got.choices.length} != ${want.choices.length}`);
  want.choices.forEach((w, i) => {
    const g = got.choices[i] || { message: {} };
    if ((g.message.content ?? null) !== (w.message.content ?? null))
      problems.push(`choice ${i} content ${JSON.stringify(g.message.content)} != ${JSON.stringify(w.message.content)}`);
    if (g.finish_reason !== w.finish_reason) problems.push(`choice ${i} finish_reason ${g.finish_reason} != ${w.finish_reason}`);
    const wt = (w.message.tool_calls || []).map((t) => [t.id, t.function.name, t.function.arguments]);
    const gt = (g.message.tool_calls || []).map((t) => [t.id, t.function.name, t.function.arguments]);
    if (JSON.stringify(wt) !== JSON.stringify(gt)) problems.push(`choice ${i} tool_calls ${JSON.stringify(gt)} != ${JSON.stringify(wt)}`);
  });
  if (JSON.stringify(got.usage ?? null) !== JSON.stringify(want.usage ?? null))
    problems.push(`usage ${JSON.stringify(got.usage)} != ${JSON.stringify(want.usage)}`);
} catch (e) {
  problems.push(`client error: ${e.message}`);
}
server.close();
console.log(problems.length ? problems.join('; ') : 'ok');
