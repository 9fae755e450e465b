// LLM clients: Ollama's native API and OpenAI-compatible servers (OpenAI, vLLM, llama.cpp,
// LM Studio, ...), both over resilient_http, plus the prompt-template helpers the planner,
// the LLM tools and the synthesizer share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/outcome.hpp"
#include "providers/resilience.hpp"

namespace eventide::providers {

struct chat_message {
  std::string role; // "system" | "user" | "assistant"
  std::string content;
};

struct chat_request {
  std::vector<chat_message> messages;
  bool json_output = false; // ask the server for a JSON object reply
  double temperature = 0;
};

struct llm_reply {
  std::string text;
  std::string provider; // "ollama" | "openai"
  std::string model;    // as configured
  int prompt_tokens = -1;     // -1: the server did not report it
  int completion_tokens = -1;
  int64_t ms = 0; // wall time of the call, retries included
};

class llm_client {
 public:
  virtual ~llm_client() = default;
  /// One chat completion. `deadline_ms` is on the resilient_http clock (0 = none). Failures
  /// name the provider and model: "ollama (llama3.1:8b): HTTP 404 from ...".
  virtual outcome<llm_reply> chat(const chat_request& request, int64_t deadline_ms = 0) = 0;
  /// The embedding vector of `text` with the configured embedding model.
  virtual outcome<std::vector<float>> embed(const std::string& text, int64_t deadline_ms = 0) = 0;
  /// "ollama" | "openai".
  virtual std::string name() const = 0;
  virtual std::string model() const = 0;
  virtual std::string embedding_model() const = 0;
};

struct llm_endpoint {
  std::string url;             // base URL: "http://127.0.0.1:11434", "https://api.openai.com"
  std::string model;
  std::string embedding_model;
  std::string api_key;         // OpenAI-compatible only; no Authorization header when empty
  long connect_timeout_ms = 2000;
  long timeout_ms = 30000;
};

/// POST {url}/api/chat {"model","messages","stream":false,"format":"json"?,"options":{"temperature"}}
/// -> message.content, prompt_eval_count, eval_count;
/// POST {url}/api/embeddings {"model","prompt"} -> embedding. Circuit keys "ollama/<model>".
std::unique_ptr<llm_client> make_ollama_client(llm_endpoint endpoint,
                                               std::shared_ptr<resilient_http> http);

/// POST {url}/v1/chat/completions {"model","messages","temperature","response_format"?}
/// -> choices[0].message.content, usage.prompt_tokens/completion_tokens;
/// POST {url}/v1/embeddings {"model","input"} -> data[0].embedding. A base URL that already
/// ends in "/v1" is accepted too. Circuit keys "openai/<model>".
std::unique_ptr<llm_client> make_openai_client(llm_endpoint endpoint,
                                               std::shared_ptr<resilient_http> http);

// --- prompts ------------------------------------------------------------------------------

/// Reads prompts/<file> (e.g. "router.md") from `dir` (default: resource_root()/prompts) and
/// strips its leading documentation comment (<!-- ... -->) and the blank lines after it.
outcome<std::string> load_prompt(const std::string& file, const std::string& dir = "");

/// Replaces each {{name}} whose name is in `vars` by its value, in one pass: every other
/// {{...}} (plan placeholders) and text inside the inserted values stay as they are.
std::string render_prompt(const std::string& templ,
                          const std::vector<std::pair<std::string, std::string>>& vars);

/// The first complete JSON object in a model's reply that parses, tolerating ```json fences
/// and prose around it. Fails when there is none.
outcome<std::string> extract_json_object(const std::string& reply);

/// "ollama (llama3.1:8b)": how failures and logs name a client.
std::string describe(const llm_client& client);

} // namespace eventide::providers
